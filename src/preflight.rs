//! `--check`: the preflight. Calls every GitHub endpoint the configuration
//! will use, once per scope, and probes every configured sink, then prints a
//! table: what works, and for what does not, the reason and the fix. Sends
//! no data anywhere.
//!
//! Exit code 0 only when every line works, 1 otherwise (and 2, as always,
//! for a configuration error before anything runs).

use std::io::Write;

use chrono::{Duration, Utc};

use crate::app::{App, EXIT_FAILURE, EXIT_OK};
use crate::collect::ApiTarget;
use crate::github::reports::ReportKind;
use crate::github::GithubError;
use crate::model::scope::{Scope, ScopeKind};
use crate::report::users::UserMetricsMode;

/// The outcome of one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered as documented (2xx, or 204 "no report yet").
    Works,
    /// It failed; the [`crate::github::FailureKind`] label (or the sink's
    /// reason) and the message, which quotes GitHub's
    /// `X-Accepted-GitHub-Permissions` when it sent one.
    Failed {
        /// Short reason: `forbidden`, `policy_disabled`, `not_found`,
        /// `unreachable`, …
        reason: String,
        /// What the server said.
        message: String,
        /// What to do.
        fix: String,
    },
}

/// One line of the preflight table.
#[derive(Clone, Debug)]
pub struct Probe {
    /// `org=…`, `enterprise=…`, or the sink's name.
    pub target: String,
    /// The endpoint or sink action probed.
    pub what: String,
    /// How it went.
    pub outcome: Outcome,
}

impl From<GithubError> for Outcome {
    fn from(e: GithubError) -> Self {
        Outcome::Failed {
            reason: e.kind.as_str().to_string(),
            fix: e.kind.hint().to_string(),
            message: e.to_string(),
        }
    }
}

/// The report endpoints a scope's collection will call with this
/// configuration, with the day asked for the 1-day reports.
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

/// Probes the GitHub endpoints of one scope.
async fn probe_scope(app: &App, scope: &Scope, out: &mut Vec<Probe>) {
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

/// Runs every probe: GitHub per scope, then the sinks.
pub async fn probes(app: &App) -> Vec<Probe> {
    let mut out = Vec::new();
    app.source().set_deadline(Some(
        std::time::Instant::now() + std::time::Duration::from_secs(120),
    ));
    for scope in &app.config.scopes {
        probe_scope(app, scope, &mut out).await;
    }
    out
}

/// Renders the table: one line a probe, the fix under each failure.
pub fn table(probes: &[Probe]) -> String {
    let width = |f: fn(&Probe) -> &str| probes.iter().map(|p| f(p).len()).max().unwrap_or(0);
    let target_w = width(|p| &p.target).max("TARGET".len());
    let what_w = width(|p| &p.what).max("CHECK".len());
    let mut text = format!("{:target_w$}  {:what_w$}  RESULT\n", "TARGET", "CHECK");
    for p in probes {
        match &p.outcome {
            Outcome::Works => text.push_str(&format!(
                "{:target_w$}  {:what_w$}  works\n",
                p.target, p.what
            )),
            Outcome::Failed {
                reason,
                message,
                fix,
            } => {
                text.push_str(&format!(
                    "{:target_w$}  {:what_w$}  {reason}\n",
                    p.target, p.what
                ));
                text.push_str(&format!("{:target_w$}  {:what_w$}    {message}\n", "", ""));
                text.push_str(&format!("{:target_w$}  {:what_w$}    fix: {fix}\n", "", ""));
            }
        }
    }
    let failed = probes
        .iter()
        .filter(|p| p.outcome != Outcome::Works)
        .count();
    text.push_str(&format!(
        "\n{} checks, {} work, {failed} failed\n",
        probes.len(),
        probes.len() - failed
    ));
    text
}

/// `--check`: runs the probes, prints the table on stdout, returns the exit
/// code (0 only when every probe works).
pub async fn run(app: &App) -> i32 {
    let probes = probes(app).await;
    let text = table(&probes);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .is_err()
    {
        return EXIT_FAILURE;
    }
    if probes.iter().all(|p| p.outcome == Outcome::Works) {
        EXIT_OK
    } else {
        EXIT_FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_the_fix_under_each_failure() {
        let probes = vec![
            Probe {
                target: "org=a".into(),
                what: "organization-28-day".into(),
                outcome: Outcome::Works,
            },
            Probe {
                target: "org=a".into(),
                what: "seats".into(),
                outcome: Outcome::Failed {
                    reason: "forbidden".into(),
                    message: "403 needs admin:org".into(),
                    fix: "give the token the permission".into(),
                },
            },
        ];
        let text = table(&probes);
        assert!(text.contains("organization-28-day  works"), "{text}");
        assert!(text.contains("seats                forbidden"), "{text}");
        assert!(
            text.contains("fix: give the token the permission"),
            "{text}"
        );
        assert!(text.ends_with("2 checks, 1 work, 1 failed\n"), "{text}");
    }
}
