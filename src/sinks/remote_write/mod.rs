//! Prometheus remote-write 1.0 sink (protobuf + snappy block over HTTP).
//!
//! Layout, after Vector's sinks: [`config`] (arguments → validated
//! settings), [`stream`] (pure: the interned model → capped
//! `WriteRequest`s, one at a time), [`encode`] (pure: one request → bytes,
//! the 413 split), [`transport`] (headers, auth, reqwest, retry),
//! [`state`] (per-scope high-water marks of `report-day` mode), `metrics`
//! (its self-metrics), `now` (the `now`-stamped part and its stale
//! markers), `history` (`report-day`), `resend` (the periodic re-send), and
//! [`RemoteWriteSink`] here, which decides what to send when.
//!
//! Memory does not grow with the output: requests are built lazily from
//! borrowed sample sets, sent and dropped one at a time, and what the sink
//! keeps between publishes (the re-send snapshot, the previous publish for
//! stale markers) are `Arc`s of the model the store holds anyway, plus the
//! small health sets.
//!
//! Two timestamp modes (see `docs/remote-write.md`):
//! * `now`: each scope's newest report day plus the current values, stamped
//!   at publish time; series that disappear get a stale marker.
//! * `report-day`: every settled day once, stamped at 12:00:00 UTC of that
//!   day, one day per request (or a few capped requests), oldest first; the
//!   current values (seats) are still stamped at publish time.

mod auth;
pub mod config;
pub mod encode;
mod history;
mod metrics;
mod now;
mod resend;
pub mod sigv4;
pub mod state;
pub mod stream;
pub mod summary;
pub mod tls;
pub mod transport;

/// Types generated from `proto/remote.proto` (package `prometheus`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
}

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use chrono::{Days, NaiveDate};
use prometheus::Registry;

pub use config::{
    Auth, RemoteWriteArgs, RemoteWriteConfig, RetryPolicy, Secret, SecretSource, TimestampMode,
};
use metrics::{RetryCounter, SinkMetrics};
use now::NowSets;
pub use state::{StateError, StateStore};
pub use stream::RequestStream;
pub use summary::{FailureCause, PublishSummary, RemoteWriteError, ScopeFailure, ScopeSummary};
pub use transport::{SendError, Transport};

use crate::model::scope::Scope;
use crate::model::{day_start_unix, SampleSet, ScopeData};
use crate::sinks::labels::ExternalLabels;
use crate::sinks::view::{Publication, ScopeView};
use proto::WriteRequest;
use transport::{AttemptObserver, ResolvedAuth};

/// Seconds after 00:00 UTC at which `report-day` samples are stamped:
/// 12:00:00 UTC, the middle of the day (see `docs/remote-write.md`).
pub const REPORT_DAY_STAMP_SECONDS: i64 = 12 * 3600;

/// The timestamp (ms) `report-day` mode gives the samples of `day`.
pub fn report_day_timestamp_ms(day: NaiveDate) -> i64 {
    (day_start_unix(day) + REPORT_DAY_STAMP_SECONDS) * 1000
}

/// What one scope's publish writes to, bundled.
struct Sending<'a> {
    now: SystemTime,
    auth: &'a ResolvedAuth,
    summary: &'a mut ScopeSummary,
    failures: &'a mut Vec<ScopeFailure>,
}

/// The remote-write sink. Cheap to share (`&self` everywhere); publishes are
/// serialised internally.
pub struct RemoteWriteSink {
    config: RemoteWriteConfig,
    transport: Transport,
    state: StateStore,
    metrics: SinkMetrics,
    last_success: Mutex<BTreeMap<Scope, SystemTime>>,
    /// The sets last delivered with `now` timestamps, per scope: the
    /// series that are not in the next publish get a stale marker.
    published: Mutex<HashMap<Scope, NowSets>>,
    /// The `now`-stamped sets of the last publish: re-encoded with a new
    /// timestamp and re-sent between refreshes.
    snapshot: Mutex<Vec<NowSets>>,
    /// `EXTERNAL_LABELS`, on every series.
    external: Vec<(String, String)>,
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
        if let Some(Auth::SigV4(sigv4)) = &config.auth {
            sigv4.log_enabled();
        }
        Ok(RemoteWriteSink {
            config,
            transport,
            state,
            metrics,
            last_success: Mutex::new(BTreeMap::new()),
            published: Mutex::new(HashMap::new()),
            snapshot: Mutex::new(Vec::new()),
            external: Vec::new(),
            publish_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The sink with `labels` (`EXTERNAL_LABELS`) on every series it sends.
    pub fn with_external_labels(mut self, labels: &ExternalLabels) -> Self {
        self.external = labels
            .pairs()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        self
    }

    /// `REMOTE_WRITE_INTERVAL_SECONDS`, when the snapshot is re-sent
    /// between refreshes.
    pub fn resend_interval(&self) -> Option<std::time::Duration> {
        self.config.resend_interval
    }

    /// The validated configuration.
    pub fn config(&self) -> &RemoteWriteConfig {
        &self.config
    }

    /// `--check`: an empty request through the sink's transport (see
    /// [`Transport::probe`]).
    pub async fn probe(&self) -> Result<(), crate::sinks::probe::ProbeFailure> {
        self.transport.probe().await
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

    /// Sends what is due for freshly collected `scopes` (data only: no
    /// health). See [`RemoteWriteSink::publish_round`].
    pub async fn publish(
        &self,
        scopes: &[Arc<ScopeData>],
        now: SystemTime,
    ) -> Result<PublishSummary, RemoteWriteError> {
        self.publish_round(&Publication::of_data(scopes, now)).await
    }

    /// Sends what is due for every scope of a round: the `now`-stamped
    /// part (the newest day in `now` mode, current values and the scope's
    /// health, from its last good data when it failed this round), the
    /// exporter's self-metrics with the last scope, and in `report-day`
    /// mode the settled days. Every scope is attempted even when others
    /// fail; `Err(RemoteWriteError::Publish)` lists what failed and carries
    /// the summary of what was delivered.
    pub async fn publish_round(
        &self,
        round: &Publication,
    ) -> Result<PublishSummary, RemoteWriteError> {
        let _guard = self.publish_lock.lock().await;
        let now = round.now;
        let mut summary = PublishSummary::default();
        let mut failures = Vec::new();
        let mut snapshot = Vec::new();
        let auth = self.transport.resolve_auth();
        for (i, view) in round.scopes.iter().enumerate() {
            let mut s = ScopeSummary::new(view.scope.clone());
            let before = failures.len();
            let own = (i + 1 == round.scopes.len()).then_some(&round.health);
            match &auth {
                Ok(auth) => {
                    let sending = Sending {
                        now,
                        auth,
                        summary: &mut s,
                        failures: &mut failures,
                    };
                    snapshot.extend(self.publish_scope(view, own, sending).await);
                }
                Err(e) => failures.push(ScopeFailure {
                    scope: view.scope.clone(),
                    day: None,
                    cause: FailureCause::Send(e.clone()),
                }),
            }
            if failures.len() == before {
                self.last_success
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(view.scope.clone(), now);
            }
            tracing::info!(
                scope = %view.scope,
                samples_sent = s.samples_sent,
                samples_rejected = s.samples_rejected,
                samples_failed = s.samples_failed,
                days_sent = s.days_sent.len(),
                days_rejected = s.days_rejected.len(),
                "remote-write publish done"
            );
            summary.scopes.push(s);
        }
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = snapshot;
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

    /// One scope of a round; returns its `now`-stamped sets for the
    /// periodic re-send.
    async fn publish_scope(
        &self,
        view: &ScopeView,
        own: Option<&SampleSet>,
        sending: Sending<'_>,
    ) -> Option<NowSets> {
        let Sending {
            now,
            auth,
            summary,
            failures,
        } = sending;
        let snapshot = self
            .publish_now(view, own, now, auth, summary, failures)
            .await;
        if let (TimestampMode::ReportDay, Some(data)) = (self.config.mode, &view.data) {
            self.publish_history(data, now, auth, summary, failures)
                .await;
        }
        snapshot
    }

    /// Sends the series of `set`, all stamped `timestamp_ms`, as capped
    /// requests (see [`RemoteWriteSink::send_stream`]).
    async fn send_set(
        &self,
        set: &SampleSet,
        timestamp_ms: i64,
        auth: &ResolvedAuth,
        summary: &mut ScopeSummary,
    ) -> Result<(), SendError> {
        let mut stream =
            RequestStream::new(vec![set], timestamp_ms, self.config.max_samples_per_request)
                .with_external(&self.external);
        let result = self.send_stream(&mut stream, auth, summary).await;
        note_stream(&stream, summary);
        result
    }

    /// Sends the requests of `stream` in order, each built, sent and
    /// dropped before the next. Stops at the first request that is not
    /// delivered (its samples and the rest of the stream's count as
    /// failed); a request rejected for its data does not stop the
    /// following ones (they may be fine), but the stream then counts as
    /// rejected. A request too large (413) is split and its halves sent in
    /// its place. The stream is exhausted afterwards, so its counts are
    /// complete.
    async fn send_stream(
        &self,
        stream: &mut RequestStream<'_>,
        auth: &ResolvedAuth,
        summary: &mut ScopeSummary,
    ) -> Result<(), SendError> {
        // The halves of split requests, waiting their turn.
        let mut queue: VecDeque<WriteRequest> = VecDeque::new();
        let mut rejected = None;
        while let Some(request) = queue.pop_front().or_else(|| stream.next()) {
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
                    let rest: usize = queue.iter().map(encode::request_samples).sum::<usize>()
                        + stream.remaining_samples();
                    self.metrics.count("failed", samples + rest);
                    summary.samples_failed += (samples + rest) as u64;
                    return Err(e);
                }
            }
        }
        rejected.map_or(Ok(()), Err)
    }
}

/// Counts and logs what `stream` left out: series skipped for invalid
/// names, series dropped because an earlier set of the publish had them.
fn note_stream(stream: &RequestStream<'_>, summary: &mut ScopeSummary) {
    summary.series_skipped += stream.skipped();
    for reason in stream.skip_reasons() {
        tracing::warn!(reason = %reason, "remote-write: series skipped");
    }
    summary.series_duplicate += stream.duplicates();
    if stream.duplicates() > 0 {
        tracing::warn!(
            scope = %summary.scope,
            duplicates = stream.duplicates(),
            examples = ?stream.duplicate_examples(),
            "remote-write: series present in two sets of one publish; the first is sent \
             (newest day, current values, scope health, self-metrics), the others dropped"
        );
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
