//! Unit tests of [`RequestStream`]: the payload rules of the remote-write
//! 1.0 sender checklist (RW1-xx), the cap, duplicates and stale markers.

use std::collections::BTreeMap;

use super::*;
use crate::model::SeriesKey;
use crate::sinks::remote_write::encode::{self, NORMAL_NAN_BITS};
use crate::sinks::remote_write::proto::metric_metadata::MetricType;

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    SeriesKey::from_pairs(name, labels)
}

/// (name, labels, value) of one series.
type Spec<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

fn set_of(series: &[Spec<'_>]) -> SampleSet {
    let mut set = SampleSet::new();
    for (name, labels, value) in series {
        set.insert(key(name, labels), *value, &format!("help of {name}"));
    }
    set
}

/// Every series sent, as `(labels, value bits, timestamp)`, in order.
type Sent = Vec<(Vec<(String, String)>, u64, i64)>;

fn sent(requests: &[WriteRequest]) -> Sent {
    requests
        .iter()
        .flat_map(|r| r.timeseries.iter())
        .map(|s| {
            assert_eq!(s.samples.len(), 1, "one sample a series in a stream");
            let labels = s
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            (labels, s.samples[0].value.to_bits(), s.samples[0].timestamp)
        })
        .collect()
}

fn name_of(labels: &[(String, String)]) -> &str {
    &labels.iter().find(|(n, _)| n == "__name__").unwrap().1
}

#[test]
fn rw1_10_11_12_complete_sorted_label_set_with_name_and_external_labels() {
    let set = set_of(&[(
        "copilot_x",
        &[
            ("zeta", "1"),
            ("org", "o"),
            ("empty", ""),
            ("Alpha", "q\"\\\nü"),
        ],
        1.0,
    )]);
    let extra = vec![
        ("cluster".to_string(), "eu-1".to_string()),
        ("gone".to_string(), String::new()),
    ];
    let requests: Vec<_> = RequestStream::new(vec![&set], 7, 10)
        .with_external(&extra)
        .collect();
    let sent = sent(&requests);
    let labels = &sent[0].0;
    let names: Vec<&str> = labels.iter().map(|l| l.0.as_str()).collect();
    // Byte-wise lexicographic order: upper case sorts before `_`.
    assert_eq!(names, ["Alpha", "__name__", "cluster", "org", "zeta"]);
    assert_eq!(labels[1].1, "copilot_x");
    assert_eq!(labels[0].1, "q\"\\\nü", "values travel raw");
    assert_eq!(sent[0].2, 7);
    let meta = &requests[0].metadata;
    assert_eq!(meta.len(), 1);
    assert_eq!(
        meta[0].metric_family_name, "copilot_x",
        "not the first label's value"
    );
    assert_eq!(meta[0].help, "help of copilot_x");
    assert_eq!(meta[0].r#type, MetricType::Gauge as i32);
}

#[test]
fn rw1_13_invalid_names_are_skipped_and_counted_not_panicked_on() {
    let mut set = set_of(&[
        ("1bad", &[], 1.0),
        ("ok", &[("__reserved", "v")], 1.0),
        ("ok", &[("a-b", "v")], 1.0),
        ("ok:colon", &[("_a", "v")], 1.0),
        ("clash", &[("cluster", "x")], 1.0),
    ]);
    let twice = SeriesKey {
        name: "m".into(),
        labels: vec![("a".into(), "1".into()), ("a".into(), "2".into())],
    };
    set.insert(twice, 1.0, "");
    let extra = vec![("cluster".to_string(), "eu-1".to_string())];
    let mut stream = RequestStream::new(vec![&set], 1, 10).with_external(&extra);
    let requests: Vec<_> = stream.by_ref().collect();
    let sent = sent(&requests);
    assert_eq!(sent.len(), 1);
    assert_eq!(name_of(&sent[0].0), "ok:colon");
    assert_eq!(stream.skipped(), 5);
    assert_eq!(stream.skip_reasons().len(), 5);
    assert!(stream.skip_reasons().iter().any(|r| r.contains("repeated")));
}

/// A publish spanning many capped requests: every series exactly once,
/// every request within the cap, each request's metadata exactly its own
/// families.
#[test]
fn many_capped_requests_carry_every_series_exactly_once() {
    let mut set = SampleSet::new();
    for i in 0..1000 {
        let name = format!("copilot_m{}", i % 7);
        set.insert(key(&name, &[("i", &i.to_string())]), i as f64, "h");
    }
    let small = set_of(&[("copilot_seats", &[("org", "o")], 3.0)]);
    for cap in [1, 3, 64, 999, 1001, 5000] {
        let requests: Vec<_> = RequestStream::new(vec![&set, &small], 5, cap).collect();
        assert_eq!(requests.len(), 1001usize.div_ceil(cap), "cap {cap}");
        let mut seen: BTreeMap<Vec<(String, String)>, u64> = BTreeMap::new();
        for r in &requests {
            assert!(encode::request_samples(r) <= cap);
            let families: Vec<&str> = r
                .metadata
                .iter()
                .map(|m| m.metric_family_name.as_str())
                .collect();
            let mut own: Vec<String> = r
                .timeseries
                .iter()
                .map(|s| {
                    let labels: Vec<(String, String)> = s
                        .labels
                        .iter()
                        .map(|l| (l.name.clone(), l.value.clone()))
                        .collect();
                    name_of(&labels).to_string()
                })
                .collect();
            own.sort();
            own.dedup();
            assert_eq!(families, own, "metadata for the request's own families");
        }
        for (labels, bits, _) in sent(&requests) {
            let name = name_of(&labels).to_string();
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .filter(|(n, _)| n != "__name__")
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let want = set.value(&name, &pairs).or(small.value(&name, &pairs));
            assert_eq!(Some(f64::from_bits(bits)), want, "{name} {pairs:?}");
            *seen.entry(labels).or_default() += 1;
        }
        assert_eq!(seen.len(), 1001, "cap {cap}");
        assert!(seen.values().all(|&n| n == 1), "cap {cap}");
    }
}

/// The same series in two sets of one publish: the first set's value is
/// sent, once; the copy is counted and named.
#[test]
fn a_series_in_two_sets_is_sent_once_from_the_first_set() {
    let day = set_of(&[("copilot_a", &[("org", "o")], 1.0), ("copilot_b", &[], 2.0)]);
    let current = set_of(&[("copilot_a", &[("org", "o")], 9.0), ("copilot_c", &[], 3.0)]);
    let mut stream = RequestStream::new(vec![&day, &current], 1, 10);
    let requests: Vec<_> = stream.by_ref().collect();
    let sent = sent(&requests);
    let values: Vec<(&str, f64)> = sent
        .iter()
        .map(|(l, bits, _)| (name_of(l), f64::from_bits(*bits)))
        .collect();
    assert_eq!(
        values,
        [("copilot_a", 1.0), ("copilot_b", 2.0), ("copilot_c", 3.0)]
    );
    assert_eq!(stream.duplicates(), 1);
    assert_eq!(stream.duplicate_examples(), ["copilot_a{org=\"o\"}"]);
}

/// RW1-17: a stale marker for each series of the previous publish that is
/// in no set of this one, once, after the live series; none for series
/// still present (in any set), none for a previous set that is a live one,
/// none for series that were never valid. A NaN value is never a marker.
#[test]
fn rw1_17_stale_markers_only_for_series_that_vanished() {
    let kept = set_of(&[("copilot_kept", &[], 1.0)]);
    let old_day = set_of(&[
        ("copilot_a", &[("org", "o")], 1.0),
        ("copilot_gone", &[("org", "o")], 1.0),
        ("copilot_moved", &[], 1.0),
        ("1invalid", &[], 1.0),
    ]);
    let old_health = set_of(&[
        ("copilot_gone", &[("org", "o")], 1.0),
        ("copilot_gone_too", &[], 1.0),
    ]);
    let new_day = set_of(&[("copilot_a", &[("org", "o")], f64::NAN)]);
    let new_health = set_of(&[("copilot_moved", &[], 2.0)]);
    let mut stream = RequestStream::new(vec![&new_day, &kept, &new_health], 1, 2).with_stale(vec![
        &old_day,
        &kept,
        &old_health,
    ]);
    let requests: Vec<_> = stream.by_ref().collect();
    let sent = sent(&requests);
    let got: Vec<(&str, u64)> = sent.iter().map(|(l, b, _)| (name_of(l), *b)).collect();
    assert_eq!(
        got,
        [
            ("copilot_a", NORMAL_NAN_BITS),
            ("copilot_kept", 1f64.to_bits()),
            ("copilot_moved", 2f64.to_bits()),
            ("copilot_gone", encode::STALE_NAN_BITS),
            ("copilot_gone_too", encode::STALE_NAN_BITS),
        ]
    );
    assert_eq!(stream.stale_markers(), 2);
    assert_eq!(
        stream.skipped(),
        0,
        "a never-sent series is not skipped again"
    );
}

/// What a failed send leaves undelivered is counted without building it.
#[test]
fn remaining_samples_counts_the_rest_of_the_stream() {
    let mut set = SampleSet::new();
    for i in 0..25 {
        set.insert(key("copilot_m", &[("i", &i.to_string())]), 1.0, "h");
    }
    set.insert(key("bad-name", &[]), 1.0, "h");
    let old = set_of(&[("copilot_old", &[], 1.0)]);
    let mut stream = RequestStream::new(vec![&set], 1, 10).with_stale(vec![&old]);
    let first = stream.next().unwrap();
    assert_eq!(encode::request_samples(&first), 10);
    assert_eq!(stream.remaining_samples(), 16);
    assert_eq!(stream.skipped(), 1);
    assert_eq!(stream.stale_markers(), 1);
    assert!(stream.next().is_none());
}

#[test]
fn contains_compares_name_and_labels_exactly_across_sets() {
    let a = set_of(&[("m", &[("x", "1"), ("y", "2")], 1.0), ("n", &[], 1.0)]);
    let b = set_of(&[
        ("m", &[("y", "2"), ("x", "1")], 5.0),
        ("m", &[("x", "1")], 5.0),
        ("n", &[("x", "1")], 5.0),
        ("other", &[], 5.0),
    ]);
    let found: Vec<bool> = b.iter().map(|(s, _)| a.contains(&s)).collect();
    // b in order: m{x}, m{x,y}, n{x}, other.
    assert_eq!(found, [false, true, false, false]);
    assert!(a.iter().all(|(s, _)| a.contains(&s)));
    let many: Vec<(String, String)> = (0..40)
        .map(|i| (format!("l{i:02}"), i.to_string()))
        .collect();
    let mut wide = SampleSet::new();
    wide.insert(SeriesKey::new("w", many.clone()), 1.0, "");
    let mut wide2 = SampleSet::new();
    wide2.insert(SeriesKey::new("w", many), 2.0, "");
    assert!(
        wide2.iter().all(|(s, _)| wide.contains(&s)),
        "more than 16 labels"
    );
}
