//! The whole path against an in-test fake GitHub: envelope, signed links on a
//! separate host, NDJSON, error answers, exit codes, and what each host saw.

mod common;

use common::fake_github::{FakeGithub, Host, Reply, SIGNATURE};
use serde_json::json;

const TOKEN: &str = "ghp_TESTTOKEN0123456789";

fn org_report_path(org: &str) -> String {
    format!("/orgs/{org}/copilot/metrics/reports/organization-28-day/latest")
}

fn day(day: &str, dau: u64, ide: &str) -> serde_json::Value {
    json!({
        "day": day, "organization_id": "999", "daily_active_users": dau,
        "code_acceptance_activity_count": dau * 2, "loc_added_sum": dau * 10,
        "pull_requests": {"total_created": 4, "median_minutes_to_merge": 2.5},
        "totals_by_ide": [{"ide": ide, "code_generation_activity_count": dau * 3}],
        "weekly_active_copilot_cloud_agent_users": null,
        "a_field_github_adds_tomorrow_count": 42
    })
}

fn record(days: Vec<serde_json::Value>) -> String {
    json!({"day_totals": days, "organization_id": "999", "etl_id": "x", "entity_id_partition": 1})
        .to_string()
}

use common::{value, Run};

async fn run_once(fake: &FakeGithub, orgs: &str, extra: &[(&str, &str)]) -> Run {
    let mut env = vec![
        ("GHC_TOKEN", TOKEN),
        ("ORG", orgs),
        ("GITHUB_API_URL", fake.api_url.as_str()),
        ("LOG_LEVEL", "trace"),
        // Retries stay on (as in production) but with tiny delays.
        ("GITHUB_RETRY_MIN_MS", "10"),
        ("GITHUB_RETRY_MAX_MS", "50"),
        // Seats are on by default; these tests count report requests only.
        ("SEATS", "false"),
    ];
    env.extend_from_slice(extra);
    common::run_exporter(&["--once"], &env).await
}

fn assert_no_secret_leaks(fake: &FakeGithub, run: &Run) {
    for download in fake.requests_to(Host::Download) {
        assert!(
            download.header("authorization").is_none(),
            "the download host received an Authorization header: {download:?}"
        );
        assert!(download.header("x-github-api-version").is_none());
        assert!(!download.headers.iter().any(|(_, v)| v.contains(TOKEN)));
    }
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(TOKEN), "token leaked into output");
        assert!(
            !text.contains("SIGNED-LINK-SECRET"),
            "signed-link query leaked into output"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_link_report_becomes_newest_day_gauges() {
    let fake = FakeGithub::start().await;
    // The report is split over two shards; the newest day is in the second.
    fake.report(
        &org_report_path("octo"),
        &[
            (
                "part-0.ndjson",
                &record(vec![day("2025-09-30", 5, "vscode")]),
            ),
            (
                "part-1.ndjson",
                &format!(
                    "{}\n",
                    record(vec![day("2025-10-01", 7, "jet\"brains\\ ü")])
                ),
            ),
        ],
    );
    let run = run_once(&fake, "octo", &[]).await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let out = &run.stdout;
    assert_eq!(
        value(out, "copilot_daily_active_users{org=\"octo\"}"),
        Some(7.0)
    );
    assert_eq!(
        value(out, "copilot_code_acceptance_activity{org=\"octo\"}"),
        Some(14.0)
    );
    assert_eq!(value(out, "copilot_loc_added{org=\"octo\"}"), Some(70.0));
    assert_eq!(
        value(out, "copilot_pull_requests_total_created{org=\"octo\"}"),
        Some(4.0)
    );
    assert_eq!(
        value(
            out,
            "copilot_pull_requests_median_seconds_to_merge{org=\"octo\"}"
        ),
        Some(150.0)
    );
    assert_eq!(
        value(out, "copilot_a_field_github_adds_tomorrow{org=\"octo\"}"),
        Some(42.0)
    );
    // Quotes, backslashes and non-ASCII are escaped per the text format.
    assert_eq!(
        value(
            out,
            "copilot_code_generation_activity_by_ide{ide=\"jet\\\"brains\\\\ ü\",org=\"octo\"}"
        ),
        Some(21.0),
        "{out}"
    );
    // Only the newest day is exposed.
    assert!(!out.contains("ide=\"vscode\""));
    assert_eq!(
        value(out, "copilot_report_day_timestamp_seconds{org=\"octo\"}"),
        Some(1_759_276_800.0)
    );
    assert_eq!(
        value(out, "copilot_exporter_collect_success{org=\"octo\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(out, "copilot_exporter_report_downloads_total"),
        Some(2.0)
    );

    let downloads = fake.requests_to(Host::Download);
    assert_eq!(downloads.len(), 2, "every shard downloaded once");
    assert!(downloads.iter().all(|d| d.path.contains(SIGNATURE)));
    let api = fake.requests_to(Host::Api);
    assert_eq!(api.len(), 1);
    let call = &api[0];
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(call.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(call.header("x-github-api-version"), Some("2026-03-10"));
    assert!(call
        .header("user-agent")
        .unwrap()
        .starts_with("copilot-metrics-exporter/"));
    assert_no_secret_leaks(&fake, &run);
    common::promtool_check_metrics(out);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_content_is_not_an_error() {
    let fake = FakeGithub::start().await;
    fake.api(&org_report_path("quiet"), vec![Reply::raw(204, b"")]);
    let run = run_once(&fake, "quiet", &[]).await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(!run.stdout.contains("copilot_daily_active_users"));
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_collect_success{org=\"quiet\"}"
        ),
        Some(1.0)
    );
}

async fn failing(status: u16, body: &str, headers: &[(&str, &str)]) -> Run {
    let fake = FakeGithub::start().await;
    let mut reply = Reply::json(status, body);
    for (n, v) in headers {
        reply = reply.with_header(n, v);
    }
    fake.api(&org_report_path("bad"), vec![reply]);
    let run = run_once(&fake, "bad", &[]).await;
    assert_eq!(
        run.code, 1,
        "a failed scope fails --once; stderr: {}",
        run.stderr
    );
    assert_eq!(
        value(&run.stdout, "copilot_exporter_collect_success{org=\"bad\"}"),
        Some(0.0)
    );
    assert_no_secret_leaks(&fake, &run);
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_401() {
    let run = failing(
        401,
        r#"{"message":"Requires authentication","documentation_url":"x","status":"401"}"#,
        &[],
    )
    .await;
    assert!(run.stderr.contains("bad_credentials"), "{}", run.stderr);
    assert!(
        run.stderr.contains("GHC_TOKEN"),
        "the hint names the setting: {}",
        run.stderr
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_requests_failed_total{status_code=\"401\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_github_failures_total{reason=\"bad_credentials\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_disabled_403() {
    let body =
        include_str!("fixtures/github/errors/403-usage-metrics-policy-disabled.message-only.json");
    let run = failing(403, body, &[]).await;
    assert!(run.stderr.contains("policy_disabled"), "{}", run.stderr);
    assert!(
        run.stderr.contains("must be enabled"),
        "GitHub's message is shown: {}",
        run.stderr
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_github_failures_total{reason=\"policy_disabled\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_permission_403() {
    let body =
        include_str!("fixtures/github/errors/403-resource-not-accessible-by-integration.json");
    let run = failing(
        403,
        body,
        &[(
            "x-accepted-github-permissions",
            "organization_copilot_metrics=read",
        )],
    )
    .await;
    assert!(run.stderr.contains("forbidden"), "{}", run.stderr);
    assert!(
        run.stderr.contains("organization_copilot_metrics=read"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_404() {
    let run = failing(
        404,
        include_str!("fixtures/github/errors/404-not-found.json"),
        &[],
    )
    .await;
    assert!(run.stderr.contains("not_found"), "{}", run.stderr);
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_requests_failed_total{status_code=\"404\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_5xx() {
    let run = failing(502, "<html>Bad gateway</html>", &[]).await;
    assert!(run.stderr.contains("server_error"), "{}", run.stderr);
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_github_failures_total{reason=\"server_error\"}"
        ),
        Some(4.0),
        "the first attempt and three retries failed"
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_github_retries_total{reason=\"server_error\"}"
        ),
        Some(3.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_lines_are_skipped_and_counted() {
    let fake = FakeGithub::start().await;
    let mut content = Vec::new();
    content.extend_from_slice(record(vec![day("2025-10-01", 9, "vscode")]).as_bytes());
    content.extend_from_slice(b"\n{\"day_totals\": [tru\n"); // cut off: the next row starts
    content.extend_from_slice(b"{\"day_totals\": [{\"day\": 17}]}\n"); // wrong type
    content.extend_from_slice(b"\xff\xfe not utf-8 \xc3\x28\n"); // invalid UTF-8
    content.extend_from_slice(b"\n   \n"); // blank: ignored
    content.extend_from_slice(b"\"not an object\"\n");
    fake.file("bad.ndjson", vec![Reply::raw(200, &content)]);
    let envelope = json!({"download_links": [format!("{}/files/bad.ndjson?{SIGNATURE}", fake.download_url)],
                          "report_start_day": "2025-09-04", "report_end_day": "2025-10-01"});
    fake.api(
        &org_report_path("octo"),
        vec![Reply::json(200, &envelope.to_string())],
    );
    let run = run_once(&fake, "octo", &[]).await;
    assert_eq!(
        run.code, 0,
        "malformed lines do not fail the scope: {}",
        run.stderr
    );
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"octo\"}"),
        Some(9.0)
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_invalid_report_lines_total{report=\"organization-28-day\"}"
        ),
        Some(4.0),
        "{}",
        run.stdout
    );
    // Each skipped row is logged with its file and row number.
    for row in [2, 3, 4, 5] {
        assert!(
            run.stderr.contains(&format!("row={row}")),
            "row {row} not logged: {}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("/files/bad.ndjson"));
    assert!(run.stderr.contains("organization-28-day"));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_org_does_not_hide_the_others() {
    let fake = FakeGithub::start().await;
    fake.report(
        &org_report_path("good"),
        &[("g.ndjson", &record(vec![day("2025-10-01", 3, "vscode")]))],
    );
    fake.api(
        &org_report_path("denied"),
        vec![Reply::json(
            403,
            include_str!("fixtures/github/errors/403-insufficient-org-role.message-only.json"),
        )],
    );
    fake.report(
        &org_report_path("also-good"),
        &[("a.ndjson", &record(vec![day("2025-10-01", 4, "vscode")]))],
    );
    let run = run_once(&fake, "good,denied,also-good", &[]).await;
    assert_eq!(run.code, 1);
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"good\"}"),
        Some(3.0)
    );
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"also-good\"}"),
        Some(4.0)
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_collect_success{org=\"denied\"}"
        ),
        Some(0.0)
    );
    assert!(run.stderr.contains("org=denied"), "{}", run.stderr);
    common::promtool_check_metrics(&run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_link_gets_a_fresh_envelope_once() {
    let fake = FakeGithub::start().await;
    let path = org_report_path("octo");
    fake.report(
        &path,
        &[("one.ndjson", &record(vec![day("2025-10-01", 6, "vscode")]))],
    );
    fake.file(
        "one.ndjson",
        vec![
            Reply::raw(403, b"<Error><Code>AuthenticationFailed</Code><Message>Signature expired</Message></Error>"),
            Reply::raw(200, record(vec![day("2025-10-01", 6, "vscode")]).as_bytes()),
        ],
    );
    let run = run_once(&fake, "octo", &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"octo\"}"),
        Some(6.0)
    );
    assert_eq!(
        fake.requests_to(Host::Api).len(),
        2,
        "exactly one fresh envelope"
    );

    // A link refused twice fails the report cleanly.
    let fake = FakeGithub::start().await;
    fake.report(&path, &[("one.ndjson", "")]);
    fake.file("one.ndjson", vec![Reply::raw(403, b"expired")]);
    let run = run_once(&fake, "octo", &[]).await;
    assert_eq!(run.code, 1);
    assert_eq!(fake.requests_to(Host::Api).len(), 2);
    assert!(
        run.stderr.contains("report download refused"),
        "{}",
        run.stderr
    );
    assert_no_secret_leaks(&fake, &run);
}

#[tokio::test(flavor = "multi_thread")]
async fn enterprise_reports_use_the_enterprise_endpoint() {
    let fake = FakeGithub::start().await;
    let docs: serde_json::Value = serde_json::from_str(include_str!(
        "fixtures/github/usage-metrics-ndjson-enterprise-28-day.docs-example.json"
    ))
    .unwrap();
    // The docs show a JSON array; the real file is NDJSON, one record a line.
    let ndjson: String = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{r}\n"))
        .collect();
    fake.report(
        "/enterprises/acme/copilot/metrics/reports/enterprise-28-day/latest",
        &[("e.ndjson", &ndjson)],
    );
    let out = common::run_exporter(
        &["--once"],
        &[
            ("GHC_TOKEN", TOKEN),
            ("ENTERPRISE", "acme"),
            ("GITHUB_API_URL", &fake.api_url),
        ],
    )
    .await;
    let stdout = out.stdout;
    assert_eq!(out.code, 0);
    // Both docs records carry the same day; the first record's values win and
    // the repeats are counted.
    assert_eq!(
        value(&stdout, "copilot_daily_active_users{enterprise=\"acme\"}"),
        Some(2.0)
    );
    assert_eq!(
        value(&stdout, "copilot_loc_added{enterprise=\"acme\"}"),
        Some(30.0)
    );
    assert_eq!(
        value(
            &stdout,
            "copilot_cli_token_usage_output_tokens{enterprise=\"acme\"}"
        ),
        Some(7000.0)
    );
    assert!(value(&stdout, "copilot_exporter_duplicate_series_total").unwrap() > 0.0);
}
