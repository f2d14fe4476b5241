//! The metric model every sink consumes: named series with labels and a
//! value, grouped by report day.
//!
//! The collector produces it, the sinks read it; nothing here does I/O.

pub mod scope;
pub mod series;
pub mod snapshot;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use chrono::NaiveDate;

use crate::model::scope::Scope;
pub use crate::model::series::{LabelSetId, SampleSet, SeriesRef};

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

    /// [`SeriesKey::new`] from borrowed label pairs.
    pub fn from_pairs(name: &str, labels: &[(&str, &str)]) -> Self {
        SeriesKey::new(
            name,
            labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The value of one label, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
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
            for (name, range) in set.name_runs() {
                *counts.entry(name).or_default() += range.len() as u64;
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
        SeriesKey::from_pairs(name, labels)
    }

    #[test]
    fn labels_are_sorted_and_duplicates_keep_the_first_value() {
        let mut set = SampleSet::new();
        assert!(set.insert(key("m", &[("z", "1"), ("a", "2")]), 1.0, "h"));
        assert!(!set.insert(key("m", &[("a", "2"), ("z", "1")]), 9.0, "h"));
        assert_eq!(set.len(), 1);
        assert_eq!(set.duplicates(), 1);
        let (k, v) = set.iter().next().unwrap();
        assert_eq!(k.labels().next(), Some(("a", "2")));
        assert_eq!(v, 1.0);
    }

    #[test]
    fn interned_order_equals_the_owned_key_order_and_absorb_keeps_first_values() {
        // Names and values that sort differently by bytes than by length,
        // label values equal to other names, shared and unshared sets.
        let keys = [
            key("b", &[("x", "1")]),
            key("a", &[("x", "10"), ("y", "2")]),
            key("a", &[("x", "1"), ("y", "2")]),
            key("a", &[("x", "1")]),
            key("a", &[]),
            key("a_b", &[("b", "a")]),
            key("a", &[("X", "ü"), ("x", "1")]),
            key("b", &[("x", "1"), ("y", "")]),
        ];
        let mut set = SampleSet::new();
        let mut owned = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            let fresh = set.insert(k.clone(), i as f64, "h");
            assert_eq!(fresh, owned.insert(k.clone(), i as f64).is_none());
            owned.entry(k.clone()).or_insert(i as f64);
        }
        let got: Vec<(SeriesKey, f64)> = set.iter().map(|(k, v)| (k.to_key(), v)).collect();
        let mut want: Vec<(SeriesKey, f64)> = Vec::new();
        let mut firsts = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            firsts.entry(k.clone()).or_insert(i as f64);
        }
        want.extend(firsts);
        assert_eq!(got, want);
        assert_eq!(set.duplicates(), 1, "b{{x=1}} twice (the empty y dropped)");
        assert_eq!(set.value("a", &[("y", "2"), ("x", "1")]), Some(2.0));
        assert_eq!(set.value("a", &[("x", "nope")]), None);
        assert_eq!(set.value("zzz", &[]), None);

        // Absorb either way round: the receiving set's values win.
        let mut small = SampleSet::new();
        small.insert(key("a", &[]), 100.0, "other help");
        small.insert(key("c", &[("q", "1")]), 5.0, "c");
        let mut big = set.clone();
        big.absorb(small.clone());
        assert_eq!(big.value("a", &[]), Some(4.0));
        assert_eq!(big.value("c", &[("q", "1")]), Some(5.0));
        assert_eq!(big.help("a"), Some("h"));
        let mut into_small = small.clone();
        into_small.absorb(set.clone());
        assert_eq!(into_small.value("a", &[]), Some(100.0));
        assert_eq!(into_small.help("a"), Some("other help"));
        assert_eq!(into_small.duplicates(), big.duplicates());
        assert_eq!(into_small.len(), big.len());

        // Dropping names keeps the rest findable and ordered.
        assert_eq!(big.retain_names(|n| n != "a"), 5);
        let names: Vec<String> = big.iter().map(|(k, _)| k.name().to_string()).collect();
        assert_eq!(names, ["a_b", "b", "c"]);
        assert_eq!(big.value("c", &[("q", "1")]), Some(5.0));
    }

    #[test]
    fn day_start() {
        let day = NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
        assert_eq!(day_start_unix(day), 1_759_276_800);
    }
}
