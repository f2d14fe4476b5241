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
        self.gauge_labels(
            name,
            help,
            labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            value,
        );
    }

    fn gauge_labels<'l>(
        &mut self,
        name: &str,
        help: &str,
        labels: impl Iterator<Item = (&'l str, &'l str)>,
        value: f64,
    ) {
        let entry = match self.families.get_mut(name) {
            Some(entry) => entry,
            None => self
                .families
                .entry(name.to_string())
                .or_insert_with(|| (help.to_string(), Vec::new())),
        };
        entry.1.push(gauge_metric(labels, value));
    }

    /// Adds every series of a set.
    pub fn samples(&mut self, set: &SampleSet) {
        for (key, value) in set.iter() {
            let help = key.help().unwrap_or("GitHub Copilot usage metric.");
            self.gauge_labels(key.name(), help, key.labels(), value);
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

fn gauge_metric<'l>(labels: impl Iterator<Item = (&'l str, &'l str)>, value: f64) -> Metric {
    let mut gauge = Gauge::default();
    gauge.set_value(value);
    let mut metric = Metric::from_gauge(gauge);
    metric.set_label(
        labels
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| {
                let mut pair = LabelPair::default();
                pair.set_name(n.to_string());
                pair.set_value(v.to_string());
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

/// Help text of a data family whose set has none.
const DEFAULT_HELP: &str = "GitHub Copilot usage metric.";

/// The samples of one family: runs of series (a name's positions in one
/// set's order), in the order the sets were given.
pub type SampleRuns<'a> = Vec<(&'a SampleSet, std::ops::Range<usize>)>;

/// The families of `sets` as [`FamilyBuilder::samples`] would build them,
/// but borrowed: name → (help, runs of samples). A family's help is the
/// first set's that has the name; its samples come set after set, each
/// set's in its order.
pub fn data_families<'a>(sets: &[&'a SampleSet]) -> BTreeMap<&'a str, (&'a str, SampleRuns<'a>)> {
    let mut data: BTreeMap<&str, (&str, SampleRuns<'_>)> = BTreeMap::new();
    for set in sets {
        for (name, range) in set.name_runs() {
            data.entry(name)
                .or_insert_with(|| (set.help(name).unwrap_or(DEFAULT_HELP), Vec::new()))
                .1
                .push((*set, range));
        }
    }
    data
}

/// Exactly `encode_text(&gather_all(store, registry))`, as bytes
/// ([`write_text`] into a buffer).
pub fn render_text(store: &Store, registry: &prometheus::Registry) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_text(store, registry, &mut out);
    out
}

/// Writes exactly `encode_text(&gather_all(store, registry))` to `out`,
/// straight from the store's interned sample sets: no series is copied
/// into a protobuf message or an owned label, and the text is streamed
/// (`--once` writes it to a buffered stdout), so the memory it takes does
/// not grow with the number of series. Only the registry's self-metrics go
/// through the Prometheus encoder.
pub fn write_text(
    store: &Store,
    registry: &prometheus::Registry,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    TextSnapshot::take(store, registry).write(out)
}

/// What one exposition shows, taken at one instant: every scope's state
/// (its data shared through `Arc`s, never copied), the sink deliveries and
/// the registry's self-metrics. Writing it later (on another thread, to a
/// slow client) shows exactly this instant, however many refreshes land
/// meanwhile; it keeps the data it shares alive until it is dropped.
pub struct TextSnapshot {
    states: Vec<(Scope, ScopeState)>,
    sink_successes: Vec<(&'static str, Scope, SystemTime)>,
    registry_families: Vec<MetricFamily>,
}

impl TextSnapshot {
    /// Takes the store's current state and gathers the registry.
    pub fn take(store: &Store, registry: &prometheus::Registry) -> Self {
        TextSnapshot {
            states: store.view(),
            sink_successes: store.sink_successes(),
            registry_families: registry.gather(),
        }
    }

    /// Writes the text exposition of this snapshot to `out`
    /// ([`write_text`]); fails with the first error of `out`.
    pub fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_snapshot(self, out)
    }
}

fn write_snapshot(snapshot: &TextSnapshot, out: &mut dyn Write) -> std::io::Result<()> {
    let states = &snapshot.states[..];
    // Every set in the order `gather_all` adds its samples: data of each
    // scope (newest day, then current values), then the health gauges.
    let mut health: Vec<SampleSet> = states
        .iter()
        .map(|(scope, state)| crate::sinks::view::scope_health(scope, state))
        .collect();
    health.push(crate::sinks::view::sink_health(&snapshot.sink_successes));
    let mut sets: Vec<&SampleSet> = Vec::new();
    for (_, state) in states {
        if let Some(d) = &state.data {
            if let Some((_, set)) = d.newest_day() {
                sets.push(set);
            }
            sets.push(&d.current);
        }
    }
    sets.extend(health.iter());
    let data = data_families(&sets);
    // Families sorted by name, stably: data before the registry's.
    enum Family<'a> {
        Data(&'a str, &'a str, &'a SampleRuns<'a>),
        Registry(&'a MetricFamily),
    }
    let registry_families = &snapshot.registry_families;
    let mut families: Vec<Family<'_>> = data
        .iter()
        .map(|(name, (help, runs))| Family::Data(name, help, runs))
        .chain(registry_families.iter().map(Family::Registry))
        .collect();
    let name_of = |f: &Family<'_>| -> String {
        match f {
            Family::Data(name, _, _) => name.to_string(),
            Family::Registry(mf) => mf.name().to_string(),
        }
    };
    families.sort_by_cached_key(name_of);
    let mut line = Vec::with_capacity(256);
    for family in families {
        match family {
            Family::Registry(mf) => {
                let mut buf = Vec::new();
                let _ = TextEncoder::new().encode(std::slice::from_ref(mf), &mut buf);
                out.write_all(&buf)?;
            }
            Family::Data(name, help, runs) => {
                line.clear();
                if !help.is_empty() {
                    line.extend_from_slice(b"# HELP ");
                    line.extend_from_slice(name.as_bytes());
                    line.push(b' ');
                    escape_into(&mut line, help, false);
                    line.push(b'\n');
                }
                line.extend_from_slice(b"# TYPE ");
                line.extend_from_slice(name.as_bytes());
                line.extend_from_slice(b" gauge\n");
                out.write_all(&line)?;
                for (set, range) in runs {
                    for (key, value) in set.iter_range(range.clone()) {
                        line.clear();
                        line.extend_from_slice(name.as_bytes());
                        let mut separator = b'{';
                        for (n, v) in key.labels() {
                            line.push(separator);
                            line.extend_from_slice(n.as_bytes());
                            line.extend_from_slice(b"=\"");
                            escape_into(&mut line, v, true);
                            line.push(b'"');
                            separator = b',';
                        }
                        if separator == b',' {
                            line.push(b'}');
                        }
                        line.push(b' ');
                        let _ = write!(line, "{value}");
                        line.push(b'\n');
                        out.write_all(&line)?;
                    }
                }
            }
        }
    }
    Ok(())
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
