//! Delivery you can trust: receiver error classes, `Retry-After`, health on
//! every sink. The two field cases of `../shared/cases/` with their
//! `CASE.md` values (`rw-auth-error-keeps-history`, `rw-retry-after-zero`),
//! run through the real binary on the built-in demo reports (a 28-day
//! report whose newest day is two days old: 26 settled days with the
//! default `BACKFILL_DAYS=28` and `REMOTE_WRITE_SETTLE_DAYS=3`).
//!
//! Real servers where one shows the behaviour (a Prometheus addressed on a
//! route it does not serve answers 404); the fake receiver where none does
//! on demand (401 by tenant header or by token, 429 with hints).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::fake_receiver::{Answer, FakeReceiver, Received};
use common::Run;

use common::DAY_MS;
const NOON_MS: i64 = 12 * 3_600_000;
/// The series counted per day: one sample per report day.
const DAU: &str = "copilot_daily_active_users";

/// Settled report days the demo gives with the defaults: today−28 … today−3.
fn settled_days() -> Vec<i64> {
    common::settled_days(28, 3)
}

/// Accepted `report-day` samples of `copilot_daily_active_users{org="octo-demo"}`
/// per report day (ms at 00:00 UTC).
fn accepted_dau_samples(received: &[Received]) -> BTreeMap<i64, usize> {
    let mut days = BTreeMap::new();
    for r in received.iter().filter(|r| (200..300).contains(&r.status)) {
        let Some(request) = r.write_request() else {
            continue;
        };
        for series in &request.timeseries {
            let is = |n: &str, v: &str| series.labels.iter().any(|l| l.name == n && l.value == v);
            if !(is("__name__", DAU) && is("org", "octo-demo") && series.labels.len() == 2) {
                continue;
            }
            for sample in &series.samples {
                if sample.timestamp.rem_euclid(DAY_MS) == NOON_MS {
                    *days.entry(sample.timestamp - NOON_MS).or_insert(0) += 1;
                }
            }
        }
    }
    days
}

/// `--demo --once` for one organization, `report-day` mode into `url` with
/// `STATE_DIR`, plus `extra`.
async fn report_day_run(url: &str, state: &std::path::Path, extra: &[(&str, &str)]) -> Run {
    let state = state.display().to_string();
    let mut env = vec![
        ("ORG", "octo-demo"),
        ("SEATS", "false"),
        ("REMOTE_WRITE_URL", url),
        ("REMOTE_WRITE_TIMESTAMPS", "report-day"),
        ("STATE_DIR", state.as_str()),
        ("REMOTE_WRITE_MAX_RETRY_SECONDS", "2"),
    ];
    env.extend_from_slice(extra);
    common::run_exporter(&["--demo", "--once"], &env).await
}

/// Every settled day arrived, exactly one sample each.
fn assert_every_day_once(days: &BTreeMap<i64, usize>, what: &str) {
    assert_eq!(
        days.keys().copied().collect::<Vec<_>>(),
        settled_days(),
        "{what}: every settled day"
    );
    assert_eq!(days.len(), 26, "{what}");
    assert!(days.values().all(|n| *n == 1), "{what}: {days:?}");
}

/// Case `rw-auth-error-keeps-history`, runs 1 and 3: a receiver that wants a
/// tenant header (Mimir: `401 no org id`), then one whose bearer token
/// expired. Each failing run exits 1 quoting the receiver; the run after
/// the fix delivers all 26 days, one sample each.
#[tokio::test(flavor = "multi_thread")]
async fn case_rw_auth_error_keeps_history_401_tenant_and_expired_token() {
    // Run 1: 401 without X-Scope-OrgID.
    let receiver = FakeReceiver::start(vec![Answer::status(204, "")]).await;
    receiver.gate(Some(Arc::new(|r: &Received| {
        (r.header("x-scope-orgid") != Some("team-a")).then(|| Answer::status(401, "no org id"))
    })));
    let url = format!("{}/api/v1/write", receiver.base);
    let state = tempfile::tempdir().unwrap();
    let run = report_day_run(&url, state.path(), &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("HTTP 401: no org id"), "{}", run.stderr);
    assert!(accepted_dau_samples(&receiver.received()).is_empty());
    // The fix: the tenant header.
    let run = report_day_run(
        &url,
        state.path(),
        &[("REMOTE_WRITE_HEADERS", "X-Scope-OrgID=team-a")],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_every_day_once(&accepted_dau_samples(&receiver.received()), "tenant");

    // Run 3: an expired bearer token.
    let receiver = FakeReceiver::start(vec![Answer::status(204, "")]).await;
    receiver.gate(Some(Arc::new(|r: &Received| {
        (r.header("authorization") != Some("Bearer fresh-token"))
            .then(|| Answer::status(401, "token expired"))
    })));
    let url = format!("{}/api/v1/write", receiver.base);
    let state = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    std::fs::write(&token_file, "stale-token\n").unwrap();
    let token = token_file.display().to_string();
    let auth = [("REMOTE_WRITE_BEARER_TOKEN_FILE", token.as_str())];
    let run = report_day_run(&url, state.path(), &auth).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("HTTP 401: token expired"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("stale-token"),
        "the token reached a log"
    );
    std::fs::write(&token_file, "fresh-token\n").unwrap();
    let run = report_day_run(&url, state.path(), &auth).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_every_day_once(&accepted_dau_samples(&receiver.received()), "token");
}

/// Case `rw-auth-error-keeps-history`, run 2, on a real Prometheus (with an
/// out-of-order window, so it takes history): addressed on a route it does
/// not serve, it answers 404; after the URL is fixed all 26 days are there,
/// one sample each.
#[tokio::test(flavor = "multi_thread")]
async fn case_rw_auth_error_keeps_history_404_wrong_route_on_prometheus() {
    let Some(prom) = common::servers::prometheus(
        "global:\n  scrape_interval: 1h\nstorage:\n  tsdb:\n    out_of_order_time_window: 60d\n",
    ) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let wrong = format!("{}/api/v1/push", prom.base);
    let run = report_day_run(&wrong, state.path(), &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("HTTP 404"), "{}", run.stderr);
    assert!(run.stderr.contains("/api/v1/push"), "{}", run.stderr);

    let right = format!("{}/api/v1/write", prom.base);
    let run = report_day_run(&right, state.path(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = common::servers::query(
        &prom.base,
        &format!("{DAU}{{org=\"octo-demo\"}}[40d]"),
        Some(SystemTime::now()),
    )
    .await;
    assert_eq!(result.len(), 1, "{result:?}");
    let mut days: BTreeMap<i64, usize> = BTreeMap::new();
    for point in result[0]["values"].as_array().unwrap() {
        let ms = (point[0].as_f64().unwrap() * 1000.0).round() as i64;
        assert_eq!(ms.rem_euclid(DAY_MS), NOON_MS, "stamped at noon UTC");
        *days.entry(ms - NOON_MS).or_insert(0) += 1;
    }
    assert_every_day_once(&days, "prometheus");
}

/// Attempts of each request chain (a first attempt and its retries, told
/// apart by `Retry-Attempt`), with their arrival times.
fn chains(received: &[Received]) -> Vec<Vec<std::time::Instant>> {
    let mut chains: Vec<Vec<std::time::Instant>> = Vec::new();
    for r in received {
        match (r.header("retry-attempt"), chains.last_mut()) {
            (Some(_), Some(chain)) => chain.push(r.at),
            _ => chains.push(vec![r.at]),
        }
    }
    chains
}

/// Case `rw-retry-after-zero`: every request answered 429 with
/// `Retry-After: 0` (then a date an hour in the past) and
/// `REMOTE_WRITE_MAX_RETRY_SECONDS=4`: a handful of attempts following the
/// documented backoff (first retry after 0.5 s less up to half of it as
/// jitter, doubling), then exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn case_rw_retry_after_zero_or_past_date_never_shortens_the_backoff() {
    let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(3600));
    for hint in ["0".to_string(), past] {
        let receiver = FakeReceiver::start(vec![
            Answer::status(429, "slow down").with_header("retry-after", hint.clone())
        ])
        .await;
        let url = format!("{}/api/v1/write", receiver.base);
        let run = common::run_exporter(
            &["--demo", "--once"],
            &[
                ("ORG", "octo-demo"),
                ("SEATS", "false"),
                ("REMOTE_WRITE_URL", &url),
                ("REMOTE_WRITE_MAX_RETRY_SECONDS", "4"),
            ],
        )
        .await;
        assert_eq!(run.code, 1, "{hint}: {}", run.stderr);
        let received = receiver.received();
        let chains = chains(&received);
        assert!(!chains.is_empty());
        eprintln!(
            "Retry-After {hint}: {} requests, attempts per chain {:?}",
            received.len(),
            chains.iter().map(Vec::len).collect::<Vec<_>>()
        );
        for chain in &chains {
            // Waits of at least 0.25, 0.5, 1, 2 s fit into 4 s: 4 or 5 attempts.
            assert!(
                (3..=6).contains(&chain.len()),
                "{hint}: {} attempts in one chain ({} requests in all)",
                chain.len(),
                received.len()
            );
            for (n, pair) in chain.windows(2).enumerate() {
                let gap = pair[1] - pair[0];
                let floor = Duration::from_millis(250 << n);
                assert!(
                    gap + Duration::from_millis(20) >= floor,
                    "{hint}: retry {} after {gap:?}, the backoff says at least {floor:?}",
                    n + 1
                );
            }
            let span = *chain.last().unwrap() - chain[0];
            assert!(span <= Duration::from_millis(4200), "{hint}: {span:?}");
        }
        assert!(run.stderr.contains("HTTP 429: slow down"), "{}", run.stderr);
    }
}
