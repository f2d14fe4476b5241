//! GitHub etiquette under faults: rate limits (retry-after, reset, secondary
//! without hints), 5xx that recover, timeouts, the refresh deadline, and the
//! size limits.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::fake_github::{FakeGithub, Host, Reply};
use common::{value, Run};

const PATH: &str = "/orgs/octo/copilot/metrics/reports/organization-28-day/latest";
const RATE_LIMITED: &str = r#"{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}"#;

fn good_report(fake: &FakeGithub, dau: u64) {
    let row = serde_json::json!({"day_totals": [{"day": "2025-10-01", "daily_active_users": dau}]});
    fake.report(PATH, &[("r.ndjson", &row.to_string())]);
}

/// Scripts `first` answers before the good envelope on the report path.
fn then_good(fake: &FakeGithub, first: Vec<Reply>, dau: u64) {
    good_report(fake, dau);
    let good = Reply::json(
        200,
        &serde_json::json!({"download_links": [format!("{}/files/r.ndjson?sig=x", fake.download_url)]}).to_string(),
    );
    let mut replies = first;
    replies.push(good);
    fake.api(PATH, replies);
}

async fn run_once(fake: &FakeGithub, extra: &[(&str, &str)]) -> Run {
    let mut env = vec![
        ("GHC_TOKEN", "ghp_faulty"),
        ("ORG", "octo"),
        ("GITHUB_API_URL", fake.api_url.as_str()),
        ("GITHUB_RETRY_MIN_MS", "20"),
        ("GITHUB_RETRY_MAX_MS", "200"),
        // Seats are on by default; these tests count report requests only.
        ("SEATS", "false"),
    ];
    env.extend_from_slice(extra);
    common::run_exporter(&["--once"], &env).await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_waits_for_retry_after() {
    let fake = FakeGithub::start().await;
    then_good(
        &fake,
        vec![Reply::json(
            429,
            r#"{"message":"You have exceeded a secondary rate limit"}"#,
        )
        .with_header("retry-after", "2")],
        5,
    );
    let started = Instant::now();
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "retry-after was not honoured"
    );
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"octo\"}"),
        Some(5.0)
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_github_retries_total{reason=\"rate_limited\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_requests_failed_total{status_code=\"429\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn primary_rate_limit_waits_until_reset() {
    let fake = FakeGithub::start().await;
    // Two seconds ahead: the wait still ends after the reset when the
    // exporter starts late on a loaded machine.
    let reset = (unix_now() + 2).to_string();
    then_good(
        &fake,
        vec![Reply::json(403, RATE_LIMITED)
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-limit", "5000")
            .with_header("x-ratelimit-reset", &reset)],
        6,
    );
    let started = Instant::now();
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "did not wait for x-ratelimit-reset"
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_github_failures_total{reason=\"rate_limited\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secondary_limit_without_hints_backs_off() {
    let fake = FakeGithub::start().await;
    then_good(
        &fake,
        vec![
            Reply::json(
                403,
                r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#,
            ),
            Reply::json(
                403,
                r#"{"message":"You have exceeded a secondary rate limit."}"#,
            ),
        ],
        7,
    );
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_github_retries_total{reason=\"rate_limited\"}"
        ),
        Some(2.0)
    );
    // Serial requests: never two API calls in flight (3 calls, in order).
    assert_eq!(fake.requests_to(Host::Api).len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_beyond_the_refresh_deadline_fails_fast() {
    let fake = FakeGithub::start().await;
    let reset = (unix_now() + 3600).to_string();
    fake.api(
        PATH,
        vec![Reply::json(403, RATE_LIMITED)
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset", &reset)],
    );
    let started = Instant::now();
    let run = run_once(&fake, &[("CACHE_TTL_SECONDS", "5")]).await;
    assert_eq!(run.code, 1);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "waited instead of failing"
    );
    assert!(run.stderr.contains("rate_limited"), "{}", run.stderr);
    assert!(run.stderr.contains("deadline"), "{}", run.stderr);
    assert_eq!(
        value(&run.stdout, "copilot_exporter_github_rate_limit_remaining"),
        Some(0.0)
    );
    assert_eq!(fake.requests_to(Host::Api).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_that_recover_are_retried() {
    let fake = FakeGithub::start().await;
    then_good(
        &fake,
        vec![Reply::raw(500, b"oops"), Reply::raw(503, b"busy")],
        8,
    );
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"octo\"}"),
        Some(8.0)
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_github_retries_total{reason=\"server_error\"}"
        ),
        Some(2.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_are_not_retried() {
    let fake = FakeGithub::start().await;
    fake.api(
        PATH,
        vec![Reply::json(422, r#"{"message":"Validation Failed"}"#)],
    );
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 1);
    assert_eq!(fake.requests_to(Host::Api).len(), 1);
    assert!(run.stderr.contains("client_error"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_answers_time_out_and_are_classified() {
    let fake = FakeGithub::start().await;
    fake.api(
        PATH,
        vec![Reply::json(200, "{}").delayed(Duration::from_secs(3))],
    );
    let run = run_once(
        &fake,
        &[("GITHUB_TIMEOUT_SECONDS", "1"), ("GITHUB_MAX_RETRIES", "1")],
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_requests_failed_total{status_code=\"timeout\"}"
        ),
        Some(2.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_github_is_classified() {
    let port = common::free_port();
    let api = format!("http://127.0.0.1:{port}");
    let run = common::run_exporter(
        &["--once"],
        &[
            ("GHC_TOKEN", "t"),
            ("ORG", "octo"),
            ("GITHUB_API_URL", &api),
            ("GITHUB_MAX_RETRIES", "0"),
        ],
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("unreachable"), "{}", run.stderr);
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_requests_failed_total{status_code=\"request_exception\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn envelopes_and_reports_are_size_bounded() {
    // An envelope over the 8 MiB cap.
    let fake = FakeGithub::start().await;
    let huge = format!(
        r#"{{"download_links": [], "padding": "{}"}}"#,
        "x".repeat(9 * 1024 * 1024)
    );
    fake.api(PATH, vec![Reply::json(200, &huge)]);
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("invalid_response"), "{}", run.stderr);

    // A report over MAX_REPORT_BYTES.
    let fake = FakeGithub::start().await;
    let row = serde_json::json!({"day_totals": [{"day": "2025-10-01", "daily_active_users": 1}]})
        .to_string();
    let big = format!("{row}\n").repeat(200);
    fake.report(PATH, &[("big.ndjson", &big)]);
    let run = run_once(&fake, &[("MAX_REPORT_BYTES", "4096")]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("MAX_REPORT_BYTES"), "{}", run.stderr);

    // A line over MAX_LINE_BYTES is skipped and counted; the rest is read.
    let fake = FakeGithub::start().await;
    let long = format!("{{\"pad\": \"{}\"}}", "y".repeat(5000));
    fake.report(PATH, &[("l.ndjson", &format!("{long}\n{row}\n"))]);
    let run = run_once(&fake, &[("MAX_LINE_BYTES", "2048")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"octo\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(
            &run.stdout,
            "copilot_exporter_invalid_report_lines_total{report=\"organization-28-day\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn download_host_errors_before_the_first_byte_are_retried() {
    let fake = FakeGithub::start().await;
    good_report(&fake, 9);
    let row = serde_json::json!({"day_totals": [{"day": "2025-10-01", "daily_active_users": 9}]})
        .to_string();
    fake.file(
        "r.ndjson",
        vec![
            Reply::raw(503, b"busy"),
            Reply::raw(500, b"oops"),
            Reply::raw(200, row.as_bytes()),
        ],
    );
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"octo\"}"),
        Some(9.0)
    );
    assert_eq!(fake.requests_to(Host::Download).len(), 3);
    assert_eq!(
        fake.requests_to(Host::Api).len(),
        1,
        "no new envelope needed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_download_errors_never_quote_the_storage_body() {
    let fake = FakeGithub::start().await;
    good_report(&fake, 1);
    // An Azure-style refusal that quotes the string to sign.
    fake.file(
        "r.ndjson",
        vec![Reply::raw(
            403,
            b"<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Signature did not match. String to sign used was r\nSTRING-TO-SIGN-SECRET</Message></Error>",
        )],
    );
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("AuthenticationFailed"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("STRING-TO-SIGN-SECRET"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_that_vanishes_mid_read_fails_instead_of_counting_half() {
    let fake = FakeGithub::start().await;
    let row = serde_json::json!({"day_totals": [{"day": "2025-10-01", "daily_active_users": 1}]})
        .to_string();
    fake.report(PATH, &[("a.ndjson", &row), ("b.ndjson", &row)]);
    fake.file("b.ndjson", vec![Reply::raw(403, b"expired")]);
    // First envelope: two links; the refresh after the refused second link: 204.
    let links = serde_json::json!({"download_links": [
        format!("{}/files/a.ndjson?sig=x", fake.download_url),
        format!("{}/files/b.ndjson?sig=x", fake.download_url),
    ]});
    fake.api(
        PATH,
        vec![Reply::json(200, &links.to_string()), Reply::raw(204, b"")],
    );
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("vanished"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn download_429_is_retried_honouring_retry_after() {
    let fake = FakeGithub::start().await;
    good_report(&fake, 4);
    let row = serde_json::json!({"day_totals": [{"day": "2025-10-01", "daily_active_users": 4}]})
        .to_string();
    fake.file(
        "r.ndjson",
        vec![
            Reply::raw(429, b"slow down").with_header("retry-after", "1"),
            Reply::raw(200, row.as_bytes()),
        ],
    );
    let started = Instant::now();
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        value(&run.stdout, "copilot_daily_active_users{org=\"octo\"}"),
        Some(4.0)
    );
}
