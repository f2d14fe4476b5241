//! Optional collections — seats, teams, users, repositories — as uniform
//! units behind one small interface, [`Unit`]: each unit collects per
//! report day or current values and answers one outcome per feature it
//! serves; adding one is a file, a variant and its arm. A failure never
//! fails the scope: it is logged once per scope, feature and reason
//! ([`Warnings`]) and counted in
//! `copilot_exporter_optional_collection_failures_total`.

mod people;
mod repos;
mod seats;

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;

use super::{Features, ScopeReader};
use crate::github::GithubError;
use crate::model::scope::Scope;
use crate::model::SampleSet;
use crate::report::users::UserMetricsMode;
use crate::selfmetrics::SelfMetrics;

/// The report day a per-day unit collects for.
#[derive(Clone, Copy, Debug)]
pub(super) struct Day {
    /// The day.
    pub date: NaiveDate,
    /// Whether it is the newest report day (per-user series exist only for it).
    pub newest: bool,
}

/// What a unit produced for one feature it serves.
pub(super) struct Outcome {
    /// The feature label (`teams`, `user_metrics`, `repo_metrics`, `seats`).
    pub feature: &'static str,
    /// The feature's series, or why it has none this time.
    pub result: Result<SampleSet, OptionalFailure>,
}

/// One optional collection.
pub(super) enum Unit {
    /// Teams and per-user series: one pass over `users-1-day`.
    People(people::People),
    /// Repository metrics.
    Repos,
    /// Seats and billing.
    Seats,
}

impl Unit {
    /// `true`: collected for report days, into each day's set; `false`:
    /// current values, once a refresh.
    pub(super) fn per_day(&self) -> bool {
        !matches!(self, Unit::Seats)
    }

    /// Collects for `day` (`None` for current values): one outcome per
    /// feature served, none for a feature not asked that day.
    pub(super) async fn collect(&self, reader: &ScopeReader<'_>, day: Option<Day>) -> Vec<Outcome> {
        match (self, day) {
            (Unit::People(people), Some(day)) => people.collect(reader, day).await,
            (Unit::Repos, Some(day)) => vec![Outcome {
                feature: "repo_metrics",
                result: repos::collect(reader, day).await,
            }],
            (Unit::Seats, None) => vec![Outcome {
                feature: "seats",
                result: seats::collect(reader).await,
            }],
            _ => Vec::new(),
        }
    }
}

/// The units `features` turns on, per-day ones in collection order.
pub(super) fn units(features: &Features) -> Vec<Unit> {
    let mut units = Vec::new();
    if features.teams || features.user_metrics != UserMetricsMode::Off {
        units.push(Unit::People(people::People {
            teams: features.teams,
            user_metrics: features.user_metrics,
            salt: features.user_metrics_salt.clone(),
            max_users: features.user_metrics_max,
            team_breakdowns: features.team_breakdowns,
            user_breakdowns: features.user_breakdowns,
        }));
    }
    if features.repo_metrics {
        units.push(Unit::Repos);
    }
    if features.seats {
        units.push(Unit::Seats);
    }
    units
}

/// An optional collection's failure: the `reason` label and the message.
#[derive(Clone)]
pub(super) struct OptionalFailure {
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

/// Optional-collection failures already logged: (scope, feature) → reason.
#[derive(Default)]
pub(super) struct Warnings(Mutex<HashMap<(Scope, &'static str), String>>);

impl Warnings {
    /// Takes a unit's outcomes: series into `set`, failures logged and
    /// counted.
    pub(super) fn apply(
        &self,
        metrics: &SelfMetrics,
        scope: &Scope,
        outcomes: Vec<Outcome>,
        set: &mut SampleSet,
    ) {
        for Outcome { feature, result } in outcomes {
            match result {
                Ok(series) => {
                    self.ok(scope, feature);
                    set.absorb(series);
                }
                Err(failure) => self.failed(metrics, scope, feature, failure),
            }
        }
    }

    /// Logs an optional collection's failure once per scope, feature and
    /// reason (later repeats at debug level) and counts every occurrence.
    fn failed(
        &self,
        metrics: &SelfMetrics,
        scope: &Scope,
        feature: &'static str,
        failure: OptionalFailure,
    ) {
        metrics
            .optional_failures
            .with_label_values(&[feature, &failure.reason])
            .inc();
        let mut warned = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = (scope.clone(), feature);
        if warned.get(&key) == Some(&failure.reason) {
            tracing::debug!(%scope, feature, reason = %failure.reason, error = %failure.message, "optional collection still failing");
        } else {
            tracing::warn!(%scope, feature, reason = %failure.reason, error = %failure.message,
                "optional collection failed (usage metrics are still published; check the permissions in docs/teams-seats-users.md)");
            warned.insert(key, failure.reason);
        }
    }

    fn ok(&self, scope: &Scope, feature: &'static str) {
        let mut warned = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if warned.remove(&(scope.clone(), feature)).is_some() {
            tracing::info!(%scope, feature, "optional collection works again");
        }
    }
}
