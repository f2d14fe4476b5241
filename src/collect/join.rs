//! The rule of every join of two or more reports (the team join:
//! `user-teams-1-day` ⋈ `users-1-day`): joined values for a day exist only
//! when every input of that day was read completely. A missing input (no
//! report yet, a failed or unreadable download, not read because another
//! input already failed) means no joined series for that day — never a
//! zero — and each missing input is logged and counted in
//! `copilot_exporter_join_incomplete_total{join,missing,reason}`.

use chrono::NaiveDate;

use crate::github::reports::ReportOutcome;
use crate::github::GithubError;
use crate::model::scope::Scope;
use crate::selfmetrics::SelfMetrics;

/// How one input of a join was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Input {
    /// Every file was read (skipped malformed lines are counted apart).
    Complete,
    /// GitHub has no report for the day yet (204).
    NoReport,
    /// The report failed; the failure kind (`server_error`, `invalid_response`, …).
    Failed(&'static str),
}

impl Input {
    /// The input a fetch produced.
    pub(super) fn of(fetched: &Result<ReportOutcome, GithubError>) -> Input {
        match fetched {
            Ok(ReportOutcome::Delivered { .. }) => Input::Complete,
            Ok(ReportOutcome::NoReport) => Input::NoReport,
            Err(e) => Input::Failed(e.kind.as_str()),
        }
    }

    /// The `reason` label of a missing input.
    fn reason(&self) -> &'static str {
        match self {
            Input::Complete => "complete",
            Input::NoReport => "no_report",
            Input::Failed(kind) => kind,
        }
    }
}

/// The inputs of one join for one scope and day.
pub(super) struct Join {
    name: &'static str,
    inputs: Vec<(&'static str, Input)>,
}

impl Join {
    /// A join called `name` (the `join` label).
    pub(super) fn new(name: &'static str) -> Self {
        Join {
            name,
            inputs: Vec::new(),
        }
    }

    /// Records how input `report` was read.
    pub(super) fn input(&mut self, report: &'static str, input: Input) {
        self.inputs.push((report, input));
    }

    /// True when every input recorded was read completely. Otherwise logs
    /// and counts each missing input and returns false: the caller then
    /// publishes no joined series for the day.
    pub(super) fn complete(&self, metrics: &SelfMetrics, scope: &Scope, day: NaiveDate) -> bool {
        let mut complete = true;
        for (report, input) in &self.inputs {
            if *input == Input::Complete {
                continue;
            }
            complete = false;
            let reason = input.reason();
            metrics
                .join_incomplete
                .with_label_values(&[self.name, report, reason])
                .inc();
            tracing::warn!(%scope, %day, join = self.name, missing = report, reason,
                "join incomplete: no {} series for this day ({report} was not read completely: {reason})", self.name);
        }
        complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(metrics: &SelfMetrics, missing: &str, reason: &str) -> u64 {
        metrics
            .join_incomplete
            .with_label_values(&["teams", missing, reason])
            .get()
    }

    #[test]
    fn a_join_is_complete_only_with_every_input() {
        let metrics = SelfMetrics::new();
        let scope = Scope::org("octo");
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let mut join = Join::new("teams");
        join.input("user-teams-1-day", Input::Complete);
        join.input("users-1-day", Input::Complete);
        assert!(join.complete(&metrics, &scope, day));
        let mut join = Join::new("teams");
        join.input("user-teams-1-day", Input::Complete);
        join.input("users-1-day", Input::NoReport);
        assert!(!join.complete(&metrics, &scope, day));
        let mut join = Join::new("teams");
        join.input("user-teams-1-day", Input::Failed("invalid_response"));
        assert!(!join.complete(&metrics, &scope, day));
        assert_eq!(count(&metrics, "users-1-day", "no_report"), 1);
        assert_eq!(count(&metrics, "user-teams-1-day", "invalid_response"), 1);
        assert_eq!(count(&metrics, "user-teams-1-day", "no_report"), 0);
    }
}
