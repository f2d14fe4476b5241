//! Remote-write sink against real receivers started on free loopback ports:
//! Prometheus (`--web.enable-remote-write-receiver`, with and without an
//! out-of-order window) and VictoriaMetrics. Data is built as `ScopeData`
//! dated relative to today, so it falls inside retention.
//!
//! The tools come from Debian packages (`prometheus`, `victoria-metrics`);
//! without them a test is skipped loudly on a developer machine and fails
//! in CI (`CI` set).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Days, NaiveDate, Utc};
use copilot_metrics_exporter::model::scope::Scope;
use copilot_metrics_exporter::model::{day_start_unix, SampleSet, ScopeData, SeriesKey};
use copilot_metrics_exporter::sinks::remote_write::{
    report_day_timestamp_ms, RemoteWriteArgs, RemoteWriteConfig, RemoteWriteError, RemoteWriteSink,
    TimestampMode,
};
use serde_json::Value;

/// A label value with everything text formats find awkward.
const TRICKY: &str = "say \"hi\" \\ back\\slash, ünïcødé ✓";

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    SeriesKey::new(
        name,
        labels
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

/// Value of series `series` on the day `ago` days back: distinct everywhere.
fn value(series: u64, ago: u64) -> f64 {
    (series * 1000 + ago) as f64
}

/// `days` days of data (today−1 … today−days), four series per day (one per
/// `TRICKY` language, one with a non-ASCII model name), plus seats.
fn scope_data(scope: &Scope, today: NaiveDate, days: u64) -> Arc<ScopeData> {
    let mut data = ScopeData::new(scope.clone());
    let (sl, sv) = scope.label();
    for ago in 1..=days {
        let day = today.checked_sub_days(Days::new(ago)).unwrap();
        let mut set = SampleSet::new();
        set.insert(
            key("copilot_active_users", &[(&sl, &sv)]),
            value(1, ago),
            "Active users",
        );
        set.insert(
            key(
                "copilot_code_lines_accepted",
                &[(&sl, &sv), ("language", TRICKY), ("editor", "")],
            ),
            value(2, ago),
            "Accepted lines",
        );
        set.insert(
            key(
                "copilot_chat_turns",
                &[(&sl, &sv), ("model", "gpt-ünï/4\n")],
            ),
            value(3, ago),
            "Chat turns",
        );
        set.insert(
            key("copilot_report_day_timestamp_seconds", &[(&sl, &sv)]),
            day_start_unix(day) as f64,
            "Report day",
        );
        data.days.insert(day, set);
    }
    data.current
        .insert(key("copilot_seats_total", &[(&sl, &sv)]), 77.0, "Seats");
    Arc::new(data)
}

fn config(url: &str, mode: TimestampMode, state_dir: Option<&Path>) -> RemoteWriteConfig {
    // Built through the same path as the CLI.
    let args = RemoteWriteArgs {
        remote_write_url: Some(url.parse().unwrap()),
        remote_write_timestamps: mode,
        backfill_days: 30,
        remote_write_settle_days: 3,
        state_dir: state_dir.map(Path::to_path_buf),
        remote_write_timeout_seconds: 10,
        remote_write_max_retry_seconds: 5,
        ..RemoteWriteArgs::default()
    };
    RemoteWriteConfig::from_args(&args).unwrap().unwrap()
}

fn sink(config: RemoteWriteConfig) -> RemoteWriteSink {
    RemoteWriteSink::new(config, &prometheus::Registry::new()).unwrap()
}

fn today() -> NaiveDate {
    DateTime::<Utc>::from(SystemTime::now()).date_naive()
}

use common::servers::Server as Receiver;

fn start_prometheus(out_of_order_window: Option<&str>) -> Option<Receiver> {
    let mut yml = String::from("global:\n  scrape_interval: 1h\n");
    if let Some(window) = out_of_order_window {
        yml.push_str(&format!(
            "storage:\n  tsdb:\n    out_of_order_time_window: {window}\n"
        ));
    }
    common::servers::prometheus(&yml)
}

fn start_victoria_metrics() -> Option<Receiver> {
    common::servers::victoria_metrics()
}

/// PromQL instant query at `at`; the `result` array.
async fn query(base: &str, promql: &str, at: SystemTime) -> Vec<Value> {
    common::servers::query(base, promql, Some(at)).await
}

/// Raw samples `(timestamp ms, value)` of the series selected by `selector`
/// over the last `days` days, keyed by the series' `model`/`language` label
/// or name.
async fn raw_samples(base: &str, selector: &str, days: u64) -> Vec<(i64, f64)> {
    let result = query(base, &format!("{selector}[{days}d]"), SystemTime::now()).await;
    assert_eq!(result.len(), 1, "{selector}: {result:?}");
    result[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let ts = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
            let v: f64 = p[1].as_str().unwrap().parse().unwrap();
            (ts, v)
        })
        .collect()
}

/// PromQL string literal for a label value.
fn promql_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// What `report-day` mode must deliver for `days` of data with settle 3 and
/// backfill 30: days today−30 … today−3.
fn expected_days(today: NaiveDate) -> Vec<(NaiveDate, u64)> {
    (3..=30)
        .rev()
        .map(|ago| (today.checked_sub_days(Days::new(ago)).unwrap(), ago))
        .collect()
}

#[tokio::test]
async fn prometheus_stock_now_mode_has_the_newest_day() {
    let Some(prom) = start_prometheus(None) else {
        return;
    };
    let scope = Scope::org("octo-org");
    let now = SystemTime::now();
    let data = scope_data(&scope, today(), 35);
    let sink = sink(config(
        &format!("{}/api/v1/write", prom.base),
        TimestampMode::Now,
        None,
    ));
    let summary = sink.publish(&[data], now).await.unwrap();
    assert_eq!(summary.samples_sent(), 5, "newest day (4) + seats (1)");

    let r = query(&prom.base, "copilot_active_users", now).await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["metric"]["org"], "octo-org");
    assert_eq!(r[0]["value"][1], value(1, 1).to_string());

    // Label values arrive byte for byte; the empty `editor` label is absent.
    let r = query(&prom.base, "copilot_code_lines_accepted", now).await;
    assert_eq!(r[0]["metric"]["language"], TRICKY);
    assert!(r[0]["metric"].get("editor").is_none());
    let r = query(
        &prom.base,
        &format!("copilot_chat_turns{{model={}}}", promql_str("gpt-ünï/4\n")),
        now,
    )
    .await;
    assert_eq!(r[0]["value"][1], value(3, 1).to_string());

    let day = today().checked_sub_days(Days::new(1)).unwrap();
    let r = query(&prom.base, "copilot_report_day_timestamp_seconds", now).await;
    assert_eq!(r[0]["value"][1], day_start_unix(day).to_string());
    let r = query(&prom.base, "copilot_seats_total", now).await;
    assert_eq!(r[0]["value"][1], "77");
    assert_eq!(sink.last_success(), vec![(scope, now)]);
}

#[tokio::test]
async fn prometheus_stock_rejects_report_day_history_and_the_sink_skips_it() {
    let Some(prom) = start_prometheus(None) else {
        return;
    };
    let scope = Scope::org("octo-org");
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(config(
        &format!("{}/api/v1/write", prom.base),
        TimestampMode::ReportDay,
        Some(dir.path()),
    ));
    // Seats (stamped now) go first, so every old day is out of bounds.
    let e = sink
        .publish(&[scope_data(&scope, today(), 35)], SystemTime::now())
        .await
        .unwrap_err();
    let RemoteWriteError::Publish {
        summary, failures, ..
    } = &e
    else {
        panic!("{e}");
    };
    let s = summary.scope(&scope).unwrap();
    assert_eq!(s.days_rejected.len(), 28, "{e}");
    assert_eq!(failures.len(), 28);
    assert!(e.to_string().contains("HTTP 400"), "{e}");
    // No retry storm and no blocking: the mark passed every rejected day.
    assert_eq!(
        sink.history_wanted(&scope, today()),
        today().checked_sub_days(Days::new(2))
    );
}

#[tokio::test]
async fn prometheus_with_out_of_order_window_gets_every_settled_day_once() {
    let Some(prom) = start_prometheus(Some("60d")) else {
        return;
    };
    let scope = Scope::org("octo-org");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/api/v1/write", prom.base);
    // One clock reading per test, so a UTC midnight in between cannot shift the days.
    let now = SystemTime::now();
    let today = DateTime::<Utc>::from(now).date_naive();
    let data = scope_data(&scope, today, 35);
    let summary = sink(config(&url, TimestampMode::ReportDay, Some(dir.path())))
        .publish(std::slice::from_ref(&data), now)
        .await
        .unwrap();
    let expected = expected_days(today);
    assert_eq!(
        summary.scope(&scope).unwrap().days_sent,
        expected.iter().map(|(d, _)| *d).collect::<Vec<_>>()
    );
    check_history(&prom.base, &expected).await;

    // A restart with the same STATE_DIR sends no day again.
    let summary = sink(config(&url, TimestampMode::ReportDay, Some(dir.path())))
        .publish(&[data], now)
        .await
        .unwrap();
    assert!(summary.scope(&scope).unwrap().days_sent.is_empty());
    check_history(&prom.base, &expected).await;
}

/// Every series holds exactly one sample per expected day, at that day's
/// 12:00 UTC, with that day's value, and nothing else.
async fn check_history(base: &str, expected: &[(NaiveDate, u64)]) {
    let selectors = [
        (1, "copilot_active_users".to_string()),
        (
            2,
            format!(
                "copilot_code_lines_accepted{{language={}}}",
                promql_str(TRICKY)
            ),
        ),
        (
            3,
            format!("copilot_chat_turns{{model={}}}", promql_str("gpt-ünï/4\n")),
        ),
    ];
    for (series, selector) in selectors {
        let got = raw_samples(base, &selector, 40).await;
        let want: Vec<(i64, f64)> = expected
            .iter()
            .map(|(day, ago)| (report_day_timestamp_ms(*day), value(series, *ago)))
            .collect();
        assert_eq!(got, want, "{selector}");
    }
    let got = raw_samples(base, "copilot_report_day_timestamp_seconds", 40).await;
    let want: Vec<(i64, f64)> = expected
        .iter()
        .map(|(day, _)| (report_day_timestamp_ms(*day), day_start_unix(*day) as f64))
        .collect();
    assert_eq!(got, want);
}

async fn vm_flush(base: &str) {
    let response = reqwest::get(format!("{base}/internal/force_flush"))
        .await
        .unwrap();
    assert!(response.status().is_success());
}

#[tokio::test]
async fn victoria_metrics_report_day_backfill_has_one_sample_per_day_across_restarts() {
    let Some(vm) = start_victoria_metrics() else {
        return;
    };
    let scope = Scope::enterprise("octo-ent");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/api/v1/write", vm.base);
    // One clock reading per test, so a UTC midnight in between cannot shift the days.
    let now = SystemTime::now();
    let today = DateTime::<Utc>::from(now).date_naive();
    let data = scope_data(&scope, today, 35);
    let expected = expected_days(today);

    let first = sink(config(&url, TimestampMode::ReportDay, Some(dir.path())));
    assert_eq!(
        first.history_wanted(&scope, today),
        today.checked_sub_days(Days::new(30))
    );
    let summary = first
        .publish(std::slice::from_ref(&data), now)
        .await
        .unwrap();
    assert_eq!(summary.scope(&scope).unwrap().days_sent.len(), 28);
    vm_flush(&vm.base).await;
    check_history(&vm.base, &expected).await;

    // Second run, new process state, same STATE_DIR: nothing re-sent.
    let second = sink(config(&url, TimestampMode::ReportDay, Some(dir.path())));
    let summary = second.publish(&[data], now).await.unwrap();
    assert!(summary.scope(&scope).unwrap().days_sent.is_empty());
    vm_flush(&vm.base).await;
    check_history(&vm.base, &expected).await;

    // count_over_time per day stays 1 for every series.
    let names = [
        "copilot_active_users",
        "copilot_code_lines_accepted",
        "copilot_chat_turns",
        "copilot_report_day_timestamp_seconds",
    ];
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (day, _) in &expected {
        let end = SystemTime::UNIX_EPOCH
            + Duration::from_secs((day_start_unix(*day) + 86_400 - 1) as u64);
        for name in names {
            let r = query(
                &vm.base,
                &format!("count_over_time({name}{{enterprise=\"octo-ent\"}}[1d])"),
                end,
            )
            .await;
            let counts: Vec<&str> = r.iter().map(|s| s["value"][1].as_str().unwrap()).collect();
            assert_eq!(counts, ["1"], "{name} on {day}");
            *per_day.entry(*day).or_default() += 1;
        }
    }
    assert_eq!(per_day.len(), 28);

    // Control: without the state the same days go out again and VM stores
    // them twice, so the checks above can see a duplicate.
    let forgetful = sink(config(&url, TimestampMode::ReportDay, None));
    let summary = forgetful
        .publish(&[scope_data(&scope, today, 35)], now)
        .await
        .unwrap();
    assert_eq!(summary.scope(&scope).unwrap().days_sent.len(), 28);
    vm_flush(&vm.base).await;
    let (day, _) = expected[0];
    let end =
        SystemTime::UNIX_EPOCH + Duration::from_secs((day_start_unix(day) + 86_400 - 1) as u64);
    let r = query(
        &vm.base,
        "count_over_time(copilot_active_users{enterprise=\"octo-ent\"}[1d])",
        end,
    )
    .await;
    assert_eq!(r[0]["value"][1], "2", "VM keeps re-sent samples: {r:?}");
}
