//! From the metric model to Prometheus metric families: text exposition for
//! `/metrics` and `--once`, and the families the Pushgateway sink encodes.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};

use crate::model::{Labels, SampleSet, ScopeData};
use crate::scope::Scope;
use crate::snapshot::{ScopeState, Store};

/// `Content-Type` of the text exposition format 0.0.4.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Collects gauges by metric name so every family is emitted once, however
/// many scopes contribute to it.
#[derive(Default)]
pub struct FamilyBuilder {
    families: BTreeMap<String, (String, Vec<Metric>)>,
}

impl FamilyBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &Labels, value: f64) {
        let entry = self
            .families
            .entry(name.to_string())
            .or_insert_with(|| (help.to_string(), Vec::new()));
        entry.1.push(gauge_metric(labels, value));
    }

    /// Adds every series of a set.
    pub fn samples(&mut self, set: &SampleSet) {
        for (key, value) in set.iter() {
            let help = set
                .help(&key.name)
                .unwrap_or("GitHub Copilot usage metric.");
            self.gauge(&key.name, help, &key.labels, value);
        }
    }

    /// Adds one gauge per scope, labelled `org` or `enterprise`.
    pub fn per_scope<'a>(
        &mut self,
        name: &str,
        help: &str,
        values: impl IntoIterator<Item = (&'a Scope, f64)>,
    ) {
        for (scope, value) in values {
            self.gauge(name, help, &vec![scope.label()], value);
        }
    }

    /// The families, sorted by name.
    pub fn build(self) -> Vec<MetricFamily> {
        self.families
            .into_iter()
            .map(|(name, (help, metrics))| {
                let mut family = MetricFamily::default();
                family.set_name(name);
                family.set_help(help);
                family.set_field_type(MetricType::GAUGE);
                family.metric = metrics;
                family
            })
            .collect()
    }
}

fn gauge_metric(labels: &Labels, value: f64) -> Metric {
    let mut gauge = Gauge::default();
    gauge.set_value(value);
    let mut metric = Metric::from_gauge(gauge);
    metric.set_label(
        labels
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| {
                let mut pair = LabelPair::default();
                pair.set_name(n.clone());
                pair.set_value(v.clone());
                pair
            })
            .collect(),
    );
    metric
}

/// The data a scope publishes now: its newest report day plus its current
/// (day-less) values.
pub fn add_scope_data(builder: &mut FamilyBuilder, data: &ScopeData) {
    if let Some((_, set)) = data.newest_day() {
        builder.samples(set);
    }
    builder.samples(&data.current);
}

/// Unix seconds of a time, as a float.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Per-scope self-metrics, from the store.
pub fn add_scope_health(builder: &mut FamilyBuilder, states: &[(Scope, ScopeState)]) {
    builder.per_scope(
        "copilot_exporter_last_success_timestamp_seconds",
        "When the last successful collection of this scope finished (Unix seconds).",
        states
            .iter()
            .filter_map(|(s, st)| st.last_success.map(|t| (s, unix_seconds(t)))),
    );
    builder.per_scope(
        "copilot_exporter_collect_duration_seconds",
        "Duration of the last collection attempt of this scope.",
        states
            .iter()
            .filter_map(|(s, st)| st.last_duration.map(|d| (s, d.as_secs_f64()))),
    );
    builder.per_scope(
        "copilot_exporter_collect_success",
        "1 if the last collection of this scope succeeded, 0 if it failed (its last good data is still served).",
        states
            .iter()
            .filter_map(|(s, st)| st.last_ok.map(|ok| (s, if ok { 1.0 } else { 0.0 }))),
    );
}

/// Per-scope delivery gauges of the push sinks:
/// `copilot_exporter_<sink>_last_success_timestamp_seconds{org|enterprise}`.
pub fn add_sink_health(
    builder: &mut FamilyBuilder,
    successes: &[(&'static str, Scope, SystemTime)],
) {
    for (sink, scope, at) in successes {
        builder.gauge(
            &format!("copilot_exporter_{sink}_last_success_timestamp_seconds"),
            "When this scope's data was last delivered by the sink (Unix seconds).",
            &vec![scope.label()],
            unix_seconds(*at),
        );
    }
}

/// Everything `/metrics` and `--once` show: every scope's data, per-scope
/// health, and the registry's self-metrics.
pub fn gather_all(store: &Store, registry: &prometheus::Registry) -> Vec<MetricFamily> {
    let states = store.view();
    let states = &states[..];
    let mut builder = FamilyBuilder::new();
    for (_, state) in states {
        if let Some(data) = &state.data {
            add_scope_data(&mut builder, data);
        }
    }
    add_scope_health(&mut builder, states);
    add_sink_health(&mut builder, &store.sink_successes());
    let mut families = builder.build();
    families.extend(registry.gather());
    families.sort_by(|a, b| a.name().cmp(b.name()));
    families
}

/// Encodes families in the text format 0.0.4.
pub fn encode_text(families: &[MetricFamily]) -> String {
    let mut buf = Vec::new();
    // The encoder fails only on families without samples, which gather()
    // and FamilyBuilder never produce; fall back to the families that encode.
    if TextEncoder::new().encode(families, &mut buf).is_err() {
        buf.clear();
        for family in families {
            let _ = TextEncoder::new().encode(std::slice::from_ref(family), &mut buf);
        }
    }
    String::from_utf8(buf).unwrap_or_default()
}
