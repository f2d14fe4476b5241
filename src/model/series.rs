//! [`SampleSet`]: the interned series store every sink reads.
//!
//! Metric names, label names and label values are interned once per set
//! (`string-interner`, one contiguous buffer); label sets are stored once as
//! runs of symbol ids and shared by every series that has them (a team's
//! `{enterprise, team, language, feature}` set carries all of its metrics);
//! a series is (name id, label-set id, value): 16 bytes plus about 10 bytes
//! of hash index and sort order. Sinks read it through borrowed
//! [`SeriesRef`]s, so no owned copy of a label is made to publish it.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use string_interner::{DefaultBackend, DefaultSymbol, StringInterner, Symbol};

use super::SeriesKey;

mod contains;

/// A label set interned in one [`SampleSet`] (see
/// [`SampleSet::intern_labels`]). Valid only for the set that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSetId(u32);

#[derive(Clone, Copy, Debug)]
struct Entry {
    name: DefaultSymbol,
    labels: u32,
    value: f64,
}

/// Series room a set takes on its first insert.
const FIRST_CAPACITY: usize = 64;

fn fx<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// Label set `i` of the flat runs (empty for an unknown id).
fn run_at<'a>(symbols: &'a [u32], starts: &[u32], i: u32) -> &'a [u32] {
    let Some(&a) = starts.get(i as usize) else {
        return &[];
    };
    let b = starts
        .get(i as usize + 1)
        .map_or(symbols.len(), |&b| b as usize);
    symbols.get(a as usize..b).unwrap_or(&[])
}

fn sym_id(s: DefaultSymbol) -> u32 {
    s.to_usize() as u32
}

/// A set of series with one value each, ordered by name then labels, plus the
/// help text of each metric name.
///
/// Inserting a series that is already present keeps the first value and
/// counts a duplicate: report rows are processed in file order, so the
/// outcome is deterministic.
#[derive(Clone, Default)]
pub struct SampleSet {
    strings: StringInterner<DefaultBackend>,
    /// Label sets as flat runs of (name, value) symbol ids, sorted by name
    /// then value; `set_starts[i]..set_starts[i + 1]` is set `i`.
    set_symbols: Vec<u32>,
    set_starts: Vec<u32>,
    set_index: HashTable<u32>,
    series: Vec<Entry>,
    series_index: HashTable<u32>,
    help: BTreeMap<String, String>,
    /// By symbol id: the string is a metric name already in `help` (so an
    /// insert looks the name up there only once).
    has_help: Vec<bool>,
    duplicates: u64,
    /// Series indices in (name, labels) order, computed on first iteration.
    order: OnceLock<Box<[u32]>>,
}

/// One series of a [`SampleSet`], borrowed.
#[derive(Clone, Copy)]
pub struct SeriesRef<'a> {
    set: &'a SampleSet,
    entry: &'a Entry,
}

impl<'a> SeriesRef<'a> {
    /// The metric name.
    pub fn name(&self) -> &'a str {
        self.set.resolve(self.entry.name)
    }

    /// The labels, sorted by name, none with an empty value.
    pub fn labels(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + Clone + 'a {
        self.set.labels_of(LabelSetId(self.entry.labels))
    }

    /// The value of one label, if present.
    pub fn label(&self, name: &str) -> Option<&'a str> {
        self.labels().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The interned label set (shared with other series of the set).
    pub fn label_set(&self) -> LabelSetId {
        LabelSetId(self.entry.labels)
    }

    /// The help text of its metric name.
    pub fn help(&self) -> Option<&'a str> {
        self.set.help(self.name())
    }

    /// An owned copy of the name and labels.
    pub fn to_key(&self) -> SeriesKey {
        SeriesKey {
            name: self.name().to_string(),
            labels: self
                .labels()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }
}

impl std::fmt::Debug for SeriesRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("name", &self.name())
            .field("labels", &self.labels().collect::<Vec<_>>())
            .finish()
    }
}

impl SampleSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn resolve(&self, sym: DefaultSymbol) -> &str {
        self.strings.resolve(sym).unwrap_or_default()
    }

    fn resolve_id(&self, id: u32) -> &str {
        DefaultSymbol::try_from_usize(id as usize)
            .map(|s| self.resolve(s))
            .unwrap_or_default()
    }

    fn set_range(&self, id: u32) -> &[u32] {
        run_at(&self.set_symbols, &self.set_starts, id)
    }

    /// The labels of an interned label set (empty for an id of another set).
    pub fn labels_of(
        &self,
        id: LabelSetId,
    ) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        self.set_range(id.0)
            .chunks_exact(2)
            .map(|p| (self.resolve_id(p[0]), self.resolve_id(p[1])))
    }

    /// Interns a label set: labels with an empty value are dropped (absent
    /// in Prometheus) and the rest sorted by name, as [`SeriesKey::new`]
    /// does. Series inserted with the id share one copy of the labels.
    pub fn intern_labels<'l>(
        &mut self,
        labels: impl IntoIterator<Item = (&'l str, &'l str)>,
    ) -> LabelSetId {
        let mut pairs: Vec<(&str, &str)> =
            labels.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        pairs.sort_unstable();
        let mut run: Vec<u32> = Vec::with_capacity(pairs.len() * 2);
        for (n, v) in pairs {
            run.push(sym_id(self.strings.get_or_intern(n)));
            run.push(sym_id(self.strings.get_or_intern(v)));
        }
        self.intern_run(&run)
    }

    fn intern_run(&mut self, run: &[u32]) -> LabelSetId {
        let hash = fx(run);
        let SampleSet {
            set_symbols,
            set_starts,
            set_index,
            ..
        } = self;
        if let Some(&id) = set_index.find(hash, |&i| run_at(set_symbols, set_starts, i) == run) {
            return LabelSetId(id);
        }
        let id = set_starts.len() as u32;
        set_starts.push(set_symbols.len() as u32);
        set_symbols.extend_from_slice(run);
        set_index.insert_unique(hash, id, |&i| fx(run_at(set_symbols, set_starts, i)));
        LabelSetId(id)
    }

    fn lookup_run<'l>(&self, labels: impl IntoIterator<Item = (&'l str, &'l str)>) -> Option<u32> {
        let mut pairs: Vec<(&str, &str)> =
            labels.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        pairs.sort_unstable();
        let mut run: Vec<u32> = Vec::with_capacity(pairs.len() * 2);
        for (n, v) in pairs {
            run.push(sym_id(self.strings.get(n)?));
            run.push(sym_id(self.strings.get(v)?));
        }
        self.set_index
            .find(fx(&run[..]), |&i| self.set_range(i) == &run[..])
            .copied()
    }

    fn find(&self, name: DefaultSymbol, labels: u32) -> Option<u32> {
        self.series_index
            .find(fx(&(sym_id(name), labels)), |&i| {
                let e = &self.series[i as usize];
                e.name == name && e.labels == labels
            })
            .copied()
    }

    /// Adds a series with an interned label set. Returns `false` (and
    /// counts a duplicate) when the same name and labels are already
    /// present; the first value wins.
    pub fn insert_in(&mut self, name: &str, labels: LabelSetId, value: f64, help: &str) -> bool {
        self.put(name, labels, value, || help.to_string(), false)
    }

    /// [`SampleSet::insert_in`] with the help text built only when `name`
    /// has none yet.
    pub fn insert_in_with(
        &mut self,
        name: &str,
        labels: LabelSetId,
        value: f64,
        help: impl FnOnce() -> String,
    ) -> bool {
        self.put(name, labels, value, help, false)
    }

    fn put(
        &mut self,
        name: &str,
        labels: LabelSetId,
        value: f64,
        help: impl FnOnce() -> String,
        replace: bool,
    ) -> bool {
        if (labels.0 as usize) >= self.set_starts.len() {
            // An id of another set: intern its (empty) meaning rather than panic.
            return false;
        }
        let sym = self.strings.get_or_intern(name);
        if let Some(i) = self.find(sym, labels.0) {
            if replace {
                self.series[i as usize].value = value;
            } else {
                self.duplicates += 1;
            }
            return false;
        }
        let s = sym_id(sym) as usize;
        if !self.has_help.get(s).copied().unwrap_or(false) {
            if !self.help.contains_key(name) {
                self.help.insert(name.to_string(), help());
            }
            if self.has_help.len() <= s {
                self.has_help.resize(s + 1, false);
            }
            self.has_help[s] = true;
        }
        if self.series.capacity() == 0 {
            // A set is rarely tiny (a report row maps to hundreds of
            // series): skip the first rounds of growth and rehashing.
            self.series.reserve(FIRST_CAPACITY);
            let series = &self.series;
            self.series_index.reserve(FIRST_CAPACITY, |&i| {
                let e = &series[i as usize];
                fx(&(sym_id(e.name), e.labels))
            });
        }
        let idx = self.series.len() as u32;
        self.series.push(Entry {
            name: sym,
            labels: labels.0,
            value,
        });
        let series = &self.series;
        self.series_index
            .insert_unique(fx(&(sym_id(sym), labels.0)), idx, |&i| {
                let e = &series[i as usize];
                fx(&(sym_id(e.name), e.labels))
            });
        self.order = OnceLock::new();
        true
    }

    /// Adds a series. Returns `false` (and counts a duplicate) when the same
    /// name and labels are already present; the first value wins.
    pub fn insert(&mut self, key: SeriesKey, value: f64, help: &str) -> bool {
        let labels = self.intern_labels(key.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        self.insert_in(&key.name, labels, value, help)
    }

    /// Adds a series or replaces its value (for values the exporter computes
    /// itself, never for report data).
    pub fn set(&mut self, key: SeriesKey, value: f64, help: &str) {
        let labels = self.intern_labels(key.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        self.put(&key.name, labels, value, || help.to_string(), true);
    }

    fn order(&self) -> &[u32] {
        self.order.get_or_init(|| {
            // Ranks of the interned strings in byte order turn every string
            // comparison of the sort into an integer one.
            let mut syms: Vec<(&str, u32)> =
                self.strings.iter().map(|(s, t)| (t, sym_id(s))).collect();
            syms.sort_unstable();
            let mut rank = vec![0u32; syms.len()];
            for (r, (_, s)) in syms.iter().enumerate() {
                if let Some(slot) = rank.get_mut(*s as usize) {
                    *slot = r as u32;
                }
            }
            let ranked = |id: u32| -> Vec<u32> {
                self.set_range(id)
                    .iter()
                    .map(|&s| rank.get(s as usize).copied().unwrap_or(0))
                    .collect()
            };
            let sets: Vec<Vec<u32>> = (0..self.set_starts.len() as u32).map(ranked).collect();
            let mut by_rank: Vec<u32> = (0..sets.len() as u32).collect();
            by_rank.sort_unstable_by(|a, b| sets[*a as usize].cmp(&sets[*b as usize]));
            let mut set_rank = vec![0u32; sets.len()];
            for (r, s) in by_rank.iter().enumerate() {
                set_rank[*s as usize] = r as u32;
            }
            let key = |e: &Entry| {
                (u64::from(rank.get(sym_id(e.name) as usize).copied().unwrap_or(0)) << 32)
                    | u64::from(set_rank.get(e.labels as usize).copied().unwrap_or(0))
            };
            let mut order: Vec<u32> = (0..self.series.len() as u32).collect();
            order.sort_unstable_by_key(|&i| key(&self.series[i as usize]));
            order.into_boxed_slice()
        })
    }

    /// Series in order (name, then labels).
    pub fn iter(&self) -> impl Iterator<Item = (SeriesRef<'_>, f64)> + '_ {
        self.order().iter().map(move |&i| {
            let entry = &self.series[i as usize];
            (SeriesRef { set: self, entry }, entry.value)
        })
    }

    /// The series at positions `range` of [`SampleSet::iter`]'s order.
    pub fn iter_range(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (SeriesRef<'_>, f64)> + '_ {
        self.order()
            .get(range)
            .unwrap_or(&[])
            .iter()
            .map(move |&i| {
                let entry = &self.series[i as usize];
                (SeriesRef { set: self, entry }, entry.value)
            })
    }

    /// Each metric name with the positions of its series in
    /// [`SampleSet::iter`]'s order (one run per name, names in order).
    pub fn name_runs(&self) -> Vec<(&str, std::ops::Range<usize>)> {
        let mut runs: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
        let mut last = None;
        for (pos, &i) in self.order().iter().enumerate() {
            let name = self.series[i as usize].name;
            match runs.last_mut() {
                Some((_, range)) if last == Some(name) => range.end = pos + 1,
                _ => runs.push((self.resolve(name), pos..pos + 1)),
            }
            last = Some(name);
        }
        runs
    }

    /// The value of one series.
    pub fn get(&self, key: &SeriesKey) -> Option<f64> {
        self.value_of(
            &key.name,
            key.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        )
    }

    fn value_of<'l>(
        &self,
        name: &str,
        labels: impl IntoIterator<Item = (&'l str, &'l str)>,
    ) -> Option<f64> {
        let name = self.strings.get(name)?;
        let labels = self.lookup_run(labels)?;
        self.find(name, labels)
            .map(|i| self.series[i as usize].value)
    }

    /// The value of the series with this name and exactly these labels
    /// (in any order).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.value_of(name, labels.iter().copied())
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
        let gone: std::collections::HashSet<u32> = dropped
            .iter()
            .filter_map(|n| self.strings.get(n.as_str()))
            .map(sym_id)
            .collect();
        let before = self.series.len();
        self.series.retain(|e| !gone.contains(&sym_id(e.name)));
        self.help.retain(|n, _| !dropped.contains(n));
        for &s in &gone {
            if let Some(flag) = self.has_help.get_mut(s as usize) {
                *flag = false;
            }
        }
        let series = &self.series;
        self.series_index.clear();
        for (i, e) in series.iter().enumerate() {
            self.series_index
                .insert_unique(fx(&(sym_id(e.name), e.labels)), i as u32, |&i| {
                    let e = &series[i as usize];
                    fx(&(sym_id(e.name), e.labels))
                });
        }
        self.order = OnceLock::new();
        before - self.series.len()
    }

    /// Moves every series of `other` into `self` (first value wins on
    /// duplicates, which are counted). The larger set is kept and the
    /// smaller one re-interned into it.
    pub fn absorb(&mut self, mut other: SampleSet) {
        let keep_incoming = other.len() > self.len();
        if keep_incoming {
            std::mem::swap(self, &mut other);
        }
        // `other` is now the smaller set; on a clash the original `self`
        // (first) wins, whichever side it is on now.
        self.duplicates += other.duplicates;
        for (name, help) in &other.help {
            if keep_incoming {
                self.help.insert(name.clone(), help.clone());
            } else {
                self.help
                    .entry(name.clone())
                    .or_insert_with(|| help.clone());
            }
        }
        let mut ids: Vec<Option<LabelSetId>> = vec![None; other.set_starts.len()];
        for entry in &other.series {
            let labels = match ids.get(entry.labels as usize).copied().flatten() {
                Some(id) => id,
                None => {
                    let id = self.intern_labels(other.labels_of(LabelSetId(entry.labels)));
                    if let Some(slot) = ids.get_mut(entry.labels as usize) {
                        *slot = Some(id);
                    }
                    id
                }
            };
            let name = other.resolve(entry.name);
            if !self.put(name, labels, entry.value, String::new, keep_incoming) {
                self.duplicates += u64::from(keep_incoming);
            }
        }
    }
}

impl PartialEq for SampleSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.duplicates == other.duplicates
            && self.help == other.help
            && self
                .iter()
                .zip(other.iter())
                .all(|((a, x), (b, y))| x == y && a.name() == b.name() && a.labels().eq(b.labels()))
    }
}

impl std::fmt::Debug for SampleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleSet")
            .field("series", &self.iter().collect::<Vec<_>>())
            .field("help", &self.help)
            .field("duplicates", &self.duplicates)
            .finish()
    }
}
