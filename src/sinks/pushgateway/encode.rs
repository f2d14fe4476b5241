//! Pure encoding of a scope's group: metric families without timestamps
//! (the Pushgateway rejects them), as delimited protobuf.

use prometheus::proto::MetricFamily;
use prometheus::{Encoder, ProtobufEncoder};

use crate::model::snapshot::ScopeState;
use crate::model::{SampleSet, ScopeData};
use crate::sinks::exposition::{add_scope_data, data_families, FamilyBuilder};
use crate::sinks::view::{scope_health, ScopeView};

/// `Content-Type` of a delimited-protobuf push.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// The families of one scope's group after a round: with `with_data`, the
/// scope's newest report day and current values; always its health gauges
/// and the exporter's self-metrics (`own`, types kept). Sorted by name.
pub fn group_families(
    view: &ScopeView,
    own: &[MetricFamily],
    with_data: bool,
) -> Vec<MetricFamily> {
    let mut builder = FamilyBuilder::new();
    if let (true, Some(data)) = (with_data, &view.data) {
        add_scope_data(&mut builder, data);
    }
    builder.samples(&view.health);
    let mut families = builder.build();
    families.extend(own.iter().cloned());
    families.sort_by(|a, b| a.name().cmp(b.name()));
    families
}

/// The families of a group holding `data` as just collected: newest day,
/// current values, last-success time and collection duration.
pub fn scope_families(data: &ScopeData) -> Vec<MetricFamily> {
    let mut builder = FamilyBuilder::new();
    add_scope_data(&mut builder, data);
    let health = ScopeState {
        last_success: Some(data.collected_at),
        last_duration: Some(data.duration),
        ..ScopeState::default()
    };
    builder.samples(&scope_health(&data.scope, &health));
    builder.build()
}

/// Exactly `encode_protobuf(&group_families(view, own, with_data))`,
/// written straight from the interned sample sets: the data families are
/// never copied into protobuf messages with owned labels (the wire format
/// of `io.prometheus.client.MetricFamily` is written by hand, field by
/// field as the `prometheus` crate's encoder does); only `own`, the
/// registry's families, goes through that encoder.
pub fn group_body(
    view: &ScopeView,
    own: &[MetricFamily],
    with_data: bool,
) -> Result<Vec<u8>, String> {
    let mut sets: Vec<&SampleSet> = Vec::new();
    if let (true, Some(data)) = (with_data, &view.data) {
        if let Some((_, set)) = data.newest_day() {
            sets.push(set);
        }
        sets.push(&data.current);
    }
    sets.push(&view.health);
    let data = data_families(&sets);
    // Families sorted by name, stably: data before the registry's.
    let mut families: Vec<(&str, Option<&MetricFamily>)> =
        data.keys().map(|name| (*name, None)).collect();
    families.extend(own.iter().map(|f| (f.name(), Some(f))));
    families.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (name, family) in families {
        match family {
            Some(family) => ProtobufEncoder::new()
                .encode(std::slice::from_ref(family), &mut out)
                .map_err(|e| format!("cannot encode metrics: {e}"))?,
            None => {
                if let Some((help, runs)) = data.get(name) {
                    wire::family(&mut out, name, help, runs);
                }
            }
        }
    }
    Ok(out)
}

/// The protobuf wire format of a gauge `MetricFamily`, as rust-protobuf
/// writes it: name (1), help (2), type (3) = GAUGE, then each metric (4)
/// with its label pairs (1: name 1, value 2) and gauge (2: value 1).
mod wire {
    use crate::sinks::exposition::SampleRuns;

    const GAUGE: u64 = 1;

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn varint_len(v: u64) -> u64 {
        (64 - (v | 1).leading_zeros() as u64).div_ceil(7)
    }

    fn len_field(len: u64) -> u64 {
        1 + varint_len(len) + len
    }

    fn bytes(out: &mut Vec<u8>, field: u64, data: &[u8]) {
        varint(out, field << 3 | 2);
        varint(out, data.len() as u64);
        out.extend_from_slice(data);
    }

    fn pair_len(name: &str, value: &str) -> u64 {
        len_field(name.len() as u64) + len_field(value.len() as u64)
    }

    /// Length of a Metric: its label pairs and its gauge (9 bytes: a
    /// double field).
    fn metric_len<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
        labels.map(|(n, v)| len_field(pair_len(n, v))).sum::<u64>() + len_field(9)
    }

    /// One length-delimited family.
    pub(super) fn family(out: &mut Vec<u8>, name: &str, help: &str, runs: &SampleRuns<'_>) {
        let series = || {
            runs.iter()
                .flat_map(|(set, range)| set.iter_range(range.clone()))
        };
        let mut len = len_field(name.len() as u64) + len_field(help.len() as u64) + 2;
        for (key, _) in series() {
            len += len_field(metric_len(key.labels()));
        }
        varint(out, len);
        bytes(out, 1, name.as_bytes());
        bytes(out, 2, help.as_bytes());
        varint(out, 3 << 3);
        varint(out, GAUGE);
        for (key, value) in series() {
            varint(out, 4 << 3 | 2);
            varint(out, metric_len(key.labels()));
            for (n, v) in key.labels() {
                varint(out, 1 << 3 | 2);
                varint(out, pair_len(n, v));
                bytes(out, 1, n.as_bytes());
                bytes(out, 2, v.as_bytes());
            }
            varint(out, 2 << 3 | 2);
            varint(out, 9);
            varint(out, 1 << 3 | 1);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// Encodes families as delimited protobuf.
pub fn encode_protobuf(families: &[MetricFamily]) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    ProtobufEncoder::new()
        .encode(families, &mut buf)
        .map_err(|e| format!("cannot encode metrics: {e}"))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scope::Scope;
    use crate::model::{SampleSet, SeriesKey};
    use std::sync::Arc;
    use std::time::Duration;

    fn data() -> ScopeData {
        let mut data = ScopeData::new(Scope::org("o"));
        data.current.insert(
            SeriesKey::new("copilot_seats_total", vec![("org".into(), "o".into())]),
            5.0,
            "Seats.",
        );
        data.duration = Duration::from_millis(1500);
        data
    }

    #[test]
    fn the_borrowing_encoder_writes_the_prometheus_encoders_bytes() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 7).unwrap();
        let mut data = data();
        let mut set = SampleSet::new();
        let long = "x".repeat(300);
        for (name, labels, value, help) in [
            (
                "copilot_a",
                vec![("org", "o"), ("ide", "v\"s\\c\nü")],
                1.5,
                "help ü\n",
            ),
            (
                "copilot_a",
                vec![("org", "o"), ("ide", long.as_str())],
                f64::NAN,
                "",
            ),
            ("copilot_b", vec![], -0.0, ""),
            (
                "copilot_seats_total",
                vec![("org", "o"), ("z", "1")],
                1e300,
                "other",
            ),
            (
                "copilot_exporter_refreshes_total",
                vec![("org", "o")],
                2.0,
                "clash",
            ),
        ] {
            let labels = labels
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            set.insert(SeriesKey::new(name, labels), value, help);
        }
        data.days.insert(day, set);
        let mut health = SampleSet::new();
        health.set(
            SeriesKey::new("copilot_a", vec![("org".into(), "o".into())]),
            0.0,
            "h",
        );
        let view = ScopeView {
            scope: Scope::org("o"),
            data: Some(Arc::new(data)),
            fresh: true,
            health,
        };
        let registry = prometheus::Registry::new();
        let c = prometheus::IntCounter::new("copilot_exporter_refreshes_total", "R.").unwrap();
        registry.register(Box::new(c)).unwrap();
        let h = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("copilot_b", "H."))
            .unwrap();
        h.observe(1.0);
        registry.register(Box::new(h)).unwrap();
        let own = registry.gather();
        for with_data in [false, true] {
            let want = encode_protobuf(&group_families(&view, &own, with_data)).unwrap();
            assert!(want.len() > if with_data { 400 } else { 50 });
            assert_eq!(group_body(&view, &own, with_data).unwrap(), want);
        }
    }

    #[test]
    fn families_carry_no_timestamps_and_the_batch_job_gauges() {
        let families = scope_families(&data());
        let names: Vec<_> = families.iter().map(|f| f.name().to_string()).collect();
        assert_eq!(
            names,
            [
                "copilot_exporter_collect_duration_seconds",
                "copilot_exporter_last_success_timestamp_seconds",
                "copilot_seats_total"
            ]
        );
        assert!(families
            .iter()
            .flat_map(|f| f.get_metric())
            .all(|m| m.timestamp_ms() == 0));
        assert!(!encode_protobuf(&families).unwrap().is_empty());
    }

    #[test]
    fn a_group_without_data_carries_only_health_and_self_metrics() {
        let mut health = SampleSet::new();
        health.set(
            SeriesKey::new(
                "copilot_exporter_collect_success",
                vec![("org".into(), "o".into())],
            ),
            0.0,
            "h",
        );
        let view = ScopeView {
            scope: Scope::org("o"),
            data: Some(Arc::new(data())),
            fresh: false,
            health,
        };
        let registry = prometheus::Registry::new();
        let c = prometheus::IntCounter::new("copilot_exporter_refreshes_total", "R.").unwrap();
        registry.register(Box::new(c)).unwrap();
        let own = registry.gather();
        let names = |fams: Vec<MetricFamily>| -> Vec<String> {
            fams.iter().map(|f| f.name().to_string()).collect()
        };
        assert_eq!(
            names(group_families(&view, &own, false)),
            [
                "copilot_exporter_collect_success",
                "copilot_exporter_refreshes_total"
            ]
        );
        for with_data in [false, true] {
            assert_eq!(
                group_body(&view, &own, with_data).unwrap(),
                encode_protobuf(&group_families(&view, &own, with_data)).unwrap()
            );
        }
        let full = group_families(&view, &own, true);
        assert_eq!(full.len(), 3);
        assert_eq!(
            full.iter()
                .find(|f| f.name() == "copilot_exporter_refreshes_total")
                .unwrap()
                .get_field_type(),
            prometheus::proto::MetricType::COUNTER,
            "self-metrics keep their type"
        );
    }
}
