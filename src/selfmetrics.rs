//! The exporter's own metrics (`copilot_exporter_*`), kept in a private
//! registry so they never mix with report data.
//!
//! Per-scope self-metrics (`{org|enterprise}` labels) are not here: their
//! label name differs by scope, so [`crate::sinks::exposition`] renders them from the
//! snapshot store.

use prometheus::{Gauge, GaugeVec, IntCounter, IntCounterVec, Opts, Registry};

/// Handles to every self-metric; cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct SelfMetrics {
    /// The registry all of these live in (sinks register theirs here too).
    pub registry: Registry,
    /// Requests to `/metrics` (the seed's name).
    pub requests: IntCounter,
    /// Failed GitHub calls by HTTP status or error kind (the seed's name).
    pub requests_failed: IntCounterVec,
    /// Calls to the GitHub API (report downloads not included).
    pub github_api_requests: IntCounter,
    /// Report file downloads from the signed-link host.
    pub report_downloads: IntCounter,
    /// Scrapes answered from the cached snapshot (every scrape is: a scrape
    /// never calls GitHub).
    pub cache_hits: IntCounter,
    /// Failed GitHub calls by classified reason.
    pub github_failures: IntCounterVec,
    /// Retries of failed GitHub calls, by reason.
    pub github_retries: IntCounterVec,
    /// Malformed NDJSON lines skipped, by report.
    pub invalid_report_lines: IntCounterVec,
    /// Series dropped because a report repeated a label set.
    pub duplicate_series: IntCounter,
    /// `x-ratelimit-remaining` of the last GitHub API answer.
    pub rate_limit_remaining: Gauge,
    /// `x-ratelimit-reset` of the last GitHub API answer (Unix seconds).
    pub rate_limit_reset: Gauge,
    /// Refreshes started, by result (`success`, `partial`, `failure`).
    pub refreshes: IntCounterVec,
    /// Build information.
    pub build_info: GaugeVec,
    /// Failures of optional collections (seats, teams, users, repositories)
    /// by feature and reason; they never fail the usage metrics.
    pub optional_failures: IntCounterVec,
    /// Users left out of per-user metrics by `USER_METRICS_MAX`.
    pub user_metrics_dropped: IntCounter,
    /// Days without joined series (teams) because an input report was
    /// missing, by join, missing report and reason.
    pub join_incomplete: IntCounterVec,
    rate_limit_registered: std::sync::Arc<std::sync::Once>,
}

impl SelfMetrics {
    /// Creates and registers every self-metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        // process_* (CPU, memory, file descriptors, start time), as every
        // Prometheus client library exports them. Linux only: elsewhere the
        // collector is absent and the series are missing, never zero.
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("unique metric");
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric name");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            register_counter_vec(&registry, name, help, labels).expect("valid, unique metric")
        };
        // Registered on first use (see `record_rate_limit`): a 0 before
        // GitHub ever answered would look like an exhausted limit.
        let gauge = |name: &str, help: &str| Gauge::new(name, help).expect("valid metric name");
        let build_info = GaugeVec::new(
            Opts::new(
                "copilot_exporter_build_info",
                "Build information of copilot-metrics-exporter (always 1).",
            ),
            &["version"],
        )
        .expect("valid metric name");
        registry
            .register(Box::new(build_info.clone()))
            .expect("unique metric");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1.0);

        let github_failures = counter_vec(
            "copilot_exporter_github_failures_total",
            "Failed GitHub calls by reason (bad_credentials, forbidden, policy_disabled, not_found, rate_limited, server_error, timeout, invalid_response, unreachable, client_error; report files: link_expired, download_failed, invalid_report).",
            &["reason"],
        );
        SelfMetrics {
            github_failures,
            requests: counter(
                "copilot_exporter_requests_total",
                "Requests to the /metrics endpoint.",
            ),
            requests_failed: counter_vec(
                "copilot_exporter_requests_failed_total",
                "Failed GitHub calls, by HTTP status or error kind (request_exception, timeout, invalid_response).",
                &["status_code"],
            ),
            github_api_requests: counter(
                "copilot_exporter_github_api_requests_total",
                "Requests sent to the GitHub API (report file downloads excluded).",
            ),
            report_downloads: counter(
                "copilot_exporter_report_downloads_total",
                "Report files downloaded from signed links.",
            ),
            cache_hits: counter(
                "copilot_exporter_cache_hits_total",
                "Scrapes answered from the snapshot built by the background refresh instead of calling GitHub.",
            ),
            github_retries: counter_vec(
                "copilot_exporter_github_retries_total",
                "Retries of failed GitHub calls, by reason (rate_limited, server_error, timeout, unreachable).",
                &["reason"],
            ),
            invalid_report_lines: counter_vec(
                "copilot_exporter_invalid_report_lines_total",
                "Malformed report lines skipped, by report.",
                &["report"],
            ),
            duplicate_series: counter(
                "copilot_exporter_duplicate_series_total",
                "Series dropped because a report repeated the same name and labels for one day (the first value is kept).",
            ),
            rate_limit_remaining: gauge(
                "copilot_exporter_github_rate_limit_remaining",
                "GitHub API requests left in the current rate-limit window (x-ratelimit-remaining of the last answer).",
            ),
            rate_limit_reset: gauge(
                "copilot_exporter_github_rate_limit_reset_timestamp_seconds",
                "When the GitHub rate-limit window resets (x-ratelimit-reset of the last answer, Unix seconds).",
            ),
            refreshes: counter_vec(
                "copilot_exporter_refreshes_total",
                "Refresh rounds by result: success (every scope), partial, failure (no scope).",
                &["result"],
            ),
            optional_failures: counter_vec(
                "copilot_exporter_optional_collection_failures_total",
                "Failures of optional collections (feature: seats, teams, user_metrics, repo_metrics) by reason; the usage metrics are still published.",
                &["feature", "reason"],
            ),
            user_metrics_dropped: counter(
                "copilot_exporter_user_metrics_dropped_total",
                "Users left out of copilot_user_* series because USER_METRICS_MAX was reached.",
            ),
            join_incomplete: counter_vec(
                "copilot_exporter_join_incomplete_total",
                "Days without joined series (join: teams) because an input report (missing) was not read completely; reason: no_report (204) or the failure kind.",
                &["join", "missing", "reason"],
            ),
            build_info,
            registry,
            rate_limit_registered: std::sync::Arc::new(std::sync::Once::new()),
        }
    }

    /// Records GitHub's rate-limit headers, registering the gauges the first
    /// time.
    pub fn record_rate_limit(&self, remaining: Option<u64>, reset: Option<u64>) {
        if remaining.is_none() && reset.is_none() {
            return;
        }
        self.rate_limit_registered.call_once(|| {
            let _ = self
                .registry
                .register(Box::new(self.rate_limit_remaining.clone()));
            let _ = self
                .registry
                .register(Box::new(self.rate_limit_reset.clone()));
        });
        if let Some(v) = remaining {
            self.rate_limit_remaining.set(v as f64);
        }
        if let Some(v) = reset {
            self.rate_limit_reset.set(v as f64);
        }
    }
}

/// A counter family `name{labels…}`, registered in `registry`.
pub fn register_counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, prometheus::Error> {
    let counters = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(counters.clone()))?;
    Ok(counters)
}

impl Default for SelfMetrics {
    fn default() -> Self {
        Self::new()
    }
}
