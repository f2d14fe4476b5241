//! Sinks agree: health on every sink (also after a failed scope), a failed
//! scope's last good data kept everywhere, the snapshot re-sent between
//! refreshes, external labels, and label names a receiver owns, on a real
//! Prometheus and a real Pushgateway (the fake receiver only where a real
//! server cannot show the behaviour: counting re-sends, 429 hints).
//!
//! GitHub is the in-test fake: organization `good` has a report whose
//! rows carry a `job` and an `instance` dimension; `bad` answers 404.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::fake_github::{FakeGithub, Reply};
use common::fake_receiver::{Answer, FakeReceiver, Received};
use common::servers::{self, query, scalar, wait_for_series};
use common::{parse_exposition, Run};
use serde_json::json;

const TOKEN: &str = "ghp_TESTTOKEN0123456789";

fn report_path(org: &str) -> String {
    format!("/orgs/{org}/copilot/metrics/reports/organization-28-day/latest")
}

/// One report line: one day, with `totals_by_job[]` whose elements carry
/// `job` and `instance` strings (labels a receiver owns).
fn report(dau: u64) -> String {
    let day = json!({
        "day": "2025-10-01", "organization_id": "1", "daily_active_users": dau,
        "totals_by_job": [{"job": "build", "instance": "ci-1", "code_generation_activity_count": 3}]
    });
    format!("{}\n", json!({"day_totals": [day], "organization_id": "1"}))
}

async fn github() -> FakeGithub {
    let fake = FakeGithub::start().await;
    fake.report(&report_path("good"), &[("good.ndjson", &report(7))]);
    fake
}

fn env<'a>(fake: &'a FakeGithub, orgs: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("GHC_TOKEN", TOKEN),
        ("ORG", orgs),
        ("GITHUB_API_URL", fake.api_url.as_str()),
        ("GITHUB_MAX_RETRIES", "0"),
        ("SEATS", "false"),
        ("LOG_LEVEL", "info"),
    ]
}

async fn once(fake: &FakeGithub, orgs: &str, extra: &[(&str, &str)]) -> Run {
    let mut all = env(fake, orgs);
    all.extend_from_slice(extra);
    common::run_exporter(&["--once"], &all).await
}

/// `--once` with only `REMOTE_WRITE_URL` into a stock Prometheus, one scope
/// good and one failing: the health series alerts need are queryable
/// afterwards, every series carries the external labels, and the data
/// labels `job` / `instance` arrive as `exported_job` / `exported_instance`.
#[tokio::test(flavor = "multi_thread")]
async fn once_remote_write_only_makes_health_queryable_in_prometheus() {
    let Some(prom) = servers::prometheus("global:\n  scrape_interval: 1h\n") else {
        return;
    };
    let fake = github().await;
    let url = format!("{}/api/v1/write", prom.base);
    let run = once(
        &fake,
        "good,bad",
        &[
            ("REMOTE_WRITE_URL", &url),
            ("LISTEN_ADDR", ""),
            ("EXTERNAL_LABELS", "cluster=eu-1,environment=prod"),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "a scope failed: {}", run.stderr);
    let base = prom.base.as_str();
    let ext = r#"cluster="eu-1",environment="prod""#;
    let found = wait_for_series(base, "copilot_exporter_build_info", Duration::from_secs(10)).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["metric"]["version"], env!("CARGO_PKG_VERSION"));
    for (promql, want) in [
        (format!("copilot_exporter_collect_success{{org=\"good\",{ext}}}"), 1.0),
        (format!("copilot_exporter_collect_success{{org=\"bad\",{ext}}}"), 0.0),
        (format!("copilot_exporter_refreshes_total{{result=\"partial\",{ext}}}"), 1.0),
        (format!("copilot_exporter_github_failures_total{{reason=\"not_found\",{ext}}}"), 1.0),
        (format!("copilot_exporter_github_failures_total{{reason=\"bad_credentials\",{ext}}}"), 0.0),
        (format!("copilot_daily_active_users{{org=\"good\",{ext}}}"), 7.0),
        (
            format!(
                "copilot_code_generation_activity_by_job{{org=\"good\",exported_job=\"build\",exported_instance=\"ci-1\",{ext}}}"
            ),
            3.0,
        ),
    ] {
        assert_eq!(scalar(base, &promql).await, want, "{promql}");
    }
    let last = scalar(
        base,
        "copilot_exporter_last_success_timestamp_seconds{org=\"good\"}",
    )
    .await;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last).abs() < 120.0, "{last} vs {now}");
    assert!(
        query(
            base,
            "copilot_exporter_last_success_timestamp_seconds{org=\"bad\"}",
            None
        )
        .await
        .is_empty(),
        "never succeeded: no timestamp, not 0"
    );
    assert!(
        !query(base, "copilot_exporter_remote_write_requests_total", None)
            .await
            .is_empty()
    );
    // Every series carries the external labels; none a raw job/instance.
    assert!(
        query(base, "{__name__=~\"copilot_.+\",cluster!=\"eu-1\"}", None)
            .await
            .is_empty()
    );
    assert!(query(base, "{__name__=~\"copilot_.+\",job!=\"\"}", None)
        .await
        .is_empty());
}

/// The same data on `/metrics` (`--once` printing) and in a real
/// Pushgateway: `exported_job` / `exported_instance`, the group accepted;
/// external labels in the grouping key, not on `/metrics`.
#[tokio::test(flavor = "multi_thread")]
async fn labels_a_receiver_owns_are_exported_on_metrics_and_the_pushgateway() {
    let Some(pgw) = servers::pushgateway_isolated(None) else {
        return;
    };
    let fake = github().await;
    let printed = once(&fake, "good", &[("EXTERNAL_LABELS", "cluster=eu-1")]).await;
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let series = r#"copilot_code_generation_activity_by_job{exported_instance="ci-1",exported_job="build",org="good"}"#;
    assert_eq!(
        common::value(&printed.stdout, series),
        Some(3.0),
        "{}",
        printed.stdout
    );
    assert!(
        !printed.stdout.contains("cluster="),
        "external labels stay off /metrics"
    );
    common::promtool_check_metrics(&printed.stdout);

    let pushed = once(
        &fake,
        "good",
        &[
            ("PUSHGATEWAY_URL", &pgw.base),
            ("EXTERNAL_LABELS", "cluster=eu-1"),
        ],
    )
    .await;
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let (_, body) = common::http_get(&format!("{}/metrics", pgw.base)).unwrap();
    let landed = parse_exposition(&body);
    let want: BTreeMap<String, String> = [
        ("cluster", "eu-1"),
        ("exported_instance", "ci-1"),
        ("exported_job", "build"),
        ("instance", ""),
        ("job", "copilot-metrics-exporter"),
        ("org", "good"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        landed.get(&("copilot_code_generation_activity_by_job".to_string(), want)),
        Some(&3.0),
        "{body}"
    );
}

/// Bad `EXTERNAL_LABELS`: exit 2 naming the setting.
#[tokio::test(flavor = "multi_thread")]
async fn bad_external_labels_are_a_configuration_error() {
    let fake = github().await;
    for bad in ["org=x", "enterprise=y", "__x=1", "a-b=1", "cluster"] {
        let run = once(&fake, "good", &[("EXTERNAL_LABELS", bad)]).await;
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(
            run.stderr.contains("EXTERNAL_LABELS"),
            "{bad}: {}",
            run.stderr
        );
    }
}

/// CronJob mode: a scope that fails keeps its last good data in the
/// Pushgateway group, and the group says it failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_scope_keeps_its_pushgateway_group_and_reports_the_failure() {
    let Some(pgw) = servers::pushgateway_isolated(None) else {
        return;
    };
    let fake = github().await;
    let run = once(&fake, "good", &[("PUSHGATEWAY_URL", &pgw.base)]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // GitHub now fails for the organization.
    fake.api(
        &report_path("good"),
        vec![Reply::json(500, r#"{"message":"boom"}"#)],
    );
    let run = once(&fake, "good", &[("PUSHGATEWAY_URL", &pgw.base)]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let (_, body) = common::http_get(&format!("{}/metrics", pgw.base)).unwrap();
    let group = r#"{instance="",job="copilot-metrics-exporter",org="good"}"#;
    assert_eq!(
        common::value(&body, &format!("copilot_daily_active_users{group}")),
        Some(7.0),
        "{body}"
    );
    assert_eq!(
        common::value(&body, &format!("copilot_exporter_collect_success{group}")),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        common::value(
            &body,
            r#"copilot_exporter_github_failures_total{instance="",job="copilot-metrics-exporter",org="good",reason="server_error"}"#
        ),
        Some(1.0),
        "{body}"
    );
}

/// Data series of `received` requests: `(name, org)` → values in order.
fn data_samples(received: &[Received], name: &str) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    for r in received.iter().filter(|r| (200..300).contains(&r.status)) {
        let Some(req) = r.write_request() else {
            continue;
        };
        for s in &req.timeseries {
            if s.labels
                .iter()
                .any(|l| l.name == "__name__" && l.value == name)
            {
                out.extend(s.samples.iter().map(|x| (x.timestamp, x.value)));
            }
        }
    }
    out
}

/// Long-running `now` mode: the snapshot is re-sent every
/// `REMOTE_WRITE_INTERVAL_SECONDS` between refreshes, with fresh
/// timestamps; after GitHub starts failing, the last good values keep
/// coming with `collect_success` 0.
#[tokio::test(flavor = "multi_thread")]
async fn service_resends_the_snapshot_and_keeps_the_last_good_values_of_a_failed_scope() {
    let fake = github().await;
    let receiver = FakeReceiver::start(vec![Answer::status(204, "")]).await;
    let url = format!("{}/api/v1/write", receiver.base);
    let mut all = env(&fake, "good");
    all.extend_from_slice(&[
        ("REMOTE_WRITE_URL", url.as_str()),
        ("REMOTE_WRITE_INTERVAL_SECONDS", "1"),
        ("CACHE_TTL_SECONDS", "6"),
        ("LISTEN_ADDR", ""),
    ]);
    let mut child = common::spawn(
        common::exporter_command(&[], &all)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    let wait_for = |pred: &dyn Fn(&[Received]) -> bool, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !pred(&receiver.received()) {
            assert!(
                Instant::now() < deadline,
                "{what}: {} requests",
                receiver.received().len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // Re-sends between the refreshes: several samples of the newest day,
    // each with a later timestamp, long before the second refresh.
    wait_for(
        &|r| data_samples(r, "copilot_daily_active_users").len() >= 3,
        "re-sends",
    );
    let samples = data_samples(&receiver.received(), "copilot_daily_active_users");
    assert!(samples.windows(2).all(|w| w[0].0 < w[1].0), "{samples:?}");
    assert!(
        samples[2].0 - samples[0].0 < 5_000,
        "three samples within one refresh interval (6 s): {samples:?}"
    );
    assert!(samples.iter().all(|(_, v)| *v == 7.0));

    // GitHub fails from now on: the last good value keeps coming, and the
    // health says the scope failed.
    fake.api(
        &report_path("good"),
        vec![Reply::json(500, r#"{"message":"boom"}"#)],
    );
    wait_for(
        &|r| {
            data_samples(r, "copilot_exporter_collect_success")
                .iter()
                .any(|(_, v)| *v == 0.0)
        },
        "collect_success 0",
    );
    let failed_at = data_samples(&receiver.received(), "copilot_exporter_collect_success")
        .into_iter()
        .find(|(_, v)| *v == 0.0)
        .unwrap()
        .0;
    wait_for(
        &|r| {
            data_samples(r, "copilot_daily_active_users")
                .iter()
                .any(|(t, _)| *t > failed_at + 500)
        },
        "data after the failure",
    );
    let after: Vec<f64> = data_samples(&receiver.received(), "copilot_daily_active_users")
        .into_iter()
        .filter(|(t, _)| *t >= failed_at)
        .map(|(_, v)| v)
        .collect();
    assert!(
        !after.is_empty() && after.iter().all(|v| *v == 7.0),
        "{after:?}"
    );
    let _ = &mut child;
}

/// The Pushgateway honours 429 and `Retry-After`: retried, never faster
/// than the hint; a `Retry-After: 0` never shortens the own backoff.
#[tokio::test(flavor = "multi_thread")]
async fn pushgateway_retries_429_honouring_retry_after() {
    let fake = github().await;
    for (hint, floor) in [
        ("1", Duration::from_millis(950)),
        ("0", Duration::from_millis(145)),
    ] {
        let receiver = FakeReceiver::start(vec![
            Answer::status(429, "slow down").with_header("retry-after", hint),
            Answer::status(200, ""),
        ])
        .await;
        let run = once(
            &fake,
            "good",
            &[
                ("PUSHGATEWAY_URL", &receiver.base),
                ("PUSHGATEWAY_RETRY_DELAY_MS", "300"),
            ],
        )
        .await;
        assert_eq!(run.code, 0, "{hint}: {}", run.stderr);
        let received = receiver.received();
        assert_eq!(received.len(), 2, "{hint}: one retry");
        let gap = received[1].at - received[0].at;
        assert!(gap >= floor, "{hint}: retried after {gap:?}");
        assert!(gap < Duration::from_secs(3), "{hint}: {gap:?}");
    }
    // A Retry-After beyond the retry budget ends the retries at once.
    let receiver = FakeReceiver::start(vec![
        Answer::status(429, "later").with_header("retry-after", "3600")
    ])
    .await;
    let started = Instant::now();
    let run = once(&fake, "good", &[("PUSHGATEWAY_URL", &receiver.base)]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(receiver.received().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(run.stderr.contains("HTTP 429: later"), "{}", run.stderr);
}

/// Pushgateway auth parity: bearer token from a file and extra headers reach
/// the Pushgateway (behind a proxy that checks them), never a log.
#[tokio::test(flavor = "multi_thread")]
async fn pushgateway_bearer_token_file_and_headers_are_sent() {
    let fake = github().await;
    let receiver = FakeReceiver::start(vec![Answer::status(200, "")]).await;
    receiver.gate(Some(Arc::new(|r: &Received| {
        (r.header("authorization") != Some("Bearer pg-token-secret")
            || r.header("x-tenant") != Some("team-a"))
        .then(|| Answer::status(401, "unauthorized"))
    })));
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "pg-token-secret\n").unwrap();
    let token = token.display().to_string();
    let run = once(
        &fake,
        "good",
        &[
            ("PUSHGATEWAY_URL", &receiver.base),
            ("PUSHGATEWAY_BEARER_TOKEN_FILE", &token),
            ("PUSHGATEWAY_HEADERS", "X-Tenant=team-a"),
            ("LOG_LEVEL", "trace"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("pg-token-secret"));
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        receiver.received()[0].path,
        "/metrics/job/copilot-metrics-exporter/org/good"
    );
}
