//! One Retry-After rule for the GitHub API client and the signed-link
//! downloads (both on `src/retry.rs`): the wait is max(Retry-After, own
//! backoff); 0, negative, past dates and garbage never shorten it; a hint
//! beyond what is left of the refresh deadline ends the retries at once.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::fake_github::{FakeGithub, Host, Reply};
use common::{value, Run};

const PATH: &str = "/orgs/octo/copilot/metrics/reports/organization-28-day/latest";
/// Own backoff: 600 ms base, half of it random, so never under 300 ms.
const MIN_WAIT: Duration = Duration::from_millis(300);

fn good_report(fake: &FakeGithub) {
    let row = r#"{"day_totals": [{"day": "2025-10-01", "daily_active_users": 3}]}"#;
    fake.report(PATH, &[("r.ndjson", row)]);
}

async fn run_once(fake: &FakeGithub, extra: &[(&str, &str)]) -> Run {
    // A fixed 600 ms backoff (the later settings win over the helper's).
    let mut settings = vec![
        ("GITHUB_RETRY_MIN_MS", "600"),
        ("GITHUB_RETRY_MAX_MS", "600"),
    ];
    settings.extend_from_slice(extra);
    common::run_once_for_octo(fake.api_url.as_str(), "ghp_retry", &settings).await
}

/// A fake whose report file first answers `status` with a `Retry-After` of
/// `hint`, then a good day.
async fn fake_with_hinted_download(status: u16, body: &[u8], hint: &str) -> FakeGithub {
    let fake = FakeGithub::start().await;
    good_report(&fake);
    fake.file(
        "r.ndjson",
        vec![
            Reply::raw(status, body).with_header("retry-after", hint),
            Reply::raw(
                200,
                br#"{"day_totals": [{"day": "2025-10-01", "daily_active_users": 3}]}"#,
            ),
        ],
    );
    fake
}

/// The gap between the first two requests to `host`.
fn gap(fake: &FakeGithub, host: Host) -> Duration {
    let requests = fake.requests_to(host);
    assert!(requests.len() >= 2, "{requests:?}");
    requests[1].at.duration_since(requests[0].at)
}

/// Hints that must not shorten the backoff.
fn short_hints() -> Vec<String> {
    vec![
        "0".into(),
        "-5".into(),
        "soon".into(),
        "1.5".into(),
        httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(3600)),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn api_hints_of_zero_negative_past_or_garbage_never_shorten_the_backoff() {
    for hint in short_hints() {
        let fake = FakeGithub::start().await;
        good_report(&fake);
        let envelope = common::fake_github::envelope(&[fake.link_to("r.ndjson")]);
        fake.api(
            PATH,
            vec![
                Reply::json(
                    429,
                    r#"{"message":"You have exceeded a secondary rate limit"}"#,
                )
                .with_header("retry-after", &hint),
                Reply::json(200, &envelope),
            ],
        );
        let run = run_once(&fake, &[]).await;
        assert_eq!(run.code, 0, "{hint}: {}", run.stderr);
        assert!(
            gap(&fake, Host::Api) >= MIN_WAIT,
            "{hint}: {:?}",
            gap(&fake, Host::Api)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn download_hints_of_zero_negative_past_or_garbage_never_shorten_the_backoff() {
    for hint in short_hints() {
        let fake = fake_with_hinted_download(503, b"busy", &hint).await;
        let run = run_once(&fake, &[]).await;
        assert_eq!(run.code, 0, "{hint}: {}", run.stderr);
        assert_eq!(
            value(&run.stdout, "copilot_daily_active_users{org=\"octo\"}"),
            Some(3.0)
        );
        let waited = gap(&fake, Host::Download);
        assert!(waited >= MIN_WAIT, "{hint}: {waited:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_longer_hint_wins_over_the_backoff_in_seconds_and_as_a_date() {
    for as_date in [false, true] {
        let (hint, at_least) = if as_date {
            let at = SystemTime::now() + Duration::from_secs(3);
            (httpdate::fmt_http_date(at), 1000)
        } else {
            ("2".to_string(), 2000)
        };
        let fake = fake_with_hinted_download(429, b"slow down", &hint).await;
        let run = run_once(&fake, &[]).await;
        assert_eq!(run.code, 0, "{hint}: {}", run.stderr);
        let waited = gap(&fake, Host::Download);
        assert!(
            waited >= Duration::from_millis(at_least),
            "{hint}: {waited:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hint_beyond_the_refresh_deadline_ends_the_retries_at_once() {
    // API: a 503 asking for an hour, with a 5 s refresh.
    let fake = FakeGithub::start().await;
    fake.api(
        PATH,
        vec![Reply::json(503, r#"{"message":"busy"}"#).with_header("retry-after", "3600")],
    );
    let started = Instant::now();
    let run = run_once(&fake, &[("CACHE_TTL_SECONDS", "5")]).await;
    assert_eq!(run.code, 1);
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(fake.requests_to(Host::Api).len(), 1);
    assert!(run.stderr.contains("deadline"), "{}", run.stderr);

    // Downloads: the same rule.
    let fake = FakeGithub::start().await;
    good_report(&fake);
    fake.file(
        "r.ndjson",
        vec![Reply::raw(503, b"busy").with_header("retry-after", "3600")],
    );
    let started = Instant::now();
    let run = run_once(&fake, &[("CACHE_TTL_SECONDS", "5")]).await;
    assert_eq!(run.code, 1);
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(fake.requests_to(Host::Download).len(), 1);
    assert!(run.stderr.contains("download_failed"), "{}", run.stderr);
    assert!(run.stderr.contains("deadline"), "{}", run.stderr);
}
