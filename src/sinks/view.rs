//! What the push sinks see of a refresh round: every scope's last good data
//! (fresh or kept from an earlier round), its health, and the exporter's
//! own metrics, so that every sink carries the series alerts need
//! (`copilot_exporter_collect_success`, `…_last_success_timestamp_seconds`,
//! refresh results, GitHub failures by reason, sink results, `build_info`)
//! in every mode, also when a scope failed.

use std::sync::Arc;
use std::time::SystemTime;

use prometheus::proto::{MetricFamily, MetricType};

use crate::model::scope::Scope;
use crate::model::snapshot::{ScopeState, Store};
use crate::model::{SampleSet, ScopeData, SeriesKey};

/// Unix seconds of a time, as a float (0 before the epoch).
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The per-scope health gauges of one scope (labelled `org` or
/// `enterprise`): last success, duration and outcome of the last
/// collection, and the series per metric family of its last good data
/// ([`SERIES_METRIC`]). A value never known (no success yet) is absent,
/// never 0.
pub fn scope_health(scope: &Scope, state: &ScopeState) -> SampleSet {
    let mut set = SampleSet::new();
    let key = |name: &str| SeriesKey::new(name, vec![scope.label()]);
    if let Some(t) = state.last_success {
        set.set(
            key("copilot_exporter_last_success_timestamp_seconds"),
            unix_seconds(t),
            "When the last successful collection of this scope finished (Unix seconds).",
        );
    }
    if let Some(d) = state.last_duration {
        set.set(
            key("copilot_exporter_collect_duration_seconds"),
            d.as_secs_f64(),
            "Duration of the last collection attempt of this scope.",
        );
    }
    if let Some(ok) = state.last_ok {
        set.set(
            key("copilot_exporter_collect_success"),
            if ok { 1.0 } else { 0.0 },
            "1 if the last collection of this scope succeeded, 0 if it failed (its last good data is still served).",
        );
    }
    for (metric, n) in state.series_per_metric.iter() {
        let labels = vec![("metric".to_string(), metric.clone()), scope.label()];
        set.set(
            SeriesKey::new(SERIES_METRIC, labels),
            *n as f64,
            "Series of each exported metric family of this scope (newest report day and current values, after METRICS_INCLUDE/METRICS_EXCLUDE and the breakdown switches).",
        );
    }
    set
}

/// Name of the self-metric with the number of series per metric family
/// and scope (`metric`, `org` or `enterprise` labels).
pub const SERIES_METRIC: &str = "copilot_exporter_series";

/// Per-scope delivery gauges of the push sinks:
/// `copilot_exporter_<sink>_last_success_timestamp_seconds{org|enterprise}`.
pub fn sink_health(successes: &[(&'static str, Scope, SystemTime)]) -> SampleSet {
    let mut set = SampleSet::new();
    for (sink, scope, at) in successes {
        set.set(
            SeriesKey::new(
                format!("copilot_exporter_{sink}_last_success_timestamp_seconds"),
                vec![scope.label()],
            ),
            unix_seconds(*at),
            "When this scope's data was last delivered by the sink (Unix seconds).",
        );
    }
    set
}

/// Counters and gauges of the registry (the exporter's self-metrics) as
/// samples; histograms and summaries as their `_bucket`/`_sum`/`_count`
/// and quantile series.
pub fn registry_samples(families: &[MetricFamily]) -> SampleSet {
    let mut set = SampleSet::new();
    for family in families {
        let name = family.name();
        let help = family.help();
        for metric in &family.metric {
            let labels: Vec<(String, String)> = metric
                .get_label()
                .iter()
                .map(|l| (l.name().to_string(), l.value().to_string()))
                .collect();
            let mut add = |suffix: &str, extra: Option<(&str, String)>, value: f64| {
                let mut labels = labels.clone();
                labels.extend(extra.map(|(n, v)| (n.to_string(), v)));
                set.set(
                    SeriesKey::new(format!("{name}{suffix}"), labels),
                    value,
                    help,
                );
            };
            match family.get_field_type() {
                MetricType::COUNTER => add("", None, metric.get_counter().value()),
                MetricType::GAUGE => add("", None, metric.get_gauge().value()),
                MetricType::UNTYPED => add("", None, metric.untyped.value()),
                MetricType::HISTOGRAM => {
                    let h = metric.get_histogram();
                    for b in h.get_bucket() {
                        let le = b.upper_bound().to_string();
                        add("_bucket", Some(("le", le)), b.cumulative_count() as f64);
                    }
                    add(
                        "_bucket",
                        Some(("le", "+Inf".into())),
                        h.get_sample_count() as f64,
                    );
                    add("_sum", None, h.get_sample_sum());
                    add("_count", None, h.get_sample_count() as f64);
                }
                MetricType::SUMMARY => {
                    let s = metric.get_summary();
                    for q in s.get_quantile() {
                        add("", Some(("quantile", q.quantile().to_string())), q.value());
                    }
                    add("_sum", None, s.sample_sum());
                    add("_count", None, s.sample_count() as f64);
                }
            }
        }
    }
    set
}

/// One scope as the push sinks see it.
#[derive(Clone, Debug)]
pub struct ScopeView {
    /// The scope.
    pub scope: Scope,
    /// Its last good data: this round's when it was collected now, else
    /// the last good one of this process (`None` when there is none).
    pub data: Option<Arc<ScopeData>>,
    /// True when the data was collected in this round.
    pub fresh: bool,
    /// Its health gauges ([`scope_health`] plus the sinks' last-delivery
    /// gauges), labelled with the scope.
    pub health: SampleSet,
}

/// What the push sinks publish after a round.
#[derive(Clone, Debug)]
pub struct Publication {
    /// Every configured scope, in the store's order.
    pub scopes: Vec<ScopeView>,
    /// The exporter's self-metrics without a scope label (build info,
    /// refreshes, GitHub failures by reason, sink results so far, …), as
    /// Prometheus families (types kept, for the Pushgateway) …
    pub families: Vec<MetricFamily>,
    /// … and as samples (for remote-write).
    pub health: SampleSet,
    /// When the round is published (the `now` timestamp).
    pub now: SystemTime,
}

impl Publication {
    /// A round of freshly collected `data` only: no health, no
    /// self-metrics (for callers without a store, e.g. tests of a sink).
    pub fn of_data(data: &[Arc<ScopeData>], now: SystemTime) -> Publication {
        Publication {
            scopes: data
                .iter()
                .map(|d| ScopeView {
                    scope: d.scope.clone(),
                    data: Some(d.clone()),
                    fresh: true,
                    health: SampleSet::new(),
                })
                .collect(),
            families: Vec::new(),
            health: SampleSet::new(),
            now,
        }
    }

    /// The view of every scope in `store` after a round whose freshly
    /// collected scopes are `fresh`, with the self-metrics of `registry`.
    pub fn build(
        store: &Store,
        registry: &prometheus::Registry,
        fresh: &[Arc<ScopeData>],
        now: SystemTime,
    ) -> Publication {
        let sinks = store.sink_successes();
        let scopes = store
            .view()
            .into_iter()
            .map(|(scope, state)| {
                let mut health = scope_health(&scope, &state);
                let own: Vec<_> = sinks.iter().filter(|s| s.1 == scope).cloned().collect();
                health.absorb(sink_health(&own));
                let fresh_data = fresh.iter().find(|d| d.scope == scope).cloned();
                ScopeView {
                    fresh: fresh_data.is_some(),
                    data: fresh_data.or(state.data),
                    health,
                    scope,
                }
            })
            .collect();
        let families = registry.gather();
        Publication {
            health: registry_samples(&families),
            families,
            scopes,
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `copilot_exporter_series{metric, scope}` counts the series of the
    /// newest day and the current values of the last good data, and stays
    /// when a later collection fails.
    #[test]
    fn series_per_metric_family_and_scope() {
        let scope = Scope::enterprise("e");
        let store = Store::new(std::slice::from_ref(&scope));
        let mut data = ScopeData::new(scope.clone());
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 5, d).unwrap();
        let key = |name: &str, i: usize| {
            SeriesKey::new(name, vec![scope.label(), ("i".into(), i.to_string())])
        };
        let mut newest = SampleSet::new();
        for i in 0..3 {
            newest.insert(key("copilot_a", i), 1.0, "h");
        }
        newest.insert(key("copilot_b", 0), 1.0, "h");
        let mut older = SampleSet::new();
        for i in 0..5 {
            older.insert(key("copilot_old", i), 1.0, "h");
        }
        data.days.insert(day(7), newest);
        data.days.insert(day(6), older);
        data.current.insert(key("copilot_seats", 0), 1.0, "h");
        data.current.insert(key("copilot_b", 9), 1.0, "h");
        store.record_success(data);
        store.record_failure(&scope, "down".into(), Duration::from_secs(1));
        let registry = prometheus::Registry::new();
        let p = Publication::build(&store, &registry, &[], SystemTime::now());
        let health = &p.scopes[0].health;
        let count = |m: &str| health.value(SERIES_METRIC, &[("metric", m), ("enterprise", "e")]);
        assert_eq!(count("copilot_a"), Some(3.0));
        assert_eq!(count("copilot_b"), Some(2.0));
        assert_eq!(count("copilot_seats"), Some(1.0));
        assert_eq!(count("copilot_old"), None, "older days are not published");
        assert_eq!(
            health
                .iter()
                .filter(|(k, _)| k.name() == SERIES_METRIC)
                .count(),
            3
        );
    }

    #[test]
    fn failed_scopes_keep_their_last_good_data_and_say_so() {
        let (a, b, c) = (Scope::org("a"), Scope::enterprise("b"), Scope::org("c"));
        let store = Store::new(&[a.clone(), b.clone(), c.clone()]);
        let old = store.record_success(ScopeData::new(b.clone()));
        store.record_failure(&b, "down".into(), Duration::from_secs(2));
        let fresh = store.record_success(ScopeData::new(a.clone()));
        store.record_sink_success("pushgateway", &a, SystemTime::UNIX_EPOCH);
        let registry = prometheus::Registry::new();
        let counter = prometheus::IntCounterVec::new(
            prometheus::Opts::new("copilot_exporter_x_total", "X."),
            &["reason"],
        )
        .unwrap();
        counter.with_label_values(&["timeout"]).inc_by(3);
        registry.register(Box::new(counter)).unwrap();
        let h = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new("h", "H.").buckets(vec![1.0]),
        )
        .unwrap();
        h.observe(0.5);
        registry.register(Box::new(h)).unwrap();

        let p = Publication::build(&store, &registry, &[fresh], SystemTime::now());
        let view = |s: &Scope| p.scopes.iter().find(|v| v.scope == *s).unwrap();
        assert!(view(&a).fresh);
        assert!(!view(&b).fresh);
        assert!(Arc::ptr_eq(view(&b).data.as_ref().unwrap(), &old));
        assert!(view(&c).data.is_none());
        let success = |s: &Scope| {
            view(s).health.value(
                "copilot_exporter_collect_success",
                &[(s.label_name(), &s.name)],
            )
        };
        assert_eq!(success(&a), Some(1.0));
        assert_eq!(success(&b), Some(0.0));
        assert_eq!(success(&c), None, "never attempted: unknown, not 0");
        assert!(view(&b)
            .health
            .value(
                "copilot_exporter_last_success_timestamp_seconds",
                &[("enterprise", "b")]
            )
            .is_some());
        assert_eq!(
            view(&a).health.value(
                "copilot_exporter_pushgateway_last_success_timestamp_seconds",
                &[("org", "a")]
            ),
            Some(0.0)
        );
        assert_eq!(
            p.health
                .value("copilot_exporter_x_total", &[("reason", "timeout")]),
            Some(3.0)
        );
        assert_eq!(p.health.value("h_bucket", &[("le", "1")]), Some(1.0));
        assert_eq!(p.health.value("h_bucket", &[("le", "+Inf")]), Some(1.0));
        assert_eq!(p.health.value("h_count", &[]), Some(1.0));
    }
}
