//! Prometheus remote-write 1.0 sink (protobuf + snappy block over HTTP).
//!
//! Layout, after Vector's sinks: [`config`] (arguments → validated
//! settings), [`encode`] (pure: model → `WriteRequest` → bytes),
//! [`transport`] (headers, auth, reqwest, retry), [`state`] (per-scope
//! high-water marks of `report-day` mode), and [`RemoteWriteSink`] here,
//! which decides what to send when.
//!
//! Two timestamp modes (see `docs/remote-write.md`):
//! * `now`: each scope's newest report day plus the current values, stamped
//!   at publish time; series that disappear get a stale marker.
//! * `report-day`: every settled day once, stamped at 12:00:00 UTC of that
//!   day, one day per request (or a few capped requests), oldest first; the
//!   current values (seats) are still stamped at publish time.

pub mod config;
pub mod encode;
pub mod state;
pub mod transport;

/// Types generated from `proto/remote.proto` (package `prometheus`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
}

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use chrono::{DateTime, Days, NaiveDate, Utc};
use prometheus::{IntCounterVec, Opts, Registry};

pub use config::{
    Auth, RemoteWriteArgs, RemoteWriteConfig, RetryPolicy, Secret, SecretSource, TimestampMode,
};
pub use encode::{Batch, LabelSet};
pub use state::{StateError, StateStore};
pub use transport::{SendError, Transport};

use crate::model::scope::Scope;
use crate::model::{day_start_unix, ScopeData};
use transport::{AttemptObserver, ResolvedAuth};

/// Seconds after 00:00 UTC at which `report-day` samples are stamped:
/// 12:00:00 UTC, the middle of the day (see `docs/remote-write.md`).
pub const REPORT_DAY_STAMP_SECONDS: i64 = 12 * 3600;

/// The timestamp (ms) `report-day` mode gives the samples of `day`.
pub fn report_day_timestamp_ms(day: NaiveDate) -> i64 {
    (day_start_unix(day) + REPORT_DAY_STAMP_SECONDS) * 1000
}

/// Result values of the self-metrics.
const RESULTS: [&str; 4] = ["sent", "retried", "rejected", "failed"];

/// What one publish did for one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeSummary {
    /// The scope.
    pub scope: Scope,
    /// Requests accepted (2xx).
    pub requests_sent: u64,
    /// Samples accepted.
    pub samples_sent: u64,
    /// Samples refused with a non-retryable status (dropped).
    pub samples_rejected: u64,
    /// Samples not delivered before the retry deadline (sent again later in
    /// `report-day` mode, since the mark did not move).
    pub samples_failed: u64,
    /// Stale markers sent for series that disappeared (`now`-stamped part).
    pub stale_markers: u64,
    /// Series skipped because of invalid metric or label names.
    pub series_skipped: u64,
    /// `report-day`: days accepted, oldest first.
    pub days_sent: Vec<NaiveDate>,
    /// `report-day`: days rejected by the receiver and skipped.
    pub days_rejected: Vec<NaiveDate>,
}

impl ScopeSummary {
    /// An empty summary for `scope`.
    pub fn new(scope: Scope) -> Self {
        ScopeSummary {
            scope,
            requests_sent: 0,
            samples_sent: 0,
            samples_rejected: 0,
            samples_failed: 0,
            stale_markers: 0,
            series_skipped: 0,
            days_sent: Vec::new(),
            days_rejected: Vec::new(),
        }
    }
}

/// What one publish did, per scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishSummary {
    /// One entry per scope, in the order given.
    pub scopes: Vec<ScopeSummary>,
}

impl PublishSummary {
    /// Samples accepted over all scopes.
    pub fn samples_sent(&self) -> u64 {
        self.scopes.iter().map(|s| s.samples_sent).sum()
    }

    /// Samples rejected over all scopes.
    pub fn samples_rejected(&self) -> u64 {
        self.scopes.iter().map(|s| s.samples_rejected).sum()
    }

    /// Samples that failed over all scopes.
    pub fn samples_failed(&self) -> u64 {
        self.scopes.iter().map(|s| s.samples_failed).sum()
    }

    /// The summary of one scope.
    pub fn scope(&self, scope: &Scope) -> Option<&ScopeSummary> {
        self.scopes.iter().find(|s| s.scope == *scope)
    }
}

/// Why part of one scope's data was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum FailureCause {
    /// The receiver rejected it, or retries ran out.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The high-water mark could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One failure within a publish.
#[derive(Debug)]
pub struct ScopeFailure {
    /// The scope.
    pub scope: Scope,
    /// `report-day`: the day concerned; `None` for the `now`-stamped part.
    pub day: Option<NaiveDate>,
    /// What went wrong.
    pub cause: FailureCause,
}

impl fmt::Display for ScopeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.day {
            Some(day) => write!(f, "{} day {day}: {}", self.scope, self.cause),
            None => write!(f, "{}: {}", self.scope, self.cause),
        }
    }
}

/// Remote-write errors. Messages name the URL without credentials or query
/// and quote the receiver's status and (truncated) body.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    /// The HTTP client could not be built (e.g. TLS setup).
    #[error("remote-write: cannot build the HTTP client: {0}")]
    Client(String),
    /// The self-metrics could not be registered.
    #[error("remote-write: cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The state directory is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// Some data was not delivered; every scope was still attempted.
    #[error("remote-write to {url}: {} failure(s): {}", failures.len(), join(failures))]
    Publish {
        /// Receiver URL without credentials or query.
        url: String,
        /// What was delivered.
        summary: PublishSummary,
        /// What was not, per scope (and day).
        failures: Vec<ScopeFailure>,
    },
}

fn join(failures: &[ScopeFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl RemoteWriteError {
    /// For [`RemoteWriteError::Publish`]: what was delivered nevertheless.
    pub fn summary(&self) -> Option<&PublishSummary> {
        match self {
            RemoteWriteError::Publish { summary, .. } => Some(summary),
            _ => None,
        }
    }
}

#[derive(Clone)]
struct SinkMetrics {
    samples: IntCounterVec,
    requests: IntCounterVec,
}

impl SinkMetrics {
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let samples = IntCounterVec::new(
            Opts::new(
                "copilot_exporter_remote_write_samples_total",
                "Samples handled by the remote-write sink, by result (sent, retried, rejected, failed).",
            ),
            &["result"],
        )?;
        let requests = IntCounterVec::new(
            Opts::new(
                "copilot_exporter_remote_write_requests_total",
                "Remote-write HTTP requests, by result (sent, retried, rejected, failed).",
            ),
            &["result"],
        )?;
        for r in RESULTS {
            samples.with_label_values(&[r]);
            requests.with_label_values(&[r]);
        }
        registry.register(Box::new(samples.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        Ok(SinkMetrics { samples, requests })
    }

    fn count(&self, result: &str, samples: usize) {
        self.requests.with_label_values(&[result]).inc();
        self.samples
            .with_label_values(&[result])
            .inc_by(samples as u64);
    }
}

struct RetryCounter<'a> {
    metrics: &'a SinkMetrics,
    samples: usize,
}

impl AttemptObserver for RetryCounter<'_> {
    fn retrying(&self) {
        self.metrics.count("retried", self.samples);
    }
}

/// The remote-write sink. Cheap to share (`&self` everywhere); publishes are
/// serialised internally.
pub struct RemoteWriteSink {
    config: RemoteWriteConfig,
    transport: Transport,
    state: StateStore,
    metrics: SinkMetrics,
    last_success: Mutex<BTreeMap<Scope, SystemTime>>,
    /// Label sets last sent with `now` timestamps, per scope (stale markers).
    now_series: Mutex<HashMap<Scope, BTreeSet<LabelSet>>>,
    publish_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for RemoteWriteSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteWriteSink")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RemoteWriteSink {
    /// Builds the sink: HTTP client, state directory (created if missing),
    /// self-metrics registered into `registry`.
    pub fn new(config: RemoteWriteConfig, registry: &Registry) -> Result<Self, RemoteWriteError> {
        let transport = Transport::new(&config)
            .map_err(|e| RemoteWriteError::Client(e.without_url().to_string()))?;
        let state = StateStore::new(config.state_dir.clone())?;
        let metrics = SinkMetrics::register(registry)?;
        if config.mode == TimestampMode::ReportDay && config.state_dir.is_none() {
            tracing::warn!(
                "REMOTE_WRITE_TIMESTAMPS=report-day without STATE_DIR: the days already sent are \
                 remembered in memory only, so every restart sends the last {} days again \
                 (duplicates on VictoriaMetrics)",
                config.backfill_days
            );
        }
        tracing::info!(
            url = %config.display_url(),
            mode = %config.mode,
            settle_days = config.settle_days,
            backfill_days = config.backfill_days,
            "remote-write sink enabled"
        );
        Ok(RemoteWriteSink {
            config,
            transport,
            state,
            metrics,
            last_success: Mutex::new(BTreeMap::new()),
            now_series: Mutex::new(HashMap::new()),
            publish_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &RemoteWriteConfig {
        &self.config
    }

    /// The oldest report day this sink still needs for `scope`:
    /// `max(high-water mark + 1, today − BACKFILL_DAYS)` in `report-day`
    /// mode, `None` in `now` mode. The collector fetches 1-day reports for
    /// days older than its 28-day report.
    pub fn history_wanted(&self, scope: &Scope, today: NaiveDate) -> Option<NaiveDate> {
        if self.config.mode != TimestampMode::ReportDay {
            return None;
        }
        let mark = match self.state.get(scope) {
            Ok(mark) => mark,
            Err(e) => {
                tracing::error!(scope = %scope, error = %e, "remote-write state unreadable");
                None
            }
        };
        Some(self.first_day_due(mark, today))
    }

    /// `max(mark + 1, today − BACKFILL_DAYS)`.
    fn first_day_due(&self, mark: Option<NaiveDate>, today: NaiveDate) -> NaiveDate {
        let floor = today
            .checked_sub_days(Days::new(u64::from(self.config.backfill_days)))
            .unwrap_or(NaiveDate::MIN);
        match mark.and_then(|m| m.succ_opt()) {
            Some(next) => next.max(floor),
            None => floor,
        }
    }

    /// When each scope last published without any failure (including
    /// publishes with nothing due), for
    /// `copilot_exporter_remote_write_last_success_timestamp_seconds`.
    pub fn last_success(&self) -> Vec<(Scope, SystemTime)> {
        self.last_success
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(s, t)| (s.clone(), *t))
            .collect()
    }

    /// Sends what is due for every scope. Every scope is attempted even when
    /// others fail; `Err(RemoteWriteError::Publish)` lists what failed and
    /// carries the summary of what was delivered.
    pub async fn publish(
        &self,
        scopes: &[Arc<ScopeData>],
        now: SystemTime,
    ) -> Result<PublishSummary, RemoteWriteError> {
        let _guard = self.publish_lock.lock().await;
        let mut summary = PublishSummary::default();
        let mut failures = Vec::new();
        let auth = self.transport.resolve_auth();
        for data in scopes {
            let mut s = ScopeSummary::new(data.scope.clone());
            let before = failures.len();
            match &auth {
                Ok(auth) => {
                    self.publish_scope(data, now, auth, &mut s, &mut failures)
                        .await
                }
                Err(e) => failures.push(ScopeFailure {
                    scope: data.scope.clone(),
                    day: None,
                    cause: FailureCause::Send(e.clone()),
                }),
            }
            if failures.len() == before {
                self.last_success
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(data.scope.clone(), now);
            }
            tracing::info!(
                scope = %data.scope,
                samples_sent = s.samples_sent,
                samples_rejected = s.samples_rejected,
                samples_failed = s.samples_failed,
                days_sent = s.days_sent.len(),
                days_rejected = s.days_rejected.len(),
                "remote-write publish done"
            );
            summary.scopes.push(s);
        }
        if failures.is_empty() {
            Ok(summary)
        } else {
            Err(RemoteWriteError::Publish {
                url: self.transport.display_url().to_string(),
                summary,
                failures,
            })
        }
    }

    async fn publish_scope(
        &self,
        data: &ScopeData,
        now: SystemTime,
        auth: &ResolvedAuth,
        summary: &mut ScopeSummary,
        failures: &mut Vec<ScopeFailure>,
    ) {
        let scope = &data.scope;
        let now_ms = unix_ms(now);

        // The part stamped `now`: newest day (now mode) and current values.
        let mut batch = Batch::new();
        if self.config.mode == TimestampMode::Now {
            if let Some((_, set)) = data.newest_day() {
                batch.add_set(set, now_ms);
            }
        }
        batch.add_set(&data.current, now_ms);
        let live: BTreeSet<LabelSet> = batch.label_sets().cloned().collect();
        let previous = self
            .now_series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(scope)
            .cloned()
            .unwrap_or_default();
        for gone in previous.difference(&live) {
            batch.add_stale(gone.clone(), now_ms);
            summary.stale_markers += 1;
        }
        if !batch.is_empty() {
            match self.send_batch(batch, auth, summary).await {
                Ok(()) => {
                    self.now_series
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(scope.clone(), live);
                }
                Err(e) => {
                    log_failure(scope, None, &e);
                    failures.push(ScopeFailure {
                        scope: scope.clone(),
                        day: None,
                        cause: e.into(),
                    });
                }
            }
        }

        if self.config.mode == TimestampMode::ReportDay {
            self.publish_history(data, now, auth, summary, failures)
                .await;
        }
    }

    async fn publish_history(
        &self,
        data: &ScopeData,
        now: SystemTime,
        auth: &ResolvedAuth,
        summary: &mut ScopeSummary,
        failures: &mut Vec<ScopeFailure>,
    ) {
        let scope = &data.scope;
        let today = DateTime::<Utc>::from(now).date_naive();
        let Some(start) = self.history_start(scope, today, failures) else {
            return;
        };
        let Some(settled) = today.checked_sub_days(Days::new(u64::from(self.config.settle_days)))
        else {
            return;
        };
        if start > settled {
            return;
        }
        for (day, set) in data.days.range(start..=settled) {
            let mut batch = Batch::new();
            batch.add_set(set, report_day_timestamp_ms(*day));
            if batch.is_empty() && batch.skipped().is_empty() {
                continue;
            }
            match self.send_batch(batch, auth, summary).await {
                Ok(()) => summary.days_sent.push(*day),
                Err(e @ SendError::Rejected { .. }) => {
                    // A poison day must not block the days after it: the mark
                    // passes it, loudly.
                    tracing::error!(
                        scope = %scope,
                        day = %day,
                        error = %e,
                        "remote-write receiver rejected a report day; it is skipped and will not be re-sent"
                    );
                    summary.days_rejected.push(*day);
                    failures.push(ScopeFailure {
                        scope: scope.clone(),
                        day: Some(*day),
                        cause: e.into(),
                    });
                }
                Err(e) => {
                    // Retries ran out: stop here, keep the mark, send this day
                    // (and the later ones) next time, in order.
                    log_failure(scope, Some(*day), &e);
                    failures.push(ScopeFailure {
                        scope: scope.clone(),
                        day: Some(*day),
                        cause: e.into(),
                    });
                    return;
                }
            }
            if let Err(e) = self.state.advance(scope, *day) {
                tracing::error!(scope = %scope, error = %e, "cannot persist remote-write state");
                failures.push(ScopeFailure {
                    scope: scope.clone(),
                    day: Some(*day),
                    cause: e.into(),
                });
                return;
            }
        }
    }

    fn history_start(
        &self,
        scope: &Scope,
        today: NaiveDate,
        failures: &mut Vec<ScopeFailure>,
    ) -> Option<NaiveDate> {
        match self.state.get(scope) {
            Ok(mark) => Some(self.first_day_due(mark, today)),
            Err(e) => {
                tracing::error!(scope = %scope, error = %e, "remote-write state unreadable; history not sent");
                failures.push(ScopeFailure {
                    scope: scope.clone(),
                    day: None,
                    cause: e.into(),
                });
                None
            }
        }
    }

    /// Sends a batch as capped requests, in order. Stops at the first
    /// request that is not delivered; a rejected request does not stop the
    /// following ones of the same batch (they may be fine), but the batch
    /// then counts as rejected.
    async fn send_batch(
        &self,
        batch: Batch,
        auth: &ResolvedAuth,
        summary: &mut ScopeSummary,
    ) -> Result<(), SendError> {
        if !batch.skipped().is_empty() {
            summary.series_skipped += batch.skipped().len() as u64;
            for reason in batch.skipped().iter().take(5) {
                tracing::warn!(reason = %reason, "remote-write: series skipped");
            }
        }
        let mut queue: std::collections::VecDeque<_> = batch
            .into_requests(self.config.max_samples_per_request)
            .into();
        let mut rejected = None;
        while let Some(request) = queue.pop_front() {
            let samples = encode::request_samples(&request);
            let body = Bytes::from(encode::encode(&request));
            let observer = RetryCounter {
                metrics: &self.metrics,
                samples,
            };
            match self.transport.send(body, samples, auth, &observer).await {
                Ok(_) => {
                    self.metrics.count("sent", samples);
                    summary.requests_sent += 1;
                    summary.samples_sent += samples as u64;
                }
                Err(SendError::Rejected { status: 413, .. }) if encode::can_split(&request) => {
                    // Too large for this receiver: send it in halves, in order.
                    if let Some((first, second)) = encode::split_request(request) {
                        tracing::info!(
                            samples,
                            "remote-write request too large (413); splitting it"
                        );
                        observer.retrying();
                        queue.push_front(second);
                        queue.push_front(first);
                    }
                }
                Err(e @ SendError::Rejected { .. }) => {
                    self.metrics.count("rejected", samples);
                    summary.samples_rejected += samples as u64;
                    rejected.get_or_insert(e);
                }
                Err(e) => {
                    self.metrics.count("failed", samples);
                    summary.samples_failed += samples as u64;
                    let rest: usize = queue.iter().map(encode::request_samples).sum();
                    summary.samples_failed += rest as u64;
                    self.metrics
                        .samples
                        .with_label_values(&["failed"])
                        .inc_by(rest as u64);
                    return Err(e);
                }
            }
        }
        rejected.map_or(Ok(()), Err)
    }
}

fn log_failure(scope: &Scope, day: Option<NaiveDate>, e: &SendError) {
    match day {
        Some(day) => tracing::error!(scope = %scope, day = %day, error = %e, "remote-write failed"),
        None => tracing::error!(scope = %scope, error = %e, "remote-write failed"),
    }
}

/// Milliseconds since the Unix epoch (RW1-03); 0 before it.
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
