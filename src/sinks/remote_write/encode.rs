//! Pure encoding: model series → [`WriteRequest`]s → snappy-block bytes.
//!
//! Nothing here does I/O. The rules of the remote-write 1.0 sender checklist
//! that concern the payload are enforced here: complete label sets with
//! `__name__` (RW1-10/11), labels sorted, unique, non-empty (RW1-12), valid
//! names (RW1-13), millisecond timestamps (RW1-03), samples in time order per
//! series (RW1-15), snappy block compression (RW1-06), and a cap on samples
//! per request.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;

use super::proto::WriteRequest;
use super::proto::{metric_metadata::MetricType, Label, MetricMetadata, Sample, TimeSeries};
use crate::model::{SampleSet, SeriesKey, SeriesRef};

/// Bit pattern of the Prometheus stale marker (RW1-17); used for nothing else.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;
/// Bit pattern of an ordinary NaN as Prometheus writes it. NaN values from
/// the model are normalised to it, so they can never read as stale markers.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// A full label set, `__name__` included, sorted by name (the key of a series
/// inside a [`Batch`]).
pub type LabelSet = Vec<(String, String)>;

/// Whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*` (RW1-13).
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `name` is a valid, non-reserved label name:
/// `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__` (RW1-13).
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// The complete label set of a series: `__name__` plus its labels, sorted by
/// name, labels with empty values dropped (empty means absent in
/// Prometheus). Errors (never panics) on an invalid metric or label name or a
/// repeated label name.
pub fn label_set(key: &SeriesKey) -> Result<LabelSet, String> {
    label_set_with(key, &[])
}

/// [`label_set`] plus `extra` labels (the external labels); a data label
/// with the name of an extra one is an error like any repeated name.
pub fn label_set_with(key: &SeriesKey, extra: &[(String, String)]) -> Result<LabelSet, String> {
    label_set_of(
        &key.name,
        key.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        extra,
    )
}

/// [`label_set_with`] for a borrowed name and labels (a [`SeriesRef`]).
pub fn label_set_of<'l>(
    name: &str,
    labels: impl ExactSizeIterator<Item = (&'l str, &'l str)>,
    extra: &'l [(String, String)],
) -> Result<LabelSet, String> {
    if !is_valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut out: LabelSet = Vec::with_capacity(labels.len() + extra.len() + 1);
    out.push(("__name__".to_string(), name.to_string()));
    let extra = extra.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    for (label, value) in labels.chain(extra) {
        if !is_valid_label_name(label) {
            return Err(format!(
                "series {name}: invalid or reserved label name {label:?}"
            ));
        }
        if value.is_empty() {
            continue;
        }
        out.push((label.to_string(), value.to_string()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    if out.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(format!("series {name}: repeated label name"));
    }
    Ok(out)
}

/// Maps model values onto the wire: NaN becomes Prometheus' ordinary NaN
/// (never the stale-marker pattern).
pub fn wire_value(value: f64) -> f64 {
    if value.is_nan() {
        f64::from_bits(NORMAL_NAN_BITS)
    } else {
        value
    }
}

/// Samples grouped by series, ready to be cut into capped requests.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    series: BTreeMap<LabelSet, Vec<Sample>>,
    help: BTreeMap<String, String>,
    skipped: Vec<String>,
    extra: Vec<(String, String)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch whose every series also gets `extra` labels (the
    /// external labels).
    pub fn with_labels(extra: &[(String, String)]) -> Self {
        Batch {
            extra: extra.to_vec(),
            ..Self::default()
        }
    }

    /// Adds every series of `set`, all at `timestamp_ms`.
    pub fn add_set(&mut self, set: &SampleSet, timestamp_ms: i64) {
        for (key, value) in set.iter() {
            self.add_ref(&key, value, timestamp_ms);
        }
    }

    /// Adds one sample of a series borrowed from a [`SampleSet`].
    pub fn add_ref(&mut self, key: &SeriesRef<'_>, value: f64, timestamp_ms: i64) {
        let labels = label_set_of(key.name(), key.labels(), &self.extra);
        self.add_labels(key.name(), labels, value, timestamp_ms, key.help());
    }

    /// Adds one sample. A series with invalid names is skipped and noted in
    /// [`Batch::skipped`].
    pub fn add(&mut self, key: &SeriesKey, value: f64, timestamp_ms: i64, help: Option<&str>) {
        let labels = label_set_with(key, &self.extra);
        self.add_labels(&key.name, labels, value, timestamp_ms, help);
    }

    fn add_labels(
        &mut self,
        name: &str,
        labels: Result<LabelSet, String>,
        value: f64,
        timestamp_ms: i64,
        help: Option<&str>,
    ) {
        match labels {
            Ok(labels) => {
                if let Some(help) = help {
                    if !self.help.contains_key(name) {
                        self.help.insert(name.to_string(), help.to_string());
                    }
                }
                self.series.entry(labels).or_default().push(Sample {
                    value: wire_value(value),
                    timestamp: timestamp_ms,
                });
            }
            Err(reason) => self.skipped.push(reason),
        }
    }

    /// Adds a stale marker (RW1-17) for a series that is no longer sent.
    pub fn add_stale(&mut self, labels: LabelSet, timestamp_ms: i64) {
        self.series.entry(labels).or_default().push(Sample {
            value: f64::from_bits(STALE_NAN_BITS),
            timestamp: timestamp_ms,
        });
    }

    /// Label sets of the series in the batch.
    pub fn label_sets(&self) -> impl Iterator<Item = &LabelSet> {
        self.series.keys()
    }

    /// Samples in the batch.
    pub fn sample_count(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }

    /// True when the batch holds no sample.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Why series were skipped (invalid names).
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Cuts the batch into requests of at most `max_samples` samples each
    /// (at least 1). Samples of each series are sorted by time and a repeated
    /// timestamp keeps its first value; a series longer than the cap spans
    /// consecutive requests in time order, so sending the requests in order
    /// keeps RW1-15. Each request carries gauge metadata for its families.
    pub fn into_requests(self, max_samples: usize) -> Vec<WriteRequest> {
        let max_samples = max_samples.max(1);
        let mut requests = Vec::new();
        let mut current: Vec<TimeSeries> = Vec::new();
        let mut room = max_samples;
        let help = self.help;
        let finish = |series: Vec<TimeSeries>, out: &mut Vec<WriteRequest>| {
            if series.is_empty() {
                return;
            }
            let names: BTreeSet<&str> = series
                .iter()
                .filter_map(|s| s.labels.first().map(|l| l.value.as_str()))
                .collect();
            let metadata = names
                .into_iter()
                .map(|name| MetricMetadata {
                    r#type: MetricType::Gauge as i32,
                    metric_family_name: name.to_string(),
                    help: help.get(name).cloned().unwrap_or_default(),
                    unit: String::new(),
                })
                .collect();
            out.push(WriteRequest {
                timeseries: series,
                metadata,
            });
        };
        for (labels, mut samples) in self.series {
            samples.sort_by_key(|s| s.timestamp);
            samples.dedup_by_key(|s| s.timestamp);
            let labels: Vec<Label> = labels
                .into_iter()
                .map(|(name, value)| Label { name, value })
                .collect();
            let mut labels = Some(labels);
            let mut rest = samples;
            while !rest.is_empty() {
                if room == 0 {
                    finish(std::mem::take(&mut current), &mut requests);
                    room = max_samples;
                }
                let take = rest.len().min(room);
                let tail = rest.split_off(take);
                // The last chunk of a series takes its labels, the others clone.
                let chunk_labels = if tail.is_empty() {
                    labels.take().unwrap_or_default()
                } else {
                    labels.clone().unwrap_or_default()
                };
                current.push(TimeSeries {
                    labels: chunk_labels,
                    samples: rest,
                });
                rest = tail;
                room -= take;
            }
        }
        finish(current, &mut requests);
        requests
    }
}

/// Whether [`split_request`] can split `req` (it holds more than one sample).
pub fn can_split(req: &WriteRequest) -> bool {
    req.timeseries.len() > 1 || req.timeseries.first().is_some_and(|s| s.samples.len() > 1)
}

/// Splits a request the receiver found too large (413) into two halves,
/// by series, or by samples when it holds one series; `None` when it holds
/// a single sample (then the sample itself is too large: a data rejection).
/// Sending the first half before the second keeps every series in time
/// order (RW1-15); each half carries the metadata of its own families.
pub fn split_request(mut req: WriteRequest) -> Option<(WriteRequest, WriteRequest)> {
    if !can_split(&req) {
        return None;
    }
    let second = if req.timeseries.len() > 1 {
        let half = req.timeseries.len() / 2;
        req.timeseries.split_off(half)
    } else {
        let series = req.timeseries.first_mut()?;
        if series.samples.len() < 2 {
            return None;
        }
        let half = series.samples.len() / 2;
        vec![TimeSeries {
            labels: series.labels.clone(),
            samples: series.samples.split_off(half),
        }]
    };
    let metadata_for = |series: &[TimeSeries], all: &[MetricMetadata]| {
        let names: BTreeSet<&str> = series
            .iter()
            .filter_map(|s| s.labels.iter().find(|l| l.name == "__name__"))
            .map(|l| l.value.as_str())
            .collect();
        all.iter()
            .filter(|m| names.contains(m.metric_family_name.as_str()))
            .cloned()
            .collect::<Vec<_>>()
    };
    let second = WriteRequest {
        metadata: metadata_for(&second, &req.metadata),
        timeseries: second,
    };
    req.metadata = metadata_for(&req.timeseries, &req.metadata);
    Some((req, second))
}

/// Sets every sample of `req` to `timestamp_ms` (the periodic re-send of
/// the `now`-stamped snapshot reuses its requests).
pub fn restamp(req: &mut WriteRequest, timestamp_ms: i64) {
    for sample in req.timeseries.iter_mut().flat_map(|s| s.samples.iter_mut()) {
        sample.timestamp = timestamp_ms;
    }
}

/// `req` without stale markers (series that vanished are not re-sent).
pub fn without_stale(mut req: WriteRequest) -> WriteRequest {
    for series in &mut req.timeseries {
        series
            .samples
            .retain(|s| s.value.to_bits() != STALE_NAN_BITS);
    }
    req.timeseries.retain(|s| !s.samples.is_empty());
    req
}

/// Samples in a request.
pub fn request_samples(req: &WriteRequest) -> usize {
    req.timeseries.iter().map(|s| s.samples.len()).sum()
}

/// The HTTP body of a request: protobuf, then snappy **block** compression
/// (RW1-02, RW1-06).
pub fn encode(req: &WriteRequest) -> Vec<u8> {
    let raw = req.encode_to_vec();
    // Fails only for inputs over ~4 GiB, far above any capped request.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// A body that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not a snappy block.
    #[error("snappy: {0}")]
    Snappy(#[from] snap::Error),
    /// Not a `WriteRequest`.
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// Decodes a remote-write body (snappy block + protobuf): the receiver's
/// side, for tests and debugging.
pub fn decode(body: &[u8]) -> Result<WriteRequest, DecodeError> {
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    Ok(WriteRequest::decode(raw.as_slice())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::from_pairs(name, labels)
    }

    #[test]
    fn rw1_10_11_12_complete_sorted_label_set_with_name_and_no_empty_values() {
        let k = key(
            "copilot_x",
            &[
                ("zeta", "1"),
                ("org", "o"),
                ("empty", ""),
                ("Alpha", "q\"\\\nü"),
            ],
        );
        let labels = label_set(&k).unwrap();
        let names: Vec<&str> = labels.iter().map(|l| l.0.as_str()).collect();
        // Byte-wise lexicographic order: upper case sorts before `_`.
        assert_eq!(names, ["Alpha", "__name__", "org", "zeta"]);
        assert_eq!(labels[1].1, "copilot_x");
        assert_eq!(labels[0].1, "q\"\\\nü", "values travel raw");
    }

    #[test]
    fn rw1_13_invalid_names_are_skipped_not_panicked_on() {
        assert!(label_set(&key("1bad", &[])).is_err());
        assert!(label_set(&key("ok", &[("__reserved", "v")])).is_err());
        assert!(label_set(&key("ok", &[("a-b", "v")])).is_err());
        assert!(label_set(&key("ok:colon", &[("_a", "v")])).is_ok());
        let dup = SeriesKey {
            name: "m".into(),
            labels: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
        };
        assert!(label_set(&dup).is_err());
        let mut b = Batch::new();
        b.add(&key("1bad", &[]), 1.0, 0, None);
        assert!(b.is_empty());
        assert_eq!(b.skipped().len(), 1);
    }

    #[test]
    fn rw1_15_samples_sorted_and_split_in_time_order() {
        let mut b = Batch::new();
        let k = key("m", &[("org", "o")]);
        for ts in [5, 3, 9, 1, 7] {
            b.add(&k, ts as f64, ts, Some("help"));
        }
        b.add(&k, 99.0, 3, None); // repeated timestamp: first value wins
        let reqs = b.into_requests(2);
        assert_eq!(reqs.len(), 3);
        let ts: Vec<i64> = reqs
            .iter()
            .flat_map(|r| r.timeseries.iter().flat_map(|s| s.samples.iter()))
            .map(|s| s.timestamp)
            .collect();
        assert_eq!(ts, [1, 3, 5, 7, 9]);
        assert!(reqs.iter().all(|r| request_samples(r) <= 2));
        assert_eq!(reqs[0].metadata[0].metric_family_name, "m");
        assert_eq!(reqs[0].metadata[0].help, "help");
        assert_eq!(reqs[0].metadata[0].r#type, MetricType::Gauge as i32);
    }

    #[test]
    fn rw1_17_nan_is_never_a_stale_marker() {
        let mut b = Batch::new();
        b.add(&key("m", &[]), f64::NAN, 1, None);
        b.add_stale(vec![("__name__".into(), "gone".into())], 1);
        let req = &b.into_requests(10)[0];
        let bits: Vec<u64> = req
            .timeseries
            .iter()
            .map(|s| s.samples[0].value.to_bits())
            .collect();
        assert_eq!(bits, [STALE_NAN_BITS, NORMAL_NAN_BITS]);
    }

    #[test]
    fn rw1_06_body_is_snappy_block_not_framed_and_round_trips() {
        let mut b = Batch::new();
        b.add(&key("m", &[("org", "ö")]), 1.5, 1_700_000_000_000, None);
        let req = b.into_requests(10).remove(0);
        let body = encode(&req);
        assert!(!body.starts_with(&[0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]));
        assert_eq!(decode(&body).unwrap(), req);
        assert!(decode(b"garbage").is_err());
    }

    #[test]
    fn a_request_too_large_splits_by_series_then_by_samples() {
        let mut b = Batch::new();
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            b.add(&key(name, &[]), i as f64, 1, Some("h"));
        }
        let req = b.into_requests(10).remove(0);
        let (first, second) = split_request(req.clone()).unwrap();
        assert_eq!(first.timeseries.len() + second.timeseries.len(), 3);
        assert_eq!(first.metadata.len(), first.timeseries.len());
        assert_eq!(second.metadata[0].metric_family_name, "b");
        let mut b = Batch::new();
        for ts in 1..=3 {
            b.add(&key("m", &[]), 0.0, ts, None);
        }
        let (first, second) = split_request(b.into_requests(10).remove(0)).unwrap();
        assert_eq!(first.timeseries[0].samples.len(), 1);
        assert_eq!(second.timeseries[0].samples[0].timestamp, 2);
        assert_eq!(first.timeseries[0].labels, second.timeseries[0].labels);
        assert!(split_request(first).is_none(), "one sample cannot be split");
    }
}
