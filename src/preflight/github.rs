//! The GitHub half of `--check`: every endpoint a scope's collection will
//! call with this configuration, once, classified the way a refresh
//! classifies it.

use chrono::{Duration, Utc};

use super::{Outcome, Probe};
use crate::app::App;
use crate::collect::ApiTarget;
use crate::github::reports::ReportKind;
use crate::github::{FailureKind, GithubError};
use crate::model::scope::{Scope, ScopeKind};
use crate::report::users::UserMetricsMode;

/// The row text of a GitHub failure kind: what an operator calls it.
pub fn reason(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::BadCredentials => "bad credentials",
        FailureKind::Forbidden => "missing permission",
        FailureKind::PolicyDisabled => "policy disabled",
        FailureKind::NotFound => "not found",
        FailureKind::RateLimited => "rate limited",
        FailureKind::ServerError => "server error",
        FailureKind::Timeout => "timeout",
        FailureKind::InvalidResponse => "invalid response",
        FailureKind::Unreachable => "unreachable",
        FailureKind::ClientError => "client error",
        FailureKind::LinkExpired => "link expired",
        FailureKind::DownloadFailed => "download failed",
        FailureKind::InvalidReport => "invalid report",
    }
}

impl From<GithubError> for Outcome {
    fn from(e: GithubError) -> Self {
        let message = match e.status {
            Some(status) => format!("HTTP {status}: {}", e.message),
            None => e.message.clone(),
        };
        Outcome::Failed {
            reason: reason(e.kind).to_string(),
            message,
            fix: e.kind.hint().to_string(),
        }
    }
}

/// The report endpoints a scope's collection will call with this
/// configuration.
fn report_endpoints(app: &App) -> Vec<ReportKind> {
    let features = app.features();
    let mut kinds = vec![ReportKind::Entity28Day, ReportKind::Entity1Day];
    if features.teams || features.user_metrics != UserMetricsMode::Off {
        kinds.push(ReportKind::Users1Day);
    }
    if features.teams {
        kinds.push(ReportKind::UserTeams1Day);
    }
    if features.repo_metrics {
        kinds.push(ReportKind::Repos1Day);
    }
    kinds
}

/// Probes the GitHub endpoints of one scope, appending a row each.
pub async fn probe_scope(app: &App, scope: &Scope, out: &mut Vec<Probe>) {
    // Reports lag by up to two days: ask for a day that exists when the
    // endpoint works (a 204 still counts as working).
    let day = Utc::now().date_naive() - Duration::days(3);
    let mut paths: Vec<(String, String)> = report_endpoints(app)
        .into_iter()
        .map(|kind| {
            let path = kind.path(scope, kind.needs_day().then_some(day));
            (kind.name(scope.kind).to_string(), path)
        })
        .collect();
    if app.features().seats {
        let prefix = scope.api_prefix();
        if scope.kind == ScopeKind::Organization {
            paths.push(("billing".into(), format!("{prefix}/copilot/billing")));
        }
        paths.push((
            "seats".into(),
            format!("{prefix}/copilot/billing/seats?per_page=1"),
        ));
    }
    for (what, path) in paths {
        let outcome = match app.source().get_json_page(ApiTarget::Path(&path)).await {
            Ok(_) => Outcome::Works,
            Err(e) => e.into(),
        };
        out.push(Probe {
            target: scope.to_string(),
            what,
            outcome,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_403_names_the_permission_github_wants() {
        let e = GithubError::new(
            "/orgs/a/copilot/metrics/reports/organization-28-day/latest",
            FailureKind::Forbidden,
            Some(403),
            "Resource not accessible by integration [needs: organization_copilot_metrics=read]",
        );
        let Outcome::Failed {
            reason,
            message,
            fix,
        } = Outcome::from(e)
        else {
            panic!("a failure")
        };
        assert_eq!(reason, "missing permission");
        assert!(
            message.starts_with("HTTP 403: Resource not accessible")
                && message.contains("organization_copilot_metrics=read"),
            "{message}"
        );
        assert_eq!(fix, FailureKind::Forbidden.hint());
    }
}
