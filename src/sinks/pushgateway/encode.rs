//! Pure encoding of a scope's group: metric families without timestamps
//! (the Pushgateway rejects them), as delimited protobuf.

use prometheus::proto::MetricFamily;
use prometheus::{Encoder, ProtobufEncoder};

use crate::model::snapshot::ScopeState;
use crate::model::ScopeData;
use crate::sinks::exposition::{add_scope_data, FamilyBuilder};
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
