//! From the metric model to Prometheus metric families: text exposition for
//! `/metrics` and `--once`, and the families the Pushgateway sink encodes.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::SystemTime;

use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};

use crate::model::scope::Scope;
use crate::model::snapshot::{ScopeState, Store};
use crate::model::{Labels, SampleSet, ScopeData};

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

pub use crate::sinks::view::unix_seconds;

/// Per-scope self-metrics, from the store ([`crate::sinks::view::scope_health`]).
pub fn add_scope_health(builder: &mut FamilyBuilder, states: &[(Scope, ScopeState)]) {
    for (scope, state) in states {
        builder.samples(&crate::sinks::view::scope_health(scope, state));
    }
}

/// Per-scope delivery gauges of the push sinks:
/// `copilot_exporter_<sink>_last_success_timestamp_seconds{org|enterprise}`.
pub fn add_sink_health(
    builder: &mut FamilyBuilder,
    successes: &[(&'static str, Scope, SystemTime)],
) {
    builder.samples(&crate::sinks::view::sink_health(successes));
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

/// Exactly `encode_text(&gather_all(store, registry))`, written straight
/// from the store's sample sets: the data families (possibly hundreds of
/// thousands of series) are never copied into protobuf messages, which
/// cost about half a kilobyte a series; only the per-scope health gauges
/// and the registry's self-metrics go through the Prometheus encoder.
pub fn render_text(store: &Store, registry: &prometheus::Registry) -> Vec<u8> {
    const DEFAULT_HELP: &str = "GitHub Copilot usage metric.";
    let states = store.view();
    let states = &states[..];
    // Health gauges first, owned, so that the family map can borrow them.
    let mut health = FamilyBuilder::new();
    add_scope_health(&mut health, states);
    add_sink_health(&mut health, &store.sink_successes());
    let health: Vec<(String, String, Labels, f64)> = health
        .build()
        .into_iter()
        .flat_map(|family| {
            let name = family.name().to_string();
            let help = family.help().to_string();
            family
                .metric
                .into_iter()
                .map(|m| {
                    let labels = m
                        .get_label()
                        .iter()
                        .map(|l| (l.name().to_string(), l.value().to_string()))
                        .collect();
                    (name.clone(), help.clone(), labels, m.get_gauge().value())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    // Name → (help, samples), in the order `FamilyBuilder` would add them.
    type Families<'a> = BTreeMap<&'a str, (&'a str, Vec<(&'a Labels, f64)>)>;
    let mut data: Families<'_> = BTreeMap::new();
    fn add_set<'a>(data: &mut Families<'a>, set: &'a SampleSet) {
        for (key, value) in set.iter() {
            let entry = data
                .entry(key.name.as_str())
                .or_insert_with(|| (set.help(&key.name).unwrap_or(DEFAULT_HELP), Vec::new()));
            entry.1.push((&key.labels, value));
        }
    }
    for (_, state) in states {
        if let Some(d) = &state.data {
            if let Some((_, set)) = d.newest_day() {
                add_set(&mut data, set);
            }
            add_set(&mut data, &d.current);
        }
    }
    for (name, help, labels, value) in &health {
        data.entry(name.as_str())
            .or_insert_with(|| (help.as_str(), Vec::new()))
            .1
            .push((labels, *value));
    }
    // Families sorted by name, stably: data before the registry's.
    enum Family<'a> {
        Data(&'a str, &'a str, &'a [(&'a Labels, f64)]),
        Registry(&'a MetricFamily),
    }
    let registry_families = registry.gather();
    let mut families: Vec<Family<'_>> = data
        .iter()
        .map(|(name, (help, samples))| Family::Data(name, help, samples))
        .chain(registry_families.iter().map(Family::Registry))
        .collect();
    let name_of = |f: &Family<'_>| match f {
        Family::Data(name, _, _) => name.to_string(),
        Family::Registry(mf) => mf.name().to_string(),
    };
    families.sort_by_key(|f| name_of(f));
    let mut out =
        Vec::with_capacity(data.values().map(|(_, s)| s.len() * 96).sum::<usize>() + 64 * 1024);
    for family in families {
        match family {
            Family::Registry(mf) => {
                let _ = TextEncoder::new().encode(std::slice::from_ref(mf), &mut out);
            }
            Family::Data(name, help, samples) => {
                if !help.is_empty() {
                    out.extend_from_slice(b"# HELP ");
                    out.extend_from_slice(name.as_bytes());
                    out.push(b' ');
                    escape_into(&mut out, help, false);
                    out.push(b'\n');
                }
                out.extend_from_slice(b"# TYPE ");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b" gauge\n");
                for (labels, value) in samples {
                    out.extend_from_slice(name.as_bytes());
                    let mut separator = b'{';
                    for (n, v) in labels.iter().filter(|(_, v)| !v.is_empty()) {
                        out.push(separator);
                        out.extend_from_slice(n.as_bytes());
                        out.extend_from_slice(b"=\"");
                        escape_into(&mut out, v, true);
                        out.push(b'"');
                        separator = b',';
                    }
                    if separator == b',' {
                        out.push(b'}');
                    }
                    out.push(b' ');
                    let _ = write!(out, "{value}");
                    out.push(b'\n');
                }
            }
        }
    }
    out
}

/// The text format's escaping: `\\` and newline, and `"` in label values.
fn escape_into(out: &mut Vec<u8>, text: &str, quote: bool) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if quote => out.extend_from_slice(b"\\\""),
            _ => out.push(b),
        }
    }
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

#[cfg(test)]
mod render_tests {
    use std::time::Duration;

    use super::*;
    use crate::model::SeriesKey;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn direct_text_equals_the_prometheus_encoder() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 7).unwrap();
        let scopes = [
            Scope::org("octo"),
            Scope::enterprise("ent"),
            Scope::org("empty"),
        ];
        let store = Store::new(&scopes);
        for (i, scope) in scopes.iter().take(2).enumerate() {
            let mut data = ScopeData::new(scope.clone());
            let mut set = SampleSet::new();
            set.insert(
                SeriesKey::new(
                    "copilot_a",
                    labels(&[("org", "octo"), ("ide", "v\"s\\c\nx")]),
                ),
                1.5 + i as f64,
                "help with \\ and\nnewline and \"quote\"",
            );
            set.insert(SeriesKey::new("copilot_b", vec![]), -0.0, "");
            set.insert(
                SeriesKey::new("copilot_exporter_collect_success", labels(&[("x", "y")])),
                1e300,
                "clash with a health name",
            );
            set.insert(
                SeriesKey::new("copilot_c", labels(&[("a", ""), ("b", "ü")])),
                f64::NAN,
                "h",
            );
            data.days.insert(day, set);
            data.current.insert(
                SeriesKey::new("copilot_a", labels(&[("org", "octo"), ("seat", "s")])),
                3.0,
                "other help",
            );
            data.duration = Duration::from_millis(1234);
            store.record_success(data);
            if i == 1 {
                store.record_failure(scope, "down".into(), Duration::from_millis(5));
            }
        }
        store.record_sink_success(
            "pushgateway",
            &scopes[0],
            std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        );
        let registry = prometheus::Registry::new();
        let counter = prometheus::IntCounterVec::new(
            prometheus::Opts::new("copilot_exporter_things_total", "Things."),
            &["kind"],
        )
        .unwrap();
        counter.with_label_values(&["a"]).inc();
        registry.register(Box::new(counter)).unwrap();
        let histogram = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(
            "copilot_b",
            "Same name as a data family.",
        ))
        .unwrap();
        histogram.observe(0.3);
        registry.register(Box::new(histogram)).unwrap();
        let direct = String::from_utf8(render_text(&store, &registry)).unwrap();
        let proto = encode_text(&gather_all(&store, &registry));
        assert_eq!(direct, proto);
        assert!(direct.contains("copilot_exporter_things_total"));
    }
}
