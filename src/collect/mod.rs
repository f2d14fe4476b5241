//! Collection: for one scope, fetch its reports and build its [`ScopeData`]:
//! the entity reports (`entity.rs`), then the optional collections —
//! seats, teams, users, repositories — as uniform units (`optional/`), from
//! a [`ReportSource`] (`source.rs`: the GitHub client or the demo in
//! `demo/`), with the join rule of `join.rs`.
//!
//! The collector knows where reports come from (GitHub or the built-in demo)
//! but nothing about sinks.

pub mod demo;
mod entity;
mod join;
mod optional;
pub mod source;

pub use source::{ApiTarget, JsonPage, ReportSource};

use std::time::{Instant, SystemTime};

use chrono::NaiveDate;

use crate::github::reading::RowSink;
use crate::github::reports::{ReportKind, ReportOutcome};
use crate::github::GithubError;
use crate::model::scope::Scope;
use crate::model::{Labels, ScopeData};
use crate::report::breakdowns::Breakdowns;
use crate::report::naming::add_report_day;
use crate::report::select::MetricFilter;
use crate::report::users::UserMetricsMode;
use crate::secret::Secret;
use crate::selfmetrics::SelfMetrics;
use optional::{Unit, Warnings};
use std::sync::Arc;

/// Optional collections beyond the entity reports.
#[derive(Clone, Debug)]
pub struct Features {
    /// `TEAMS`: team metrics.
    pub teams: bool,
    /// `SEATS`: seat and billing metrics.
    pub seats: bool,
    /// `USER_METRICS`.
    pub user_metrics: UserMetricsMode,
    /// `USER_METRICS_SALT` (required for `hashed`).
    pub user_metrics_salt: Option<Secret>,
    /// `USER_METRICS_MAX`.
    pub user_metrics_max: usize,
    /// `REPO_METRICS`: repository metrics.
    pub repo_metrics: bool,
    /// `TEAM_BREAKDOWNS`: the breakdowns summed per team.
    pub team_breakdowns: Breakdowns,
    /// `USER_BREAKDOWNS`: the breakdowns exported per user.
    pub user_breakdowns: Breakdowns,
}

impl Features {
    /// Nothing optional: entity reports only.
    pub fn none() -> Self {
        Features {
            teams: false,
            seats: false,
            user_metrics: UserMetricsMode::Off,
            user_metrics_salt: None,
            user_metrics_max: 10_000,
            repo_metrics: false,
            team_breakdowns: Breakdowns::TEAM_DEFAULT,
            user_breakdowns: Breakdowns::USER_DEFAULT,
        }
    }
}

impl Default for Features {
    fn default() -> Self {
        Self::none()
    }
}

/// Most seat-list pages followed for one scope (100 seats a page).
pub const MAX_SEAT_PAGES: usize = 5_000;

/// What a refresh asks of the collector beyond the newest data.
#[derive(Clone, Copy, Debug, Default)]
pub struct CollectRequest {
    /// Oldest report day wanted (remote-write `report-day` backfill). Days
    /// older than the 28-day report are fetched from 1-day reports.
    pub history_from: Option<NaiveDate>,
    /// Oldest day for which the per-day optional data (teams, repositories)
    /// is collected too; `None`: the newest report day only. Each such day
    /// costs a users-1-day download (possibly hundreds of MB), so this is
    /// separate from `history_from`. Per-user metrics are always the newest
    /// day only.
    pub detail_from: Option<NaiveDate>,
    /// Today (UTC); days after it are never requested.
    pub today: Option<NaiveDate>,
}

/// A scope's collection failed; the message says which report and why.
#[derive(Debug, thiserror::Error)]
#[error("{scope}: {report}: {source}")]
pub struct CollectError {
    /// The scope.
    pub scope: Scope,
    /// The report that failed.
    pub report: String,
    /// The GitHub failure.
    #[source]
    pub source: GithubError,
}

/// Builds [`ScopeData`] from the reports of one scope.
pub struct Collector {
    source: Arc<dyn ReportSource>,
    metrics: Arc<SelfMetrics>,
    max_report_bytes: u64,
    features: Features,
    /// The optional collections `features` turns on.
    units: Vec<Unit>,
    /// Optional-collection failures already logged.
    warnings: Warnings,
    /// `METRICS_INCLUDE` / `METRICS_EXCLUDE`.
    filter: MetricFilter,
}

impl Collector {
    /// A collector reading from `source`.
    pub fn new(
        source: Arc<dyn ReportSource>,
        metrics: Arc<SelfMetrics>,
        max_report_bytes: u64,
    ) -> Self {
        Collector {
            source,
            metrics,
            max_report_bytes,
            features: Features::none(),
            units: Vec::new(),
            warnings: Warnings::default(),
            filter: MetricFilter::default(),
        }
    }

    /// Exports only the report metrics `filter` allows
    /// (`METRICS_INCLUDE` / `METRICS_EXCLUDE`): the others are dropped from
    /// each scope's data before anything else sees it.
    pub fn with_filter(mut self, filter: MetricFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Turns on optional collections (teams, seats, users, repositories).
    pub fn with_features(mut self, features: Features) -> Self {
        self.units = optional::units(&features);
        self.features = features;
        self
    }

    /// The optional collections in effect.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The report source.
    pub fn source(&self) -> &dyn ReportSource {
        self.source.as_ref()
    }

    /// Collects one scope: the 28-day entity report (every day in it), plus
    /// 1-day entity reports for older days when `request.history_from` asks,
    /// plus the optional collections: teams and repositories for the newest
    /// day (and the days from `request.detail_from`), per-user series for
    /// the newest day, seats as current values. An optional collection that
    /// fails is logged (once per scope until it recovers) and counted; it
    /// never fails the scope.
    pub async fn collect(
        &self,
        scope: &Scope,
        request: &CollectRequest,
    ) -> Result<ScopeData, CollectError> {
        let started = Instant::now();
        let mut data = ScopeData::new(scope.clone());
        let scope_labels: Labels = vec![scope.label()];
        let reader = ScopeReader {
            source: self.source.as_ref(),
            metrics: &self.metrics,
            max_report_bytes: self.max_report_bytes,
            scope,
            labels: &scope_labels,
        };

        // Each report is read into its own accumulator and merged only when
        // it was read completely: a failed report leaves no trace.
        let mut acc = entity::read(&reader, ReportKind::Entity28Day, None).await?;

        if let Some(from) = request.history_from {
            let first_known = acc.days.keys().next().copied();
            let today = request
                .today
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            let until = first_known.unwrap_or(today);
            let mut day = from;
            while day < until {
                let one = entity::read(&reader, ReportKind::Entity1Day, Some(day)).await?;
                acc.merge(one);
                day = day.succ_opt().unwrap_or(until);
            }
        }

        if let Some(newest) = acc.days.keys().next_back().copied() {
            let mut day = request
                .detail_from
                .filter(|d| *d < newest)
                .unwrap_or(newest);
            loop {
                let set = acc.days.entry(day).or_default();
                let at = Some(optional::Day {
                    date: day,
                    newest: day == newest,
                });
                for unit in self.units.iter().filter(|u| u.per_day()) {
                    let outcomes = unit.collect(&reader, at).await;
                    self.warnings.apply(&self.metrics, scope, outcomes, set);
                }
                match day.succ_opt() {
                    Some(next) if next <= newest => day = next,
                    _ => break,
                }
            }
        }
        for unit in self.units.iter().filter(|u| !u.per_day()) {
            let outcomes = unit.collect(&reader, None).await;
            self.warnings
                .apply(&self.metrics, scope, outcomes, &mut data.current);
        }

        for (day, mut set) in acc.days {
            add_report_day(day, &scope_labels, &mut set);
            self.metrics.duplicate_series.inc_by(set.duplicates());
            data.days.insert(day, set);
        }
        data.invalid_lines = acc.invalid;
        // Before the data leaves the collector: the store and the sinks never
        // hold an excluded series.
        self.filter.apply_to_scope(&mut data);
        data.duration = started.elapsed();
        data.collected_at = SystemTime::now();
        Ok(data)
    }
}

/// What one scope's collection reads with: the source, the counters, the
/// size cap, the scope and its label.
struct ScopeReader<'a> {
    source: &'a dyn ReportSource,
    metrics: &'a SelfMetrics,
    max_report_bytes: u64,
    scope: &'a Scope,
    labels: &'a Labels,
}

impl ScopeReader<'_> {
    /// Fetches one report of the scope into `sink`.
    async fn fetch(
        &self,
        kind: ReportKind,
        day: Option<NaiveDate>,
        sink: &mut dyn RowSink,
    ) -> Result<ReportOutcome, GithubError> {
        self.source
            .fetch_report(self.scope, kind, day, self.max_report_bytes, sink)
            .await
    }

    /// Notes how a report was read: its skipped rows counted, a missing
    /// report (no report for `day` yet) logged.
    fn note_read(&self, report: &str, outcome: &ReportOutcome, day: Option<NaiveDate>) {
        self.count_invalid(report, outcome.invalid_rows());
        if *outcome == ReportOutcome::NoReport {
            tracing::info!(scope = %self.scope, report, ?day, "no report for this day yet");
        }
    }

    /// Counts the malformed rows a report skipped (the series exists from
    /// the first report read, so `increase()` sees the first one).
    fn count_invalid(&self, report: &str, bad: u64) {
        self.metrics
            .invalid_report_lines
            .with_label_values(&[report])
            .inc_by(bad);
        if bad > 0 {
            tracing::warn!(scope = %self.scope, report, lines = bad, "skipped malformed report lines");
        }
    }
}
