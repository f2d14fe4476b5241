//! `--check`: the preflight. Calls every GitHub endpoint the configuration
//! will use, once per scope, and probes every configured sink, then prints a
//! table: what works, and for what does not, the reason and the fix. Stores
//! no data anywhere: the remote-write probe is an empty request, the
//! Pushgateway's a readiness `GET`.
//!
//! `github.rs`: the endpoints per scope; `sinks.rs`: one request per sink
//! through the sink's own transport; here the table and the exit code.
//!
//! Exit code 0 only when every line works, 1 otherwise (and 2, as always,
//! for a configuration error before anything runs).

mod github;
mod sinks;

use std::io::Write;

use crate::app::{App, EXIT_FAILURE, EXIT_OK};

/// The outcome of one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered as documented (2xx, or 204 "no report yet").
    Works,
    /// It failed: the reason as the table shows it, what the server said
    /// (quoting GitHub's `X-Accepted-GitHub-Permissions` when it sent
    /// one), and what to do.
    Failed {
        /// Short reason: `missing permission`, `policy disabled`, `not
        /// found`, `unreachable`, `auth refused`, …
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
    /// `org=…`, `enterprise=…`, or the sink's name and URL.
    pub target: String,
    /// The endpoint or sink action probed.
    pub what: String,
    /// How it went.
    pub outcome: Outcome,
}

/// Runs every probe: GitHub per scope, then the sinks.
pub async fn probes(app: &App) -> Vec<Probe> {
    let mut out = Vec::new();
    app.source().set_deadline(Some(
        std::time::Instant::now() + std::time::Duration::from_secs(120),
    ));
    for scope in &app.config.scopes {
        github::probe_scope(app, scope, &mut out).await;
    }
    sinks::probe_sinks(&app.sinks, &mut out).await;
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
                    reason: "missing permission".into(),
                    message: "403 needs admin:org".into(),
                    fix: "give the token the permission".into(),
                },
            },
        ];
        let text = table(&probes);
        assert!(text.contains("organization-28-day  works"), "{text}");
        assert!(
            text.contains("seats                missing permission"),
            "{text}"
        );
        assert!(
            text.contains("fix: give the token the permission"),
            "{text}"
        );
        assert!(text.ends_with("2 checks, 1 work, 1 failed\n"), "{text}");
    }
}
