//! Sink faults: receivers and Pushgateways that are down, slow, failing or
//! answering garbage never stop collection or `/metrics`; in `report-day`
//! mode nothing is lost and nothing is sent twice, across failures,
//! restarts and a shutdown in the middle of a push. And every secret reaches
//! only its own host.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::fake_receiver::{Answer, FakeReceiver, Received};
use common::{settled_days, value};

use common::DAY_MS;
const NOON_MS: i64 = 12 * 3_600_000;

/// Report days (ms at 00:00 UTC) of the `report-day` samples of the demo
/// organization in accepted requests, with how often each was accepted.
fn accepted_days(received: &[Received]) -> BTreeMap<i64, usize> {
    let mut days = BTreeMap::new();
    for r in received.iter().filter(|r| (200..300).contains(&r.status)) {
        let Some(request) = r.write_request() else {
            continue;
        };
        let mut in_request = std::collections::BTreeSet::new();
        for series in &request.timeseries {
            let org = series
                .labels
                .iter()
                .any(|l| l.name == "org" && l.value == "octo-demo");
            for sample in series.samples.iter().filter(|_| org) {
                if sample.timestamp.rem_euclid(DAY_MS) == NOON_MS {
                    in_request.insert(sample.timestamp - NOON_MS);
                }
            }
        }
        for day in in_request {
            *days.entry(day).or_insert(0) += 1;
        }
    }
    days
}

fn exporter(extra: &[(&str, String)]) -> Command {
    let mut cmd =
        common::exporter_command(&["--demo"], &[("SEATS", "false"), ("LOG_LEVEL", "info")]);
    cmd.envs(extra.iter().map(|(k, v)| (k, v)));
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_sinks_never_stop_collection_or_metrics() {
    // Remote-write: slow, then garbage 500s, forever. Pushgateway: nobody home.
    let receiver = FakeReceiver::start(vec![
        Answer {
            status: 200,
            body: "",
            delay: Duration::from_secs(5),
            headers: Vec::new(),
        },
        Answer::status(500, "\u{0}\u{1}<<garbage>>\u{7f}"),
    ])
    .await;
    let port = common::free_port();
    let closed = common::free_port();
    let _exporter = common::spawn(
        exporter(&[
            ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
            ("CACHE_TTL_SECONDS", "1".into()),
            (
                "REMOTE_WRITE_URL",
                format!("{}/api/v1/write", receiver.base),
            ),
            ("REMOTE_WRITE_TIMEOUT_SECONDS", "1".into()),
            ("REMOTE_WRITE_MAX_RETRY_SECONDS", "1".into()),
            ("PUSHGATEWAY_URL", format!("http://127.0.0.1:{closed}")),
            ("PUSHGATEWAY_ATTEMPTS", "1".into()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null()),
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(common::wait_http_ok(
        &format!("{base}/readyz"),
        Duration::from_secs(20)
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    let mut refreshes = 0.0;
    while Instant::now() < deadline {
        let started = Instant::now();
        let (status, body) = common::http_get(&format!("{base}/metrics")).unwrap();
        assert_eq!(status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "/metrics stalled behind a sink"
        );
        refreshes = value(
            &body,
            "copilot_exporter_refreshes_total{result=\"success\"}",
        )
        .unwrap_or(0.0);
        last = body;
        if refreshes >= 4.0
            && value(
                &last,
                "copilot_exporter_remote_write_requests_total{result=\"failed\"}",
            )
            .unwrap_or(0.0)
                >= 2.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        refreshes >= 4.0,
        "collection stopped: {refreshes} refreshes\n{last}"
    );
    assert!(last.contains("copilot_daily_active_users{org=\"octo-demo\"}"));
    assert!(
        value(
            &last,
            "copilot_exporter_remote_write_requests_total{result=\"failed\"}"
        )
        .unwrap_or(0.0)
            >= 2.0,
        "{last}"
    );
    assert!(
        value(
            &last,
            "copilot_exporter_pushgateway_pushes_total{result=\"failure\"}"
        )
        .unwrap_or(0.0)
            >= 2.0,
        "{last}"
    );
    assert!(value(&last, "copilot_exporter_collect_success{org=\"octo-demo\"}") == Some(1.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn report_day_loses_nothing_and_sends_nothing_twice() {
    let state = tempfile::tempdir().unwrap();
    let receiver = FakeReceiver::start(vec![Answer::status(503, "overloaded")]).await;
    let env = |receiver: &FakeReceiver| {
        vec![
            (
                "REMOTE_WRITE_URL",
                format!("{}/api/v1/write", receiver.base),
            ),
            ("REMOTE_WRITE_TIMESTAMPS", "report-day".to_string()),
            ("BACKFILL_DAYS", "10".to_string()),
            ("STATE_DIR", state.path().display().to_string()),
            ("REMOTE_WRITE_MAX_RETRY_SECONDS", "1".to_string()),
        ]
    };
    // 1. The receiver is down: --once fails, nothing is marked as sent.
    let out = exporter(&env(&receiver)).arg("--once").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(accepted_days(&receiver.received()).is_empty());

    // 2. It recovers, but answers one day with garbage and a 500 first.
    receiver.script(vec![
        Answer::status(204, ""),
        Answer::status(500, "\u{0}garbage"),
        Answer::status(204, ""),
    ]);
    let out = exporter(&env(&receiver)).arg("--once").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 3. A third run has nothing new to send.
    let out = exporter(&env(&receiver)).arg("--once").output().unwrap();
    assert_eq!(out.status.code(), Some(0));

    let days = accepted_days(&receiver.received());
    let expected = settled_days(10, 3);
    assert_eq!(
        days.keys().copied().collect::<Vec<_>>(),
        expected,
        "every settled day of the window arrived"
    );
    assert!(
        days.values().all(|n| *n == 1),
        "a day was accepted twice: {days:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_mid_push_leaves_no_half_advanced_state() {
    let state = tempfile::tempdir().unwrap();
    // Three days go through, then the receiver hangs.
    let receiver = FakeReceiver::start(vec![
        Answer::status(204, ""),
        Answer::status(204, ""),
        Answer::status(204, ""),
        Answer {
            status: 503,
            body: "",
            delay: Duration::from_secs(60),
            headers: Vec::new(),
        },
    ])
    .await;
    let env = vec![
        (
            "REMOTE_WRITE_URL",
            format!("{}/api/v1/write", receiver.base),
        ),
        ("REMOTE_WRITE_TIMESTAMPS", "report-day".to_string()),
        ("BACKFILL_DAYS", "10".to_string()),
        ("STATE_DIR", state.path().display().to_string()),
        ("LISTEN_ADDR", String::new()),
        ("SHUTDOWN_GRACE_SECONDS", "1".to_string()),
    ];
    let mut child = exporter(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received().len() < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        receiver.received().len() >= 4,
        "the push never reached the hanging request"
    );
    // SIGTERM while the fourth request is in flight.
    common::sigterm(&child);
    let status = common::wait_exit(&mut child, Duration::from_secs(10))
        .expect("did not exit within the grace period");
    assert!(
        status.code().is_some(),
        "killed by a signal instead of exiting"
    );

    // A restart against a healthy receiver resends exactly what was not acknowledged.
    receiver.script(vec![Answer::status(204, "")]);
    let out = exporter(&env).arg("--once").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let days = accepted_days(&receiver.received());
    assert_eq!(
        days.keys().copied().collect::<Vec<_>>(),
        settled_days(10, 3)
    );
    assert!(
        days.values().all(|n| *n == 1),
        "a day was accepted twice: {days:?}"
    );
}
