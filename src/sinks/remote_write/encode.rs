//! Pure encoding of one request: the name rules, the wire value, the 413
//! split, protobuf + snappy block bytes and back.
//!
//! Nothing here does I/O. The requests themselves are built one at a time
//! from the model by [`super::stream::RequestStream`], which applies the
//! rules of the remote-write 1.0 sender checklist that concern the payload:
//! complete label sets with `__name__` (RW1-10/11), labels sorted, unique,
//! non-empty (RW1-12), valid names (RW1-13, [`is_valid_metric_name`],
//! [`is_valid_label_name`]), millisecond timestamps (RW1-03), samples in
//! time order per series (RW1-15), and a cap on samples per request; here
//! the snappy block compression (RW1-06, [`encode`]).

use std::collections::BTreeSet;

use prost::Message;

use super::proto::WriteRequest;
use super::proto::{MetricMetadata, TimeSeries};

/// Bit pattern of the Prometheus stale marker (RW1-17); used for nothing else.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;
/// Bit pattern of an ordinary NaN as Prometheus writes it. NaN values from
/// the model are normalised to it, so they can never read as stale markers.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

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

/// Maps model values onto the wire: NaN becomes Prometheus' ordinary NaN
/// (never the stale-marker pattern).
pub fn wire_value(value: f64) -> f64 {
    if value.is_nan() {
        f64::from_bits(NORMAL_NAN_BITS)
    } else {
        value
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
    use crate::sinks::remote_write::proto::{
        metric_metadata::MetricType, Label, MetricMetadata, Sample,
    };

    fn series(name: &str, samples: &[(f64, i64)]) -> TimeSeries {
        TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: name.into(),
            }],
            samples: samples
                .iter()
                .map(|&(value, timestamp)| Sample { value, timestamp })
                .collect(),
        }
    }

    fn gauge(name: &str) -> MetricMetadata {
        MetricMetadata {
            r#type: MetricType::Gauge as i32,
            metric_family_name: name.into(),
            help: "h".into(),
            unit: String::new(),
        }
    }

    #[test]
    fn rw1_13_name_rules() {
        assert!(is_valid_metric_name("ok:colon_1"));
        assert!(!is_valid_metric_name("1bad"));
        assert!(!is_valid_metric_name(""));
        assert!(is_valid_label_name("_a"));
        assert!(!is_valid_label_name("__reserved"));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name("a:b"));
    }

    #[test]
    fn rw1_17_nan_is_never_the_stale_pattern() {
        assert_eq!(wire_value(f64::NAN).to_bits(), NORMAL_NAN_BITS);
        assert_eq!(wire_value(-f64::NAN).to_bits(), NORMAL_NAN_BITS);
        assert_eq!(wire_value(1.5), 1.5);
    }

    #[test]
    fn rw1_06_body_is_snappy_block_not_framed_and_round_trips() {
        let req = WriteRequest {
            timeseries: vec![series("m", &[(1.5, 1_700_000_000_000)])],
            metadata: vec![gauge("m")],
        };
        let body = encode(&req);
        assert!(!body.starts_with(&[0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]));
        assert_eq!(decode(&body).unwrap(), req);
        assert!(decode(b"garbage").is_err());
    }

    #[test]
    fn a_request_too_large_splits_by_series_then_by_samples() {
        let req = WriteRequest {
            timeseries: ["a", "b", "c"]
                .iter()
                .map(|n| series(n, &[(0.0, 1)]))
                .collect(),
            metadata: ["a", "b", "c"].iter().map(|n| gauge(n)).collect(),
        };
        let (first, second) = split_request(req).unwrap();
        assert_eq!(first.timeseries.len() + second.timeseries.len(), 3);
        assert_eq!(first.metadata.len(), first.timeseries.len());
        assert_eq!(second.metadata[0].metric_family_name, "b");
        let req = WriteRequest {
            timeseries: vec![series("m", &[(0.0, 1), (0.0, 2), (0.0, 3)])],
            metadata: vec![gauge("m")],
        };
        let (first, second) = split_request(req).unwrap();
        assert_eq!(first.timeseries[0].samples.len(), 1);
        assert_eq!(second.timeseries[0].samples[0].timestamp, 2);
        assert_eq!(first.timeseries[0].labels, second.timeseries[0].labels);
        assert!(split_request(first).is_none(), "one sample cannot be split");
    }
}
