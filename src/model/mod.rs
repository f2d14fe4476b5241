//! The metric model every sink consumes: named series with labels and a
//! value, grouped by report day.
//!
//! The collector produces it, the sinks read it; nothing here does I/O.

pub mod scope;
pub mod snapshot;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use chrono::NaiveDate;

use crate::model::scope::Scope;

/// Label pairs of one series, sorted by label name, no duplicate names.
pub type Labels = Vec<(String, String)>;

/// Identity of one series: metric name plus its sorted labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// Metric name, valid per `[a-zA-Z_][a-zA-Z0-9_]*`.
    pub name: String,
    /// Labels sorted by name, none with an empty value; the scope label
    /// (`org` / `enterprise`) included.
    pub labels: Labels,
}

impl SeriesKey {
    /// Builds a key, sorting the labels by name. A label with an empty value
    /// is dropped: Prometheus treats it as absent, so keeping it would make
    /// two keys for one series.
    pub fn new(name: impl Into<String>, mut labels: Labels) -> Self {
        labels.retain(|(_, v)| !v.is_empty());
        labels.sort();
        SeriesKey {
            name: name.into(),
            labels,
        }
    }

    /// The value of one label, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A set of series with one value each, ordered by name then labels, plus the
/// help text of each metric name.
///
/// Inserting a series that is already present keeps the first value and
/// counts a duplicate: report rows are processed in file order, so the
/// outcome is deterministic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SampleSet {
    series: BTreeMap<SeriesKey, f64>,
    help: BTreeMap<String, String>,
    duplicates: u64,
}

impl SampleSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a series. Returns `false` (and counts a duplicate) when the same
    /// name and labels are already present; the first value wins.
    pub fn insert(&mut self, key: SeriesKey, value: f64, help: &str) -> bool {
        if self.series.contains_key(&key) {
            self.duplicates += 1;
            return false;
        }
        if !self.help.contains_key(&key.name) {
            self.help.insert(key.name.clone(), help.to_string());
        }
        self.series.insert(key, value);
        true
    }

    /// Adds a series or replaces its value (for values the exporter computes
    /// itself, never for report data).
    pub fn set(&mut self, key: SeriesKey, value: f64, help: &str) {
        if !self.help.contains_key(&key.name) {
            self.help.insert(key.name.clone(), help.to_string());
        }
        self.series.insert(key, value);
    }

    /// Series in order (name, then labels).
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, f64)> {
        self.series.iter().map(|(k, v)| (k, *v))
    }

    /// The value of one series.
    pub fn get(&self, key: &SeriesKey) -> Option<f64> {
        self.series.get(key).copied()
    }

    /// The value of the series with this name and exactly these labels
    /// (in any order).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels = labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        self.get(&SeriesKey::new(name, labels))
    }

    /// Help text of a metric name.
    pub fn help(&self, name: &str) -> Option<&str> {
        self.help.get(name).map(String::as_str)
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when the set holds no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// How many inserts were refused as duplicates.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Distinct metric names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.help.keys().map(String::as_str)
    }

    /// Keeps only the series whose metric name `keep` accepts (asked once
    /// per name); the help texts of names dropped go too. Returns how many
    /// series were dropped.
    pub fn retain_names(&mut self, mut keep: impl FnMut(&str) -> bool) -> usize {
        let dropped: std::collections::HashSet<String> =
            self.help.keys().filter(|n| !keep(n)).cloned().collect();
        if dropped.is_empty() {
            return 0;
        }
        let before = self.series.len();
        self.series.retain(|k, _| !dropped.contains(&k.name));
        self.help.retain(|n, _| !dropped.contains(n));
        before - self.series.len()
    }

    /// Moves every series of `other` into `self` (first value wins on
    /// duplicates, which are counted).
    pub fn absorb(&mut self, other: SampleSet) {
        self.duplicates += other.duplicates;
        for (name, help) in other.help {
            self.help.entry(name).or_insert(help);
        }
        for (key, value) in other.series {
            match self.series.entry(key) {
                std::collections::btree_map::Entry::Occupied(_) => self.duplicates += 1,
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
            }
        }
    }
}

/// Everything collected for one scope in one refresh.
#[derive(Clone, Debug)]
pub struct ScopeData {
    /// The organization or enterprise.
    pub scope: Scope,
    /// Day-level series by report day (oldest first). Each day also carries
    /// `copilot_report_day_timestamp_seconds`.
    pub days: BTreeMap<NaiveDate, SampleSet>,
    /// Current values that belong to no report day (seats, billing).
    pub current: SampleSet,
    /// Malformed report lines skipped while building this data.
    pub invalid_lines: u64,
    /// When the collection finished.
    pub collected_at: SystemTime,
    /// How long the collection took.
    pub duration: Duration,
}

impl ScopeData {
    /// An empty collection result for `scope`.
    pub fn new(scope: Scope) -> Self {
        ScopeData {
            scope,
            days: BTreeMap::new(),
            current: SampleSet::new(),
            invalid_lines: 0,
            collected_at: SystemTime::now(),
            duration: Duration::ZERO,
        }
    }

    /// The newest report day and its series: what `/metrics`, the
    /// Pushgateway and remote-write `now` mode publish.
    pub fn newest_day(&self) -> Option<(NaiveDate, &SampleSet)> {
        self.days.iter().next_back().map(|(d, s)| (*d, s))
    }

    /// Series per metric name of what `/metrics` and the Pushgateway
    /// publish (the newest report day and the current values), in name
    /// order: the cost of each metric family in active series.
    pub fn series_per_metric(&self) -> Vec<(String, u64)> {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let sets = self.newest_day().map(|(_, s)| s).into_iter();
        for set in sets.chain(std::iter::once(&self.current)) {
            // Series come in name order: count runs, then add them up.
            let mut run: Option<(&str, u64)> = None;
            for (key, _) in set.iter() {
                match &mut run {
                    Some((name, n)) if *name == key.name => *n += 1,
                    _ => {
                        if let Some((name, n)) = run.take() {
                            *counts.entry(name).or_default() += n;
                        }
                        run = Some((&key.name, 1));
                    }
                }
            }
            if let Some((name, n)) = run {
                *counts.entry(name).or_default() += n;
            }
        }
        counts
            .into_iter()
            .map(|(name, n)| (name.to_string(), n))
            .collect()
    }

    /// Duplicate series refused over all days and the current values.
    pub fn duplicates(&self) -> u64 {
        self.days.values().map(SampleSet::duplicates).sum::<u64>() + self.current.duplicates()
    }
}

/// Unix seconds of 00:00 UTC on `day`.
pub fn day_start_unix(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(
            name,
            labels
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn labels_are_sorted_and_duplicates_keep_the_first_value() {
        let mut set = SampleSet::new();
        assert!(set.insert(key("m", &[("z", "1"), ("a", "2")]), 1.0, "h"));
        assert!(!set.insert(key("m", &[("a", "2"), ("z", "1")]), 9.0, "h"));
        assert_eq!(set.len(), 1);
        assert_eq!(set.duplicates(), 1);
        let (k, v) = set.iter().next().unwrap();
        assert_eq!(k.labels[0].0, "a");
        assert_eq!(v, 1.0);
    }

    #[test]
    fn day_start() {
        let day = NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
        assert_eq!(day_start_unix(day), 1_759_276_800);
    }
}
