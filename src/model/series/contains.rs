//! Looking a series of one set up in another, by borrowed strings (the
//! remote-write sink's duplicate and stale-marker checks).

use super::{fx, sym_id, SampleSet, SeriesRef};

impl SampleSet {
    /// Whether this set has `series` (borrowed from any set): the same
    /// name and the same labels, compared exactly. No allocation for up to
    /// 16 labels; a series of this very set is found without a lookup.
    pub fn contains(&self, series: &SeriesRef<'_>) -> bool {
        if std::ptr::eq(series.set, self) {
            return true;
        }
        let Some(name) = self.strings.get(series.name()) else {
            return false;
        };
        let labels = series.labels();
        let mut small = [0u32; 32];
        let mut large = Vec::new();
        let run: &mut [u32] = if labels.len() * 2 <= small.len() {
            &mut small[..labels.len() * 2]
        } else {
            large.resize(labels.len() * 2, 0);
            &mut large
        };
        // A SeriesRef's labels are in interned order already (sorted pairs).
        for ((n, v), slot) in labels.zip(run.chunks_exact_mut(2)) {
            let (Some(n), Some(v)) = (self.strings.get(n), self.strings.get(v)) else {
                return false;
            };
            slot[0] = sym_id(n);
            slot[1] = sym_id(v);
        }
        let run = &*run;
        self.set_index
            .find(fx(run), |&i| self.set_range(i) == run)
            .is_some_and(|&set| self.find(name, set).is_some())
    }
}
