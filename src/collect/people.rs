//! Teams and per-user series of one day: one pass over `users-1-day`
//! feeding the team join (with `user-teams-1-day`) and the per-user series.

use chrono::NaiveDate;

use crate::github::ndjson::Line;
use crate::github::reports::{ReportKind, ReportOutcome};
use crate::github::GithubError;
use crate::model::scope::Scope;
use crate::model::{Labels, SampleSet};
use crate::report::teams::{LineOutcome, TeamAggregator, TeamDirectory};
use crate::report::users::UserAggregator;

use super::join::{Input, Join};
use super::optional::{row_bytes, OptionalFailure};
use super::Collector;

impl Collector {
    /// One pass over `users-1-day` feeding the team join and the per-user
    /// series. Returns `(teams, users)`; `None` for a feature not asked.
    ///
    /// Team series of the day exist only when `user-teams-1-day` and
    /// `users-1-day` were both read completely ([`Join`]); a team directory
    /// without teams needs no users report.
    pub(super) async fn collect_people(
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
        let mut join = Join::new("teams");
        let mut team_agg = None;
        let mut team_failure = None;
        if teams {
            let (directory, fetched) = self.read_team_directory(scope, day).await;
            let report = ReportKind::UserTeams1Day.name(scope.kind);
            join.input(report, Input::of(&fetched));
            match fetched {
                Ok(ReportOutcome::NoReport) => {
                    tracing::info!(%scope, report, %day, "no user-teams report for this day yet (204)");
                }
                Ok(_) => {
                    tracing::debug!(%scope, %day, teams = directory.team_count(), "team directory read");
                    team_agg = Some(TeamAggregator::new(directory, scope_labels));
                }
                Err(e) => team_failure = Some(OptionalFailure::from(e)),
            }
        }
        let mut user_agg = users.then(|| {
            UserAggregator::new(
                scope_labels,
                self.features.user_metrics,
                self.features.user_metrics_salt.clone(),
                self.features.user_metrics_max,
            )
        });
        // No reported team (all under five seats): nothing to join.
        let teams_need_rows = team_agg.as_ref().is_some_and(|t| !t.directory().is_empty());
        let mut user_failure = None;
        if teams_need_rows || user_agg.is_some() {
            let mut bad = 0u64;
            let report = ReportKind::Users1Day.name(scope.kind);
            let mut on_line = |line: Line<'_>| {
                let Some(bytes) = row_bytes(line, &mut bad) else {
                    return;
                };
                // Both aggregators walk the raw line (their fast paths); a
                // line the per-user path finds malformed is not for teams
                // either.
                let mut invalid = false;
                if let Some(agg) = user_agg.as_mut() {
                    invalid = agg.add_line(bytes, day) == LineOutcome::Invalid;
                }
                if let (false, Some(agg)) = (invalid, team_agg.as_mut()) {
                    invalid = agg.add_line(bytes, day) == LineOutcome::Invalid;
                }
                if invalid {
                    bad += 1;
                }
            };
            let fetched = self
                .source
                .fetch_report(
                    scope,
                    ReportKind::Users1Day,
                    Some(day),
                    self.max_report_bytes,
                    &mut on_line,
                )
                .await;
            self.count_invalid(scope, report, bad);
            if teams_need_rows {
                join.input(report, Input::of(&fetched));
            }
            match fetched {
                Ok(ReportOutcome::NoReport) => {
                    tracing::info!(%scope, report, %day, "no users report for this day yet (204)")
                }
                Ok(_) => {}
                Err(e) => user_failure = Some(OptionalFailure::from(e)),
            }
        }
        let team_set = teams.then(|| {
            let joined = join.complete(&self.metrics, scope, day);
            let users_failure = user_failure.clone().filter(|_| teams_need_rows);
            match (team_failure.or(users_failure), team_agg) {
                (Some(failure), _) if !joined => Err(failure),
                (_, Some(agg)) if joined => Ok(agg.finish()),
                // An input not there yet (204): no team series, no failure.
                _ => Ok(SampleSet::new()),
            }
        });
        let user_set = user_agg.map(|agg| {
            if let Some(failure) = user_failure {
                return Err(failure);
            }
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

    /// `user-teams-1-day` of one day into a directory.
    async fn read_team_directory(
        &self,
        scope: &Scope,
        day: NaiveDate,
    ) -> (TeamDirectory, Result<ReportOutcome, GithubError>) {
        let mut directory = TeamDirectory::new(day);
        let mut bad = 0u64;
        let fetched = self
            .source
            .fetch_report(
                scope,
                ReportKind::UserTeams1Day,
                Some(day),
                self.max_report_bytes,
                &mut |line| {
                    let Some(bytes) = row_bytes(line, &mut bad) else {
                        return;
                    };
                    if directory.add_line(bytes).is_err() {
                        bad += 1;
                    }
                },
            )
            .await;
        self.count_invalid(scope, ReportKind::UserTeams1Day.name(scope.kind), bad);
        (directory, fetched)
    }
}
