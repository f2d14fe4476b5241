//! What every optional collection (teams, per-user, repositories, seats)
//! shares: its failure type, the once-per-scope warning, the invalid-line
//! count, and the per-day dispatch of the report-based ones.

use chrono::NaiveDate;

use crate::github::ndjson::{is_blank, Line};
use crate::github::GithubError;
use crate::model::scope::Scope;
use crate::model::{Labels, SampleSet};
use crate::report::users::UserMetricsMode;

use super::Collector;

/// An optional collection's failure: the `reason` label and the message.
#[derive(Clone)]
pub(super) struct OptionalFailure {
    pub(super) reason: String,
    pub(super) message: String,
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
    /// Teams, per-user and repository data of one day into `set`.
    pub(super) async fn collect_day_details(
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
    pub(super) fn count_invalid(&self, scope: &Scope, report: &str, bad: u64) {
        if bad > 0 {
            self.metrics
                .invalid_report_lines
                .with_label_values(&[report])
                .inc_by(bad);
            tracing::warn!(%scope, report, lines = bad, "skipped malformed report lines");
        }
    }

    /// Logs an optional collection's failure once per scope, feature and
    /// reason (later repeats at debug level) and counts every occurrence.
    pub(super) fn optional_failed(
        &self,
        scope: &Scope,
        feature: &'static str,
        failure: OptionalFailure,
    ) {
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

    pub(super) fn optional_ok(&self, scope: &Scope, feature: &'static str) {
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if warned.remove(&(scope.clone(), feature)).is_some() {
            tracing::info!(%scope, feature, "optional collection works again");
        }
    }
}

/// The bytes of a report line worth parsing: `None` for a blank line, and
/// for an overlong one, which is counted in `bad`.
pub(super) fn row_bytes<'a>(line: Line<'a>, bad: &mut u64) -> Option<&'a [u8]> {
    match line {
        Line::Complete(_, bytes) if is_blank(bytes) => None,
        Line::Complete(_, bytes) => Some(bytes),
        Line::TooLong(_) => {
            *bad += 1;
            None
        }
    }
}
