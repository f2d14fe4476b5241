//! Collection: for one scope, fetch its reports and build its [`ScopeData`].
//!
//! The collector knows where reports come from (GitHub or the built-in demo)
//! but nothing about sinks.

pub mod demo;
mod join;
pub mod source;

pub use source::{ApiTarget, JsonPage, ReportSource};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use chrono::NaiveDate;
use serde_json::Value;

use crate::github::reading::{Fresh, RowVerdict};
use crate::github::reports::{ReportKind, ReportOutcome};
use crate::github::{FailureKind, GithubError};
use crate::model::scope::{Scope, ScopeKind};
use crate::model::{Labels, SampleSet, ScopeData};
use crate::report::naming::{add_report_day, entity_days, map_object, PREFIX};
use crate::report::repos::map_repo_row;
use crate::report::seats::{billing_samples, SeatStats};
use crate::report::teams::{LineOutcome, TeamAggregator, TeamDirectory};
use crate::report::users::UserAggregator;
use crate::report::users::UserMetricsMode;
use crate::secret::Secret;
use crate::selfmetrics::SelfMetrics;
use join::{Input, Join};

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
    // Optional-collection failures already logged: (scope, feature) → reason.
    warned: Mutex<HashMap<(Scope, &'static str), String>>,
}

/// An optional collection's failure: the `reason` label and the message.
#[derive(Clone)]
struct OptionalFailure {
    reason: String,
    message: String,
}

impl From<GithubError> for OptionalFailure {
    fn from(e: GithubError) -> Self {
        OptionalFailure {
            reason: e.kind.as_str().to_string(),
            message: e.to_string(),
        }
    }
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

        // Each report is read into its own accumulator and merged only when
        // it was read completely: a failed report leaves no trace.
        let mut acc = self
            .read_report(scope, ReportKind::Entity28Day, None, &scope_labels)
            .await?;

        if let Some(from) = request.history_from {
            let first_known = acc.days.keys().next().copied();
            let today = request
                .today
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            let until = first_known.unwrap_or(today);
            let mut day = from;
            while day < until {
                let one = self
                    .read_report(scope, ReportKind::Entity1Day, Some(day), &scope_labels)
                    .await?;
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

    /// Teams, per-user and repository data of one day into `set`.
    async fn collect_day_details(
        &self,
        scope: &Scope,
        scope_labels: &Labels,
        day: NaiveDate,
        newest: bool,
        set: &mut SampleSet,
    ) {
        let teams = self.features.teams;
        let users = newest && self.features.user_metrics != UserMetricsMode::Off;
        if teams || users {
            let (team_result, user_result) = self
                .collect_people(scope, scope_labels, day, teams, users)
                .await;
            for (feature, result) in [("teams", team_result), ("user_metrics", user_result)] {
                match result {
                    None => {}
                    Some(Ok(series)) => {
                        self.optional_ok(scope, feature);
                        set.absorb(series);
                    }
                    Some(Err(failure)) => self.optional_failed(scope, feature, failure),
                }
            }
        }
        if self.features.repo_metrics {
            match self.collect_repos(scope, scope_labels, day).await {
                Ok(repos) => {
                    self.optional_ok(scope, "repo_metrics");
                    set.absorb(repos);
                }
                Err(failure) => self.optional_failed(scope, "repo_metrics", failure),
            }
        }
    }

    /// One pass over `users-1-day` feeding the team join and the per-user
    /// series. Returns `(teams, users)`; `None` for a feature not asked.
    async fn collect_people(
        &self,
        scope: &Scope,
        scope_labels: &Labels,
        day: NaiveDate,
        teams: bool,
        users: bool,
    ) -> (
        Option<Result<SampleSet, OptionalFailure>>,
        Option<Result<SampleSet, OptionalFailure>>,
    ) {
        // The team directory (user-teams-1-day), read completely or not at all.
        // Team series of the day exist only when user-teams-1-day and
        // users-1-day were both read completely (join.rs).
        let mut join = Join::new("teams");
        let mut directory = None;
        let mut team_failure = None;
        if teams {
            let report = ReportKind::UserTeams1Day.name(scope.kind);
            let mut sink = Fresh::new(
                || TeamDirectory::new(day),
                |directory: &mut TeamDirectory, row: &[u8]| match directory.add_line(row) {
                    Ok(_) => RowVerdict::Valid,
                    Err(why) => RowVerdict::Invalid(why),
                },
            );
            let fetched = self
                .source
                .fetch_report(
                    scope,
                    ReportKind::UserTeams1Day,
                    Some(day),
                    self.max_report_bytes,
                    &mut sink,
                )
                .await;
            join.input(report, Input::of(&fetched));
            match fetched {
                Ok(outcome) => {
                    self.count_invalid(scope, report, outcome.invalid_rows());
                    if outcome == ReportOutcome::NoReport {
                        tracing::info!(%scope, report, %day, "no user-teams report for this day yet");
                    }
                    let read = sink.into_inner();
                    tracing::debug!(%scope, %day, teams = read.team_count(), "team directory read");
                    directory = Some(read);
                }
                Err(e) => team_failure = Some(OptionalFailure::from(e)),
            }
        }
        // users-1-day feeds the per-user series and the team join: a fresh
        // pair of aggregators whenever the report is read from its start.
        let make = || {
            let user_agg = users.then(|| {
                UserAggregator::new(
                    scope_labels,
                    self.features.user_metrics,
                    self.features.user_metrics_salt.clone(),
                    self.features.user_metrics_max,
                )
            });
            let team_agg = directory
                .clone()
                .map(|d| TeamAggregator::new(d, scope_labels));
            (user_agg, team_agg)
        };
        let mut sink = Fresh::new(make, |aggs: &mut People, row: &[u8]| {
            // Both aggregators walk the raw row (their fast paths); a row the
            // per-user path finds malformed is not for teams either.
            let (user_agg, team_agg) = aggs;
            let mut invalid = false;
            if let Some(agg) = user_agg.as_mut() {
                invalid = agg.add_line(row, day) == LineOutcome::Invalid;
            }
            if let (false, Some(agg)) = (invalid, team_agg.as_mut()) {
                invalid = agg.add_line(row, day) == LineOutcome::Invalid;
            }
            if invalid {
                RowVerdict::Invalid(
                    "not a users-1-day row (not an object, or an identity of the wrong type)"
                        .into(),
                )
            } else {
                RowVerdict::Valid
            }
        });
        let teams_need_rows = directory.as_ref().is_some_and(|d| !d.is_empty());
        if teams_need_rows || users {
            let report = ReportKind::Users1Day.name(scope.kind);
            let fetched = self
                .source
                .fetch_report(
                    scope,
                    ReportKind::Users1Day,
                    Some(day),
                    self.max_report_bytes,
                    &mut sink,
                )
                .await;
            if teams_need_rows {
                join.input(report, Input::of(&fetched));
            }
            match fetched {
                Ok(outcome) => {
                    self.count_invalid(scope, report, outcome.invalid_rows());
                    if outcome == ReportOutcome::NoReport {
                        tracing::info!(%scope, report, %day, "no users report for this day yet");
                    }
                }
                Err(e) => {
                    let failure = OptionalFailure::from(e);
                    if teams {
                        join.complete(&self.metrics, scope, day);
                    }
                    let team_result =
                        teams.then(|| Err(team_failure.unwrap_or_else(|| failure.clone())));
                    return (team_result, users.then_some(Err(failure)));
                }
            }
        }
        let (user_agg, team_agg) = sink.into_inner();
        let joined = teams && join.complete(&self.metrics, scope, day);
        let team_set = match (team_failure, team_agg) {
            (Some(failure), _) => Some(Err(failure)),
            (None, Some(agg)) if joined => Some(Ok(agg.finish())),
            // An input not there yet (204): no team series, never a zero.
            (None, _) => teams.then(|| Ok(SampleSet::new())),
        };
        let user_set = user_agg.map(|agg| {
            let users = agg.users();
            let (set, dropped) = agg.finish();
            if dropped > 0 {
                self.metrics.user_metrics_dropped.inc_by(dropped);
                tracing::warn!(%scope, %day, exported = users, dropped, "USER_METRICS_MAX reached; users beyond it are not exported");
            }
            Ok(set)
        });
        (team_set, user_set)
    }

    /// `repos-1-day` of one day.
    async fn collect_repos(
        &self,
        scope: &Scope,
        scope_labels: &Labels,
        day: NaiveDate,
    ) -> Result<SampleSet, OptionalFailure> {
        let report = ReportKind::Repos1Day.name(scope.kind);
        let day_text = day.to_string();
        let mut sink = Fresh::new(SampleSet::new, |out: &mut SampleSet, row: &[u8]| {
            match serde_json::from_slice::<serde_json::Map<String, Value>>(row) {
                Ok(row)
                    if row
                        .get("day")
                        .and_then(Value::as_str)
                        .is_some_and(|d| d != day_text) =>
                {
                    RowVerdict::Valid
                }
                Ok(row) => match map_repo_row(scope_labels, &row, out) {
                    Ok(()) => RowVerdict::Valid,
                    Err(why) => RowVerdict::Invalid(why.to_string()),
                },
                Err(e) => RowVerdict::Invalid(format!("not a JSON object: {e}")),
            }
        });
        let outcome = self
            .source
            .fetch_report(
                scope,
                ReportKind::Repos1Day,
                Some(day),
                self.max_report_bytes,
                &mut sink,
            )
            .await?;
        self.count_invalid(scope, report, outcome.invalid_rows());
        let out = sink.into_inner();
        self.metrics.duplicate_series.inc_by(out.duplicates());
        Ok(out)
    }

    /// Billing (organizations) and the paginated seat list.
    async fn collect_seats(
        &self,
        scope: &Scope,
        scope_labels: &Labels,
    ) -> Result<SampleSet, OptionalFailure> {
        let mut out = SampleSet::new();
        let prefix = scope.api_prefix();
        let invalid = |message: String| OptionalFailure {
            reason: FailureKind::InvalidResponse.as_str().to_string(),
            message,
        };
        if scope.kind == ScopeKind::Organization {
            let billing_path = format!("{prefix}/copilot/billing");
            let page = self
                .source
                .get_json_page(ApiTarget::Path(&billing_path))
                .await?;
            if let Some(body) = page.body {
                billing_samples(scope_labels, &body, &mut out)
                    .map_err(|e| invalid(format!("{billing_path}: {e}")))?;
            }
        }
        let seats_path = format!("{prefix}/copilot/billing/seats?per_page=100");
        let mut stats = SeatStats::new(scope.kind == ScopeKind::Enterprise);
        let mut page = self
            .source
            .get_json_page(ApiTarget::Path(&seats_path))
            .await?;
        let mut pages = 1usize;
        let mut seen = std::collections::HashSet::new();
        loop {
            if let Some(body) = &page.body {
                stats
                    .add_page(body)
                    .map_err(|e| invalid(format!("{seats_path} page {pages}: {e}")))?;
            }
            let Some(next) = page.next.take() else { break };
            if pages >= MAX_SEAT_PAGES || !seen.insert(next.to_string()) {
                return Err(invalid(format!(
                    "{seats_path}: pagination does not end (page {pages}); giving up"
                )));
            }
            page = self.source.get_json_page(ApiTarget::Url(&next)).await?;
            pages += 1;
        }
        tracing::debug!(%scope, pages, seats = stats.seats(), "seat list read");
        stats.finish(
            scope_labels,
            chrono::Utc::now(),
            scope.kind == ScopeKind::Enterprise,
            &mut out,
        );
        Ok(out)
    }

    /// Counts the malformed rows a report skipped (the series exists from
    /// the first report read, so `increase()` sees the first one).
    fn count_invalid(&self, scope: &Scope, report: &str, bad: u64) {
        self.metrics
            .invalid_report_lines
            .with_label_values(&[report])
            .inc_by(bad);
        if bad > 0 {
            tracing::warn!(%scope, report, lines = bad, "skipped malformed report lines");
        }
    }

    /// Logs an optional collection's failure once per scope, feature and
    /// reason (later repeats at debug level) and counts every occurrence.
    fn optional_failed(&self, scope: &Scope, feature: &'static str, failure: OptionalFailure) {
        self.metrics
            .optional_failures
            .with_label_values(&[feature, &failure.reason])
            .inc();
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        let key = (scope.clone(), feature);
        if warned.get(&key) == Some(&failure.reason) {
            tracing::debug!(%scope, feature, reason = %failure.reason, error = %failure.message, "optional collection still failing");
        } else {
            tracing::warn!(%scope, feature, reason = %failure.reason, error = %failure.message,
                "optional collection failed (usage metrics are still published; check the permissions in docs/teams-seats-users.md)");
            warned.insert(key, failure.reason);
        }
    }

    fn optional_ok(&self, scope: &Scope, feature: &'static str) {
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if warned.remove(&(scope.clone(), feature)).is_some() {
            tracing::info!(%scope, feature, "optional collection works again");
        }
    }

    /// Reads one entity report into a fresh accumulator.
    async fn read_report(
        &self,
        scope: &Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        scope_labels: &Labels,
    ) -> Result<EntityAccumulator, CollectError> {
        let report = kind.name(scope.kind);
        let mut sink = Fresh::new(
            || EntityAccumulator::new(scope_labels.clone()),
            EntityAccumulator::row,
        );
        let outcome = self
            .source
            .fetch_report(scope, kind, day, self.max_report_bytes, &mut sink)
            .await
            .map_err(|source| CollectError {
                scope: scope.clone(),
                report: match day {
                    Some(d) => format!("{report} {d}"),
                    None => report.to_string(),
                },
                source,
            })?;
        let mut acc = sink.into_inner();
        match outcome {
            ReportOutcome::NoReport => {
                tracing::info!(%scope, report, ?day, "no report for this day yet")
            }
            ReportOutcome::Delivered { tally, end_day } => {
                acc.invalid = tally.invalid;
                self.count_invalid(scope, report, tally.invalid);
                tracing::debug!(%scope, report, ?day, files = tally.files, bytes = tally.bytes, rows = tally.rows, ?end_day, "report read")
            }
        }
        Ok(acc)
    }
}

/// The aggregators fed by `users-1-day`: per-user series and the team join.
type People = (Option<UserAggregator>, Option<TeamAggregator>);

/// Folds entity-report rows into per-day sample sets.
struct EntityAccumulator {
    labels: Labels,
    days: BTreeMap<NaiveDate, SampleSet>,
    /// Invalid rows skipped.
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

    /// Takes one row.
    fn row(&mut self, bytes: &[u8]) -> RowVerdict {
        let row: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => return RowVerdict::Invalid(format!("not JSON: {e}")),
        };
        if !row.is_object() {
            return RowVerdict::Invalid("not a JSON object".into());
        }
        let (days, skipped) = entity_days(&row);
        for (day, object) in days {
            let set = self.days.entry(day).or_default();
            map_object(PREFIX, &self.labels, object, set);
        }
        if skipped > 0 {
            return RowVerdict::Invalid(format!("{skipped} day object(s) without a valid `day`"));
        }
        RowVerdict::Valid
    }

    /// Adds the days of another report (1-day history before the 28 days).
    fn merge(&mut self, other: EntityAccumulator) {
        self.invalid += other.invalid;
        for (day, set) in other.days {
            self.days.entry(day).or_default().absorb(set);
        }
    }
}
