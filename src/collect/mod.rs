//! Collection: for one scope, fetch its reports and build its [`ScopeData`].
//!
//! The collector knows where reports come from (GitHub or the built-in demo)
//! but nothing about sinks.

pub mod demo;
mod join;
mod optional;
mod people;
mod repos;
mod seats;
pub mod source;

pub use seats::MAX_SEAT_PAGES;
pub use source::{ApiTarget, JsonPage, ReportSource};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use chrono::NaiveDate;

use crate::github::ndjson::{is_blank, Line};
use crate::github::reports::{ReportKind, ReportOutcome};
use crate::github::GithubError;
use crate::model::scope::Scope;
use crate::model::{Labels, SampleSet, ScopeData};
use crate::report::naming::{add_report_day, entity_days, map_object, PREFIX};
use crate::report::users::UserMetricsMode;
use crate::secret::Secret;
use crate::selfmetrics::SelfMetrics;

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
        }
    }
}

impl Default for Features {
    fn default() -> Self {
        Self::none()
    }
}

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
    // Optional-collection failures already logged: (scope, feature) → reason.
    warned: Mutex<HashMap<(Scope, &'static str), String>>,
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
            warned: Mutex::new(HashMap::new()),
        }
    }

    /// Turns on optional collections (teams, seats, users, repositories).
    pub fn with_features(mut self, features: Features) -> Self {
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

        let mut acc = EntityAccumulator::new(scope_labels.clone());
        self.read_report(scope, ReportKind::Entity28Day, None, &mut acc)
            .await?;

        if let Some(from) = request.history_from {
            let first_known = acc.days.keys().next().copied();
            let today = request
                .today
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            let until = first_known.unwrap_or(today);
            let mut day = from;
            while day < until {
                self.read_report(scope, ReportKind::Entity1Day, Some(day), &mut acc)
                    .await?;
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
                self.collect_day_details(scope, &scope_labels, day, day == newest, set)
                    .await;
                match day.succ_opt() {
                    Some(next) if next <= newest => day = next,
                    _ => break,
                }
            }
        }
        if self.features.seats {
            match self.collect_seats(scope, &scope_labels).await {
                Ok(current) => {
                    self.optional_ok(scope, "seats");
                    data.current.absorb(current);
                }
                Err(failure) => self.optional_failed(scope, "seats", failure),
            }
        }

        for (day, mut set) in acc.days {
            add_report_day(day, &scope_labels, &mut set);
            self.metrics.duplicate_series.inc_by(set.duplicates());
            data.days.insert(day, set);
        }
        data.invalid_lines = acc.invalid;
        data.duration = started.elapsed();
        data.collected_at = SystemTime::now();
        Ok(data)
    }

    async fn read_report(
        &self,
        scope: &Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        acc: &mut EntityAccumulator,
    ) -> Result<(), CollectError> {
        let report = kind.name(scope.kind);
        let invalid_counter = self
            .metrics
            .invalid_report_lines
            .with_label_values(&[report]);
        let mut on_line = |line: Line<'_>| {
            if let Some(problem) = acc.take(line) {
                invalid_counter.inc();
                let (line_no, why) = problem;
                if acc.invalid <= 20 {
                    tracing::warn!(%scope, report, line = line_no, reason = %why, "skipping malformed report line");
                }
            }
        };
        let outcome = self
            .source
            .fetch_report(scope, kind, day, self.max_report_bytes, &mut on_line)
            .await
            .map_err(|source| CollectError {
                scope: scope.clone(),
                report: match day {
                    Some(d) => format!("{report} {d}"),
                    None => report.to_string(),
                },
                source,
            })?;
        match outcome {
            ReportOutcome::NoReport => {
                tracing::info!(%scope, report, ?day, "no report for this day yet (204)")
            }
            ReportOutcome::Delivered {
                files,
                bytes,
                lines,
                end_day,
            } => {
                tracing::debug!(%scope, report, ?day, files, bytes, lines, ?end_day, "report read")
            }
        }
        Ok(())
    }
}

/// Folds entity-report lines into per-day sample sets.
struct EntityAccumulator {
    labels: Labels,
    days: BTreeMap<NaiveDate, SampleSet>,
    invalid: u64,
}

impl EntityAccumulator {
    fn new(labels: Labels) -> Self {
        EntityAccumulator {
            labels,
            days: Default::default(),
            invalid: 0,
        }
    }

    /// Takes one line; returns `(line number, reason)` when it was malformed.
    fn take(&mut self, line: Line<'_>) -> Option<(u64, String)> {
        let (line_no, bytes) = match line {
            Line::Complete(n, b) => (n, b),
            Line::TooLong(n) => {
                self.invalid += 1;
                return Some((n, "line longer than MAX_LINE_BYTES".into()));
            }
        };
        if is_blank(bytes) {
            return None;
        }
        let row: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.invalid += 1;
                return Some((line_no, format!("not JSON: {e}")));
            }
        };
        if !row.is_object() {
            self.invalid += 1;
            return Some((line_no, "not a JSON object".into()));
        }
        let (days, skipped) = entity_days(&row);
        for (day, object) in days {
            let set = self.days.entry(day).or_default();
            map_object(PREFIX, &self.labels, object, set);
        }
        if skipped > 0 {
            self.invalid += 1;
            return Some((
                line_no,
                format!("{skipped} day object(s) without a valid `day`"),
            ));
        }
        None
    }
}
