//! The whole product at once: the exporter (demo data, teams, seats,
//! repositories) pushes to a real Pushgateway, remote-writes day-stamped
//! history to a real Prometheus that also scrapes it and the Pushgateway,
//! and every query of the shipped Grafana dashboard returns series there.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::servers::{self, query, wait_for_series};

fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dashboards/copilot.json"
    ))
    .unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    fn walk(panels: &serde_json::Value, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    let title = format!(
                        "{} / {}",
                        panel["title"].as_str().unwrap_or("?"),
                        target["refId"]
                    );
                    out.push((title, expr.to_string()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    walk(&dashboard["panels"], &mut out);
    out
}

/// Grafana's variables as the dashboard's "All" selection would set them.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__range", "30d")
        .replace("$__interval", "1m")
        .replace("$enterprise", ".*")
        .replace("$org", ".*")
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

    let mut empty = Vec::new();
    let queries = dashboard_queries();
    assert!(
        queries.len() > 20,
        "dashboard has only {} queries",
        queries.len()
    );
    for (title, expr) in &queries {
        let promql = substitute(expr);
        if query(base, &promql, None).await.is_empty() {
            empty.push(format!("{title}: {promql}"));
        }
    }
    assert!(
        empty.is_empty(),
        "{} of {} dashboard queries returned no series:\n{}",
        empty.len(),
        queries.len(),
        empty.join("\n")
    );
}
