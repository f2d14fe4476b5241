//! Teams and per-user series of one day: one pass over `users-1-day`
//! feeding the team join (with `user-teams-1-day`) and the per-user series.

use chrono::NaiveDate;

use crate::github::ndjson::Line;
use crate::github::reports::{ReportKind, ReportOutcome};
use crate::model::scope::Scope;
use crate::model::{Labels, SampleSet};
use crate::report::teams::{LineOutcome, TeamAggregator, TeamDirectory};
use crate::report::users::UserAggregator;

use super::optional::{row_bytes, OptionalFailure};
use super::Collector;

impl Collector {
    /// One pass over `users-1-day` feeding the team join and the per-user
    /// series. Returns `(teams, users)`; `None` for a feature not asked.
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
        let mut team_agg = None;
        let mut team_failure = None;
        if teams {
            let mut directory = TeamDirectory::new(day);
            let mut bad = 0u64;
            let report = ReportKind::UserTeams1Day.name(scope.kind);
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
            self.count_invalid(scope, report, bad);
            match fetched {
                Ok(outcome) => {
                    if outcome == ReportOutcome::NoReport {
                        tracing::info!(%scope, report, %day, "no user-teams report for this day yet (204)");
                    }
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
        let teams_need_rows = team_agg.as_ref().is_some_and(|t| !t.directory().is_empty());
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
            match fetched {
                Ok(ReportOutcome::NoReport) => {
                    tracing::info!(%scope, report, %day, "no users report for this day yet (204)")
                }
                Ok(_) => {}
                Err(e) => {
                    let failure = OptionalFailure::from(e);
                    let team_result =
                        teams.then(|| Err(team_failure.unwrap_or_else(|| failure.clone())));
                    return (team_result, users.then_some(Err(failure)));
                }
            }
        }
        let team_set = match (team_failure, team_agg) {
            (Some(failure), _) => Some(Err(failure)),
            (None, agg) => agg.map(|a| Ok(a.finish())),
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
}
