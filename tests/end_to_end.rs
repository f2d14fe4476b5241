//! The whole product at once: the exporter (demo data for two organizations
//! and an enterprise, teams, seats, repositories) pushes to a real
//! Pushgateway, remote-writes day-stamped history to a real Prometheus that
//! also scrapes it and the Pushgateway, and a one-shot run remote-writes the
//! newest day once more: the same values arrive by three paths. Every query
//! of the shipped Grafana dashboard returns series there, and every stat
//! panel, with the dashboard variables set to one organization, to all
//! organizations, then to the enterprise, shows the demo's true value (as
//! printed by `--once --demo`), counted once.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::servers::{self, query, scalar, wait_for_series};

const ORGS: [&str; 2] = ["octo-demo", "octo-labs"];
const ENTERPRISE: &str = "octo-enterprise";

/// (panel title, refId, panel type, expression) of every dashboard query.
fn dashboard_targets() -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dashboards/copilot.json"
    ))
    .unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    type Targets = Vec<(String, String, String, String)>;
    fn walk(panels: &serde_json::Value, out: &mut Targets) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((
                        panel["title"].as_str().unwrap_or("?").to_string(),
                        target["refId"].as_str().unwrap_or("?").to_string(),
                        panel["type"].as_str().unwrap_or("?").to_string(),
                        expr.to_string(),
                    ));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    walk(&dashboard["panels"], &mut out);
    out
}

/// Grafana's variables: scope kind `org` or `enterprise`, `scope` the
/// selection as Grafana formats it for a regex matcher (`.+` = All).
fn substitute(expr: &str, scope_type: &str, scope: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__range", "30d")
        .replace("$__interval", "1m")
        .replace("$scope_type", scope_type)
        .replace("$scope", scope)
        .replace("$team", ".+")
}

/// How a stat panel's true value follows from the demo's own output.
enum Truth {
    /// Sum of a per-scope gauge over the selected scopes; extra labels the
    /// series must carry exactly.
    Sum(&'static str, &'static [(&'static str, &'static str)]),
    /// Sum of one gauge over sum of another (ratio of sums).
    Ratio(&'static str, &'static str),
    /// Newest report day, in milliseconds (Grafana's dateTime unit).
    NewestDayMs,
}

/// Every stat panel of the dashboard and its truth. A stat panel missing
/// here fails the test, so a new stat cannot go unchecked.
fn stat_truths() -> BTreeMap<&'static str, Truth> {
    use Truth::*;
    BTreeMap::from([
        ("Report day", NewestDayMs),
        ("Daily active users", Sum("copilot_daily_active_users", &[])),
        (
            "Weekly active users",
            Sum("copilot_weekly_active_users", &[]),
        ),
        (
            "Monthly active users",
            Sum("copilot_monthly_active_users", &[]),
        ),
        (
            "Acceptance rate (suggestions)",
            Ratio(
                "copilot_code_acceptance_activity",
                "copilot_code_generation_activity",
            ),
        ),
        (
            "Acceptance rate (lines)",
            Ratio("copilot_loc_added", "copilot_loc_suggested_to_add"),
        ),
        ("Seats", Sum("copilot_seats", &[])),
        (
            "Active this cycle",
            Sum("copilot_seats_active_this_cycle", &[]),
        ),
        (
            "Inactive this cycle",
            Sum("copilot_seats_inactive_this_cycle", &[]),
        ),
        (
            "Idle 30 days",
            Sum("copilot_seats_idle", &[("window", "30d")]),
        ),
        (
            "Pending cancellation",
            Sum("copilot_seats_pending_cancellation", &[]),
        ),
        (
            "Pending invitation",
            Sum("copilot_seats_pending_invitation", &[]),
        ),
    ])
}

/// Sum of `metric{<scope_type>=<one of scopes>, extra…}` (no other labels)
/// in the parsed exposition; `None` when no selected scope has the series
/// (the panel then shows no data).
fn scope_sum(
    demo: &BTreeMap<common::Series, f64>,
    metric: &str,
    extra: &[(&str, &str)],
    scope_type: &str,
    scopes: &[&str],
) -> Option<f64> {
    let mut found = BTreeSet::new();
    let mut sum = 0.0;
    for ((name, labels), v) in demo {
        if name != metric || labels.len() != extra.len() + 1 {
            continue;
        }
        let Some(scope) = labels.get(scope_type) else {
            continue;
        };
        if scopes.contains(&scope.as_str())
            && extra
                .iter()
                .all(|(k, val)| labels.get(*k).map(String::as_str) == Some(*val))
        {
            found.insert(scope.clone());
            sum += v;
        }
    }
    (!found.is_empty()).then_some(sum)
}

/// The value the stat must show, `None` for "no data".
fn truth(
    t: &Truth,
    demo: &BTreeMap<common::Series, f64>,
    scope_type: &str,
    scopes: &[&str],
) -> Option<f64> {
    match t {
        Truth::Sum(metric, extra) => scope_sum(demo, metric, extra, scope_type, scopes),
        Truth::Ratio(num, den) => Some(
            scope_sum(demo, num, &[], scope_type, scopes)?
                / scope_sum(demo, den, &[], scope_type, scopes)?,
        ),
        Truth::NewestDayMs => scopes
            .iter()
            .filter_map(|s| {
                scope_sum(
                    demo,
                    "copilot_report_day_timestamp_seconds",
                    &[],
                    scope_type,
                    &[s],
                )
            })
            .reduce(f64::max)
            .map(|day| day * 1000.0),
    }
}

/// The `copilot_*` metric names an expression reads.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = expr.as_bytes();
    for (i, _) in expr.match_indices("copilot_") {
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            continue;
        }
        out.insert(
            expr[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_reaches_pushgateway_and_prometheus_and_the_dashboard_works() {
    let Some(pushgateway) = servers::pushgateway() else {
        return;
    };
    let exporter_port = common::free_port();
    let pgw_target = pushgateway.base.trim_start_matches("http://").to_string();
    let config = format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
storage:
  tsdb:
    out_of_order_time_window: 60d
scrape_configs:
- job_name: pushgateway
  honor_labels: true
  static_configs:
  - targets: ['{pgw_target}']
- job_name: copilot-metrics-exporter
  static_configs:
  - targets: ['127.0.0.1:{exporter_port}']
"#
    );
    let Some(prometheus) = servers::prometheus(&config) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();

    let _exporter = common::spawn(
        Command::new(common::exporter_bin())
            .arg("--demo")
            .env_clear()
            .env("ORG", ORGS.join(","))
            .env("ENTERPRISE", ENTERPRISE)
            .env("LISTEN_ADDR", format!("127.0.0.1:{exporter_port}"))
            .env("CACHE_TTL_SECONDS", "3")
            .env("TEAMS", "true")
            .env("REPO_METRICS", "true")
            .env("PUSHGATEWAY_URL", &pushgateway.base)
            .env(
                "REMOTE_WRITE_URL",
                format!("{}/api/v1/write", prometheus.base),
            )
            .env("REMOTE_WRITE_TIMESTAMPS", "report-day")
            .env("BACKFILL_DAYS", "30")
            .env("STATE_DIR", state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );

    // Pushgateway: team and seat metrics landed in the org's group.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut pushed = String::new();
    while std::time::Instant::now() < deadline {
        pushed = common::http_get(&format!("{}/metrics", pushgateway.base))
            .unwrap()
            .1;
        if pushed.contains("copilot_team_daily_active_users") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for name in [
        "copilot_team_daily_active_users{",
        "copilot_seats{",
        "copilot_seats_idle{",
        "copilot_daily_active_users{",
        "copilot_repo_",
    ] {
        assert!(
            pushed.contains(name),
            "{name} not in the Pushgateway:\n{pushed}"
        );
    }

    // Prometheus via remote-write (report-day): every settled day of the
    // backfill window, teams included; seats stamped now.
    let base = &prometheus.base;
    // Days today-30 … today-3 are settled (REMOTE_WRITE_SETTLE_DAYS=3); the
    // demo's newest day is today-2.
    let expected = 28.0;
    let mut days = 0.0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let history = query(
            base,
            "count_over_time(copilot_daily_active_users{org=\"octo-demo\",job!~\".+\"}[40d])",
            None,
        )
        .await;
        days = history
            .first()
            .and_then(|s| s["value"][1].as_str()?.parse().ok())
            .unwrap_or(0.0);
        if days >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        days, expected,
        "report days that arrived by remote-write (one sample each)"
    );
    let teams = wait_for_series(
        base,
        "count_over_time(copilot_team_daily_active_users{org=\"octo-demo\"}[40d])",
        Duration::from_secs(30),
    )
    .await;
    assert!(
        !teams.is_empty(),
        "team metrics did not arrive by remote-write"
    );
    let seats = wait_for_series(
        base,
        "copilot_seats{org=\"octo-demo\",job!=\"pushgateway\",job!=\"copilot-metrics-exporter\"}",
        Duration::from_secs(30),
    )
    .await;
    assert!(
        !seats.is_empty(),
        "seat metrics did not arrive by remote-write"
    );

    // The scraped exporter and Pushgateway feed the health panels.
    wait_for_series(base, "copilot_exporter_build_info", Duration::from_secs(30)).await;
    wait_for_series(base, "push_time_seconds", Duration::from_secs(30)).await;
    // Let the scrapes accumulate a few points for rate() windows.
    tokio::time::sleep(Duration::from_secs(4)).await;

    // A one-shot run remote-writes the newest day once more, stamped now:
    // that day then arrives by three paths (scrape, Pushgateway,
    // remote-write), under three different job/instance label sets.
    let scopes_env = [("ORG", ORGS.join(",")), ("ENTERPRISE", ENTERPRISE.into())];
    let mut env: Vec<(&str, &str)> = scopes_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let write_url = format!("{base}/api/v1/write");
    env.push(("REMOTE_WRITE_URL", &write_url));
    env.push(("SEATS", "true"));
    let pushed_now = common::run_exporter(&["--once", "--demo"], &env).await;
    assert_eq!(pushed_now.code, 0, "{}", pushed_now.stderr);
    // The truth: what the demo itself prints for these scopes.
    let printed = common::run_exporter(&["--once", "--demo"], &env[..2]).await;
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let demo = common::parse_exposition(&printed.stdout);

    // Wait until every scope's newest day is there from all three paths.
    let newest_copies = |scope_type: &str, scope: &str| {
        format!(
            "count(last_over_time(copilot_report_day_timestamp_seconds{{{scope_type}=\"{scope}\"}}[7d]) \
             == scalar(max(last_over_time(copilot_report_day_timestamp_seconds{{{scope_type}=\"{scope}\"}}[7d]))))"
        )
    };
    let mut selections: Vec<(&str, &str, Vec<&str>)> = vec![
        ("org", ORGS[0], vec![ORGS[0]]),
        ("org", ".+", ORGS.to_vec()),
        ("enterprise", ENTERPRISE, vec![ENTERPRISE]),
    ];
    for scope in ORGS
        .iter()
        .map(|o| ("org", *o))
        .chain([("enterprise", ENTERPRISE)])
    {
        let promql = newest_copies(scope.0, scope.1);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut copies = 0.0;
        while std::time::Instant::now() < deadline {
            let r = query(base, &promql, None).await;
            copies = r
                .first()
                .and_then(|s| s["value"][1].as_str()?.parse().ok())
                .unwrap_or(0.0);
            if copies >= 3.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(copies, 3.0, "sources of {scope:?}'s newest report day");
    }
    // Without de-duplication the same value shows up three times.
    let naive = scalar(
        base,
        &format!(
            "sum(last_over_time(copilot_daily_active_users{{org=\"{}\"}}[7d]))",
            ORGS[0]
        ),
    )
    .await;
    let dau = scope_sum(&demo, "copilot_daily_active_users", &[], "org", &ORGS[..1])
        .expect("the demo prints copilot_daily_active_users");
    assert!(
        naive >= 3.0 * dau,
        "expected the raw data to hold the value {dau} three times, sum is {naive}"
    );

    let targets = dashboard_targets();
    assert!(
        targets.len() > 20,
        "dashboard has only {} queries",
        targets.len()
    );

    // Every stat, for one organization, all organizations, the enterprise.
    let truths = stat_truths();
    let stats: Vec<_> = targets.iter().filter(|t| t.2 == "stat").collect();
    assert_eq!(
        stats.iter().map(|t| t.0.as_str()).collect::<BTreeSet<_>>(),
        truths.keys().copied().collect::<BTreeSet<_>>(),
        "stat panels and the truths this test knows differ"
    );
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (scope_type, scope, scopes) in selections.drain(..) {
        for (title, _, _, expr) in &stats {
            let want = truth(&truths[title.as_str()], &demo, scope_type, &scopes);
            let promql = substitute(expr, scope_type, scope);
            let result = query(base, &promql, None).await;
            let got: Option<f64> = match result.as_slice() {
                [one] => one["value"][1].as_str().and_then(|v| v.parse().ok()),
                _ => None,
            };
            checked += 1;
            match (got, want) {
                (Some(g), Some(w)) if (g - w).abs() <= 1e-9 * w.abs().max(1.0) => {}
                (None, None) if result.is_empty() => {}
                _ => wrong.push(format!(
                    "{title} ({scope_type}={scope}): want {want:?}, got {result:?}"
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} stat values are wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // Every query returns series, for organizations and for the enterprise,
    // unless it reads a metric the demo does not produce for that scope kind
    // (enterprise seat lists have no billing-cycle counts).
    let mut empty = Vec::new();
    for (scope_type, scope) in [("org", ".+"), ("enterprise", ".+")] {
        for (title, ref_id, _, expr) in &targets {
            let promql = substitute(expr, scope_type, scope);
            let absent_in_demo = metric_names(expr).iter().any(|m| {
                !m.starts_with("copilot_exporter_")
                    && !demo
                        .keys()
                        .any(|(name, labels)| name == m && labels.contains_key(scope_type))
            });
            if absent_in_demo {
                continue;
            }
            // Health panels read instant values of the 1s scrape: a scrape
            // that timed out on a busy machine hides them for a moment.
            if wait_for_series(base, &promql, Duration::from_secs(15))
                .await
                .is_empty()
            {
                empty.push(format!("{title} / {ref_id} ({scope_type}): {promql}"));
            }
        }
    }
    assert!(
        empty.is_empty(),
        "{} of {} dashboard queries returned no series:\n{}",
        empty.len(),
        2 * targets.len(),
        empty.join("\n")
    );
}
