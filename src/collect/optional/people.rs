//! Teams (`TEAMS`) and per-user series (`USER_METRICS`): one pass over
//! `users-1-day` feeds the team join (with `user-teams-1-day`, by the rule
//! of `collect/join.rs`) and the per-user series.

use super::{Day, OptionalFailure, Outcome};
use crate::collect::join::{Input, Join};
use crate::collect::ScopeReader;
use crate::github::reading::{Fresh, RowVerdict};
use crate::github::reports::ReportKind;
use crate::model::SampleSet;
use crate::report::breakdowns::Breakdowns;
use crate::report::teams::{LineOutcome, TeamAggregator, TeamDirectory};
use crate::report::users::{UserAggregator, UserMetricsMode};
use crate::secret::Secret;

/// The `teams` and `user_metrics` unit.
pub(in crate::collect) struct People {
    /// `TEAMS`.
    pub teams: bool,
    /// `USER_METRICS` (per-user series of the newest day only).
    pub user_metrics: UserMetricsMode,
    /// `USER_METRICS_SALT`.
    pub salt: Option<Secret>,
    /// `USER_METRICS_MAX`.
    pub max_users: usize,
    /// `TEAM_BREAKDOWNS`.
    pub team_breakdowns: Breakdowns,
    /// `USER_BREAKDOWNS`.
    pub user_breakdowns: Breakdowns,
}

/// The aggregators fed by `users-1-day`: per-user series and the team join.
type Aggregators = (Option<UserAggregator>, Option<TeamAggregator>);

impl People {
    /// The outcomes of one day: teams (every day), per-user series (the
    /// newest day).
    pub(super) async fn collect(&self, reader: &ScopeReader<'_>, day: Day) -> Vec<Outcome> {
        let users = day.newest && self.user_metrics != UserMetricsMode::Off;
        if !(self.teams || users) {
            return Vec::new();
        }
        let (teams, users) = self.collect_people(reader, day, users).await;
        [("teams", teams), ("user_metrics", users)]
            .into_iter()
            .filter_map(|(feature, result)| result.map(|result| Outcome { feature, result }))
            .collect()
    }

    /// One pass over `users-1-day` feeding the team join and the per-user
    /// series. Returns `(teams, users)`; `None` for a feature not asked.
    async fn collect_people(
        &self,
        reader: &ScopeReader<'_>,
        day: Day,
        users: bool,
    ) -> (
        Option<Result<SampleSet, OptionalFailure>>,
        Option<Result<SampleSet, OptionalFailure>>,
    ) {
        let (scope, scope_labels, teams, day) = (reader.scope, reader.labels, self.teams, day.date);
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
            let fetched = reader
                .fetch(ReportKind::UserTeams1Day, Some(day), &mut sink)
                .await;
            join.input(report, Input::of(&fetched));
            match fetched {
                Ok(outcome) => {
                    reader.note_read(report, &outcome, Some(day));
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
                    self.user_metrics,
                    self.salt.clone(),
                    self.max_users,
                )
                .with_breakdowns(self.user_breakdowns)
            });
            let team_agg = directory.clone().map(|d| {
                TeamAggregator::new(d, scope_labels).with_breakdowns(self.team_breakdowns)
            });
            (user_agg, team_agg)
        };
        let mut sink = Fresh::new(make, |aggs: &mut Aggregators, row: &[u8]| {
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
            let fetched = reader
                .fetch(ReportKind::Users1Day, Some(day), &mut sink)
                .await;
            if teams_need_rows {
                join.input(report, Input::of(&fetched));
            }
            match fetched {
                Ok(outcome) => {
                    reader.note_read(report, &outcome, Some(day));
                }
                Err(e) => {
                    let failure = OptionalFailure::from(e);
                    if teams {
                        join.complete(reader.metrics, scope, day);
                    }
                    let team_result =
                        teams.then(|| Err(team_failure.unwrap_or_else(|| failure.clone())));
                    return (team_result, users.then_some(Err(failure)));
                }
            }
        }
        let (user_agg, team_agg) = sink.into_inner();
        let joined = teams && join.complete(reader.metrics, scope, day);
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
                reader.metrics.user_metrics_dropped.inc_by(dropped);
                tracing::warn!(%scope, %day, exported = users, dropped, "USER_METRICS_MAX reached; users beyond it are not exported");
            }
            Ok(set)
        });
        (team_set, user_set)
    }
}
