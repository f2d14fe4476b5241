//! The long-running mode: `/metrics`, `/healthz`, `/readyz` served from the
//! snapshot; scrapes never call GitHub; configuration errors exit 2.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::fake_github::{FakeGithub, Host};

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_served_from_the_snapshot() {
    let fake = FakeGithub::start().await;
    let record =
        serde_json::json!({"day_totals": [{"day": "2025-10-01", "daily_active_users": 12}]});
    fake.report(
        "/orgs/octo/copilot/metrics/reports/organization-28-day/latest",
        &[("r.ndjson", &record.to_string())],
    );
    let port = common::free_port();
    let _exporter = common::spawn(
        Command::new(common::exporter_bin())
            .env_clear()
            .env("GHC_TOKEN", "t0ken")
            .env("ORG", "octo")
            // Seats are on by default; this test counts report requests only.
            .env("SEATS", "false")
            .env("GITHUB_API_URL", &fake.api_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let base = format!("http://127.0.0.1:{port}");
    let ready = tokio::task::spawn_blocking({
        let url = format!("{base}/readyz");
        move || common::wait_http_ok(&url, Duration::from_secs(20))
    });
    assert!(ready.await.unwrap(), "/readyz never became ready");
    let api_calls = fake.requests_to(Host::Api).len();
    assert_eq!(api_calls, 1);

    let base2 = base.clone();
    let (first, second) = tokio::task::spawn_blocking(move || {
        (
            common::http_get(&format!("{base2}/metrics")).unwrap(),
            common::http_get(&format!("{base2}/metrics")).unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(first.0, 200);
    assert!(
        first
            .1
            .contains("copilot_daily_active_users{org=\"octo\"} 12"),
        "{}",
        first.1
    );
    assert!(
        second.1.contains("copilot_exporter_requests_total 2"),
        "{}",
        second.1
    );
    assert!(second.1.contains("copilot_exporter_cache_hits_total 2"));
    assert_eq!(
        fake.requests_to(Host::Api).len(),
        api_calls,
        "a scrape must not call GitHub"
    );
    common::promtool_check_metrics(&second.1);

    let headers = raw_response(port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{headers}"
    );
    assert!(
        raw_response(port, "POST /metrics HTTP/1.0\r\ncontent-length: 0\r\n\r\n")
            .starts_with("HTTP/1.0 405")
    );
    assert!(raw_response(port, "GET /nope HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404"));
    assert!(raw_response(port, "GET /healthz HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200"));
}

fn raw_response(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .to_ascii_lowercase()
        .replace("http/1.0", "HTTP/1.0")
}

fn run(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let run = common::run_exporter_blocking(args, env);
    (run.code, run.stdout, run.stderr)
}

#[test]
fn configuration_errors_exit_2_and_name_the_variable() {
    let (code, _, err) = run(&[("GHC_TOKEN", "x")], &["--once"]);
    assert_eq!(code, 2);
    assert!(err.contains("ORG") && err.contains("ENTERPRISE"), "{err}");
    let (code, _, err) = run(&[("ORG", "o")], &["--once"]);
    assert_eq!(code, 2);
    assert!(err.contains("GHC_TOKEN"), "{err}");
    let (code, _, err) = run(
        &[
            ("ORG", "o"),
            ("GHC_TOKEN", "x"),
            ("CACHE_TTL_SECONDS", "soon"),
        ],
        &["--once"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("CACHE_TTL_SECONDS"), "{err}");
    // Every value clap refuses names its variable too, numbers and choices.
    for (var, value) in [
        ("PUSHGATEWAY_ATTEMPTS", "abc"),
        ("USER_METRICS_MAX", "-1"),
        ("LOG_FORMAT", "xml"),
        ("TEAMS", "maybe"),
    ] {
        let (code, _, err) = run(
            &[("ORG", "o"), ("GHC_TOKEN", "x"), (var, value)],
            &["--once"],
        );
        assert_eq!(code, 2, "{var}: {err}");
        assert!(err.contains(var) && err.contains(value), "{var}: {err}");
    }
    let (code, _, err) = run(&[("ORG", "bad org!"), ("GHC_TOKEN", "x")], &["--once"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ORG") && err.contains("login"), "{err}");
    let (code, _, err) = run(
        &[("ORG", "o"), ("GHC_TOKEN_FILE", "/nonexistent/token")],
        &["--once"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("GHC_TOKEN_FILE"), "{err}");
    let (code, _, err) = run(&[("DEMO", "true"), ("LOG_LEVEL", "chatty=[")], &["--once"]);
    assert_eq!(code, 2);
    assert!(err.contains("LOG_LEVEL"), "{err}");
}

/// Every switch takes the same words from its variable (`1`, `yes`, `on`,
/// `true` and their opposites), as a Kubernetes manifest or `.env` file
/// writes them; anything else is a configuration error.
#[test]
fn switches_take_the_same_boolean_words() {
    let (code, out, err) = run(
        &[
            ("ONCE", "1"),
            ("DEMO", "yes"),
            ("TEAMS", "on"),
            ("SEATS", "0"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("copilot_daily_active_users{org=\"octo-demo\"}"));
    assert!(out.contains("copilot_team_daily_active_users{"), "TEAMS=on");
    assert!(!out.contains("\ncopilot_seats{"), "SEATS=0");
    let (code, _, err) = run(&[("DEMO", "true"), ("ONCE", "maybe")], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("once"), "{err}");
}

#[test]
fn help_never_shows_the_token() {
    let (code, out, _) = run(&[("GHC_TOKEN", "ghp_visible_in_help")], &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("GHC_TOKEN"));
    assert!(!out.contains("ghp_visible_in_help"));
}

#[test]
fn once_demo_prints_valid_metrics() {
    let (code, out, _) = run(&[], &["--once", "--demo"]);
    assert_eq!(code, 0);
    assert!(out.contains("copilot_daily_active_users{org=\"octo-demo\"}"));
    assert!(out.contains("copilot_daily_active_users{enterprise=\"octo-enterprise\"}"));
    assert!(out.contains("copilot_exporter_build_info{version="));
    for by in [
        "by_ide{",
        "by_feature{",
        "by_language_feature{",
        "by_language_model{",
        "by_model_feature{",
    ] {
        assert!(out.contains(by), "demo lacks {by}");
    }
    common::promtool_check_metrics(&out);
    // JSON logs are one object per line on stderr; stdout stays exposition-only.
    let (code, out, err) = run(&[("LOG_FORMAT", "json")], &["--once", "--demo"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# HELP"));
    for line in err.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("JSON log line");
    }
}

#[test]
fn report_day_settings_outside_report_day_mode_are_reported_ignored() {
    let (code, _, err) = run(&[("DEMO", "true"), ("BACKFILL_DAYS", "400")], &["--once"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("BACKFILL_DAYS") && err.contains("ignored"),
        "{err}"
    );
    let (_, _, err) = run(&[("DEMO", "true")], &["--once"]);
    assert!(!err.contains("ignored"), "{err}");
}
