//! Sink tests against a tiny in-process HTTP receiver (axum) that records
//! every request and answers from a script. Test names cite the sender
//! checklist items (RW1-xx) of the remote-write 1.0 specification.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate};

use super::proto::WriteRequest;
use super::*;
use crate::model::{SampleSet, SeriesKey};

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Captured {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Captured {
    fn decoded(&self) -> WriteRequest {
        encode::decode(&self.body).expect("body is snappy-block protobuf")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The (single) sample timestamp in the request, if all agree.
    fn timestamps(&self) -> BTreeSet<i64> {
        self.decoded()
            .timeseries
            .iter()
            .flat_map(|s| s.samples.iter().map(|x| x.timestamp))
            .collect()
    }
}

type Responder =
    dyn Fn(usize, &Captured) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync;

struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Captured>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(
        respond: impl Fn(usize, &Captured) -> (u16, Vec<(&'static str, String)>, String)
            + Send
            + Sync
            + 'static,
    ) -> Receiver {
        let seen: Arc<Mutex<Vec<Captured>>> = Arc::default();
        let respond: Arc<Responder> = Arc::new(respond);
        let seen2 = seen.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let seen = seen2.clone();
                let respond = respond.clone();
                async move {
                    let captured = Captured {
                        method,
                        path: uri.path().to_string(),
                        headers,
                        body,
                    };
                    let index = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(captured.clone());
                        seen.len() - 1
                    };
                    let (status, headers, body) = respond(index, &captured);
                    let mut response: Response = body.into_response();
                    *response.status_mut() = StatusCode::from_u16(status).unwrap();
                    for (name, value) in headers {
                        response.headers_mut().insert(name, value.parse().unwrap());
                    }
                    response
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, seen, task }
    }

    async fn ok() -> Receiver {
        Receiver::start(|_, _| (204, vec![], String::new())).await
    }

    fn url(&self) -> Url {
        Url::parse(&format!("http://{}/api/v1/write", self.addr)).unwrap()
    }

    fn requests(&self) -> Vec<Captured> {
        self.seen.lock().unwrap().clone()
    }
}

use url::Url;

fn test_config(url: Url) -> RemoteWriteConfig {
    let mut c = RemoteWriteConfig::new(url);
    c.timeout = Duration::from_secs(5);
    c.retry = RetryPolicy {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_duration: Duration::from_secs(5),
    };
    c
}

fn new_sink(config: RemoteWriteConfig) -> (RemoteWriteSink, Registry) {
    let registry = Registry::new();
    let sink = RemoteWriteSink::new(config, &registry).unwrap();
    (sink, registry)
}

/// A fresh sink in front of `rx` whose requests hold at most `cap` samples.
fn capped_sink(rx: &Receiver, cap: usize) -> RemoteWriteSink {
    let mut config = test_config(rx.url());
    config.max_samples_per_request = cap;
    new_sink(config).0
}

/// Publishes two series of `org="o"` through a fresh sink in front of `rx`.
async fn publish_two(rx: &Receiver) -> (Result<PublishSummary, RemoteWriteError>, Registry) {
    let (sink, registry) = new_sink(test_config(rx.url()));
    let result = sink.publish(&[scope_data(Scope::org("o"), 2)], now()).await;
    (result, registry)
}

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    SeriesKey::from_pairs(name, labels)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, 20).unwrap()
}

/// Noon of `today()`: the `now` of every publish in these tests.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH
        + Duration::from_secs((day_start_unix(today()) + 12 * 3600) as u64)
        + Duration::from_millis(123)
}

fn days_ago(n: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(n)).unwrap()
}

/// A scope with `n` days of data (today−n … today−1), two series per day
/// whose value encodes the day, plus one current (seat) series.
fn scope_data(scope: Scope, n: u64) -> Arc<ScopeData> {
    let mut data = ScopeData::new(scope.clone());
    let (label, value) = scope.label();
    for ago in 1..=n {
        let day = days_ago(ago);
        let mut set = SampleSet::new();
        set.insert(
            key("copilot_active_users", &[(&label, &value)]),
            ago as f64,
            "Active users",
        );
        set.insert(
            key(
                "copilot_lines_accepted",
                &[(&label, &value), ("language", "c\"q\\b\nü"), ("editor", "")],
            ),
            (ago * 10) as f64,
            "Lines",
        );
        set.insert(
            key("copilot_report_day_timestamp_seconds", &[(&label, &value)]),
            day_start_unix(day) as f64,
            "Report day",
        );
        data.days.insert(day, set);
    }
    data.current.insert(
        key("copilot_seats_total", &[(&label, &value)]),
        42.0,
        "Seats",
    );
    Arc::new(data)
}

fn counter(registry: &Registry, name: &str, result: &str) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .filter(|m| m.get_label().iter().any(|l| l.value() == result))
        .map(|m| m.get_counter().value() as u64)
        .sum()
}

fn report_day_config(url: Url, state_dir: Option<&Path>) -> RemoteWriteConfig {
    let mut c = test_config(url);
    c.mode = TimestampMode::ReportDay;
    c.settle_days = 3;
    c.backfill_days = 10;
    c.state_dir = state_dir.map(Path::to_path_buf);
    c
}

#[tokio::test]
async fn rw1_01_02_03_04_06_08_post_with_protocol_headers_snappy_block_and_protobuf() {
    let rx = Receiver::start(|_, _| (200, vec![], "ignored body".into())).await;
    let (sink, registry) = new_sink(test_config(rx.url()));
    let data = scope_data(Scope::org("octo"), 5);
    let summary = sink.publish(&[data], now()).await.unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    // RW1-01: POST to the configured URL.
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.path, "/api/v1/write");
    // RW1-04 / RW1-09: exact protocol headers.
    assert_eq!(r.header("content-encoding"), Some("snappy"));
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("x-prometheus-remote-write-version"), Some("0.1.0"));
    assert_eq!(
        r.header("user-agent"),
        Some(concat!(
            "copilot-metrics-exporter/",
            env!("CARGO_PKG_VERSION")
        ))
    );
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.header("retry-attempt"), None);
    // RW1-06: snappy block, not framed.
    assert!(!r.body.starts_with(b"\xff\x06\x00\x00sNaPpY"));
    let raw = snap::raw::Decoder::new().decompress_vec(&r.body).unwrap();
    assert_eq!(WriteRequest::decode(raw.as_slice()).unwrap(), r.decoded());
    // RW1-02: a WriteRequest; now mode = newest day + current, 4 series.
    let req = r.decoded();
    assert_eq!(req.timeseries.len(), 4);
    // RW1-03: int64 milliseconds: all stamped at `now`.
    assert_eq!(r.timestamps(), BTreeSet::from([unix_ms(now())]));
    assert_eq!(unix_ms(now()) % 1000, 123);
    for ts in &req.timeseries {
        // RW1-10/11/12: complete, sorted, unique, non-empty, __name__ set.
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert!(names.contains(&"__name__"));
        assert!(names.contains(&"org"));
        assert!(ts.labels.iter().all(|l| !l.value.is_empty()));
        assert!(!names.contains(&"editor"), "empty label dropped");
    }
    // RW1-13: label values are raw UTF-8.
    let lines = req
        .timeseries
        .iter()
        .find(|s| s.labels.iter().any(|l| l.value == "copilot_lines_accepted"))
        .unwrap();
    assert!(lines
        .labels
        .iter()
        .any(|l| l.name == "language" && l.value == "c\"q\\b\nü"));
    assert_eq!(lines.samples[0].value, 10.0, "newest day = 1 day ago");
    assert!(req
        .metadata
        .iter()
        .any(|m| m.metric_family_name == "copilot_seats_total" && m.help == "Seats"));
    assert_eq!(summary.samples_sent(), 4);
    assert_eq!(
        counter(
            &registry,
            "copilot_exporter_remote_write_samples_total",
            "sent"
        ),
        4
    );
    assert_eq!(
        counter(
            &registry,
            "copilot_exporter_remote_write_requests_total",
            "sent"
        ),
        1
    );
    assert_eq!(sink.last_success(), vec![(Scope::org("octo"), now())]);
    assert_eq!(sink.history_wanted(&Scope::org("octo"), today()), None);
}

use prost::Message;

#[tokio::test]
async fn rw1_05_custom_headers_and_auth_do_not_override_protocol_headers() {
    let rx = Receiver::ok().await;
    let mut config = test_config(rx.url());
    config.headers = vec![(
        reqwest::header::HeaderName::from_static("x-scope-orgid"),
        reqwest::header::HeaderValue::from_static("team-a"),
    )];
    config.auth = Some(Auth::Bearer(SecretSource::Value(Secret::new("tok"))));
    let (sink, _) = new_sink(config);
    sink.publish(&[scope_data(Scope::org("o"), 1)], now())
        .await
        .unwrap();
    let r = &rx.requests()[0];
    assert_eq!(r.header("x-scope-orgid"), Some("team-a"));
    assert_eq!(r.header("authorization"), Some("Bearer tok"));
    assert_eq!(r.header("content-encoding"), Some("snappy"));

    let rx = Receiver::ok().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
    let mut config = test_config(rx.url());
    config.auth = Some(Auth::Basic {
        username: Secret::new("user"),
        password: Some(SecretSource::File(dir.path().join("pw"))),
    });
    let (sink, _) = new_sink(config);
    sink.publish(&[scope_data(Scope::org("o"), 1)], now())
        .await
        .unwrap();
    // base64("user:s3cret")
    assert_eq!(
        rx.requests()[0].header("authorization"),
        Some("Basic dXNlcjpzM2NyZXQ=")
    );
    // A vanished password file is a readable error, never a panic.
    std::fs::remove_file(dir.path().join("pw")).unwrap();
    let e = sink
        .publish(&[scope_data(Scope::org("o"), 1)], now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("credentials"), "{e}");
    assert!(e.to_string().contains("REMOTE_WRITE_PASSWORD_FILE"), "{e}");
}

#[tokio::test]
async fn rw1_14_16_no_retry_on_400_401_404_409_and_body_is_logged_truncated() {
    for status in [400u16, 401, 404, 409] {
        let rx = Receiver::start(move |_, _| (status, vec![], "x".repeat(5000))).await;
        let mut url = rx.url();
        url.set_query(Some("api_key=QUERYSECRET"));
        let (sink, registry) = new_sink(test_config(url));
        let e = sink
            .publish(&[scope_data(Scope::org("o"), 2)], now())
            .await
            .unwrap_err();
        assert_eq!(rx.requests().len(), 1, "{status} must not be retried");
        let text = e.to_string();
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(
            text.contains(&format!("http://{}/api/v1/write?…", rx.addr)),
            "{text}"
        );
        assert!(!text.contains("QUERYSECRET"), "{text}");
        assert!(text.len() < 1500, "body truncated to 1 KiB: {}", text.len());
        // A data rejection drops the samples; a refusal that never judged
        // them (auth, route) counts them as failed: they are sent again.
        let (result, other) = if matches!(status, 400 | 409) {
            ("rejected", "failed")
        } else {
            ("failed", "rejected")
        };
        let summary = e.summary().unwrap();
        assert_eq!(
            (summary.samples_rejected(), summary.samples_failed()),
            if result == "rejected" { (4, 0) } else { (0, 4) },
            "{status}"
        );
        for (r, n) in [(result, 4), (other, 0)] {
            assert_eq!(
                counter(&registry, "copilot_exporter_remote_write_samples_total", r),
                n,
                "{status} {r}"
            );
        }
        assert_eq!(
            counter(
                &registry,
                "copilot_exporter_remote_write_requests_total",
                "retried"
            ),
            0
        );
        assert!(sink.last_success().is_empty());
    }
}

#[tokio::test]
async fn a_request_too_large_is_split_until_the_receiver_takes_it() {
    // Accepts requests of at most one series.
    let rx = Receiver::start(|_, c| {
        if c.decoded().timeseries.len() > 1 {
            (413, vec![], "request too large".into())
        } else {
            (204, vec![], String::new())
        }
    })
    .await;
    let (summary, registry) = publish_two(&rx).await;
    let summary = summary.unwrap();
    assert_eq!(summary.samples_sent(), 4);
    assert_eq!(summary.samples_rejected(), 0);
    let delivered: BTreeSet<String> = rx
        .requests()
        .iter()
        .map(Captured::decoded)
        .filter(|r| r.timeseries.len() == 1)
        .map(|r| format!("{:?}", r.timeseries[0].labels))
        .collect();
    assert_eq!(delivered.len(), 4, "every series arrived once");
    assert_eq!(
        counter(
            &registry,
            "copilot_exporter_remote_write_samples_total",
            "rejected"
        ),
        0
    );
    // A single sample that is still too large is a data rejection.
    let rx = Receiver::start(|_, _| (413, vec![], "too large".into())).await;
    let e = publish_two(&rx).await.0.unwrap_err();
    assert_eq!(e.summary().unwrap().samples_rejected(), 4, "{e}");
}

#[tokio::test]
async fn report_day_request_refused_without_judging_keeps_the_mark() {
    for status in [401u16, 403, 404, 405, 407, 301, 418] {
        let healthy = Arc::new(Mutex::new(false));
        let healthy2 = healthy.clone();
        let rx = Receiver::start(move |_, _| {
            if *healthy2.lock().unwrap() {
                (204, vec![], String::new())
            } else {
                (status, vec![], "no org id".into())
            }
        })
        .await;
        let scope = Scope::org("o");
        let (sink, _) = new_sink(report_day_config(rx.url(), None));
        let data = scope_data(scope.clone(), 15);
        let e = sink
            .publish(std::slice::from_ref(&data), now())
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(&format!("HTTP {status}: no org id")),
            "{text}"
        );
        let s = e.summary().unwrap().scope(&scope).unwrap().clone();
        assert!(
            s.days_rejected.is_empty() && s.days_sent.is_empty(),
            "{status}: {s:?}"
        );
        assert_eq!(sink.history_wanted(&scope, today()), Some(days_ago(10)));
        *healthy.lock().unwrap() = true;
        let summary = sink.publish(&[data], now()).await.unwrap();
        assert_eq!(
            summary.scope(&scope).unwrap().days_sent.len(),
            8,
            "{status}"
        );
    }
}

#[tokio::test]
async fn rw1_16_retry_on_500_503_429_with_backoff_then_deliver() {
    for status in [500u16, 503, 429] {
        // Answers `status` twice, then accepts.
        let rx = Receiver::start(move |i, _| {
            if i < 2 {
                (status, vec![], "busy".into())
            } else {
                (204, vec![], String::new())
            }
        })
        .await;
        let (summary, registry) = publish_two(&rx).await;
        let summary = summary.unwrap();
        let reqs = rx.requests();
        assert_eq!(reqs.len(), 3, "{status}: two retries");
        assert_eq!(reqs[0].header("retry-attempt"), None);
        assert_eq!(reqs[1].header("retry-attempt"), Some("1"));
        assert_eq!(reqs[2].header("retry-attempt"), Some("2"));
        assert_eq!(reqs[0].body, reqs[2].body, "the same body is re-sent");
        assert_eq!(summary.samples_sent(), 4);
        assert_eq!(
            counter(
                &registry,
                "copilot_exporter_remote_write_requests_total",
                "retried"
            ),
            2
        );
        assert_eq!(
            counter(
                &registry,
                "copilot_exporter_remote_write_samples_total",
                "retried"
            ),
            8
        );
    }
}

#[tokio::test]
async fn rw1_16_retry_after_is_honoured() {
    let rx = Receiver::start(|i, _| {
        if i == 0 {
            (
                429,
                vec![("retry-after", "1".to_string())],
                "slow down".into(),
            )
        } else {
            (200, vec![], String::new())
        }
    })
    .await;
    let (sink, _) = new_sink(test_config(rx.url()));
    let started = Instant::now();
    sink.publish(&[scope_data(Scope::org("o"), 1)], now())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(rx.requests().len(), 2);
}

#[tokio::test]
async fn rw1_16_retries_stop_at_the_deadline_and_count_as_failed() {
    let rx = Receiver::start(|_, _| (503, vec![], "down for maintenance".into())).await;
    let mut config = test_config(rx.url());
    config.retry.max_duration = Duration::from_millis(300);
    let (sink, registry) = new_sink(config);
    let started = Instant::now();
    let e = sink
        .publish(&[scope_data(Scope::org("o"), 1)], now())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(rx.requests().len() >= 3);
    let text = e.to_string();
    assert!(text.contains("gave up after"), "{text}");
    assert!(text.contains("HTTP 503: down for maintenance"), "{text}");
    assert_eq!(
        counter(
            &registry,
            "copilot_exporter_remote_write_samples_total",
            "failed"
        ),
        4
    );
}

#[tokio::test]
async fn transport_errors_are_retried_then_fail_readably() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}/api/v1/write")).unwrap();
    let mut config = test_config(url);
    config.retry.max_duration = Duration::from_millis(200);
    let (sink, _) = new_sink(config);
    let e = sink
        .publish(&[scope_data(Scope::org("o"), 1)], now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("gave up after"), "{e}");
}

#[tokio::test]
async fn requests_are_capped_in_samples() {
    let rx = Receiver::ok().await;
    let sink = capped_sink(&rx, 3);
    let mut data = ScopeData::new(Scope::org("o"));
    let mut set = SampleSet::new();
    for i in 0..10 {
        set.insert(key("m", &[("i", &i.to_string())]), i as f64, "h");
    }
    data.days.insert(days_ago(1), set);
    sink.publish(&[Arc::new(data)], now()).await.unwrap();
    let sizes: Vec<usize> = rx
        .requests()
        .iter()
        .map(|r| encode::request_samples(&r.decoded()))
        .collect();
    assert_eq!(sizes, [3, 3, 3, 1]);
}

#[tokio::test]
async fn rw1_17_stale_markers_for_series_that_vanish() {
    let rx = Receiver::ok().await;
    let (sink, _) = new_sink(test_config(rx.url()));
    let scope = Scope::org("o");
    sink.publish(&[scope_data(scope.clone(), 2)], now())
        .await
        .unwrap();
    let mut data = (*scope_data(scope.clone(), 2)).clone();
    data.current = SampleSet::new(); // seats vanished
    let later = now() + Duration::from_secs(60);
    let summary = sink.publish(&[Arc::new(data)], later).await.unwrap();
    assert_eq!(summary.scope(&scope).unwrap().stale_markers, 1);
    let req = rx.requests()[1].decoded();
    let seats = req
        .timeseries
        .iter()
        .find(|s| s.labels.iter().any(|l| l.value == "copilot_seats_total"))
        .unwrap();
    assert_eq!(seats.samples[0].value.to_bits(), encode::STALE_NAN_BITS);
    assert_eq!(seats.samples[0].timestamp, unix_ms(later));
    // A third publish does not repeat the marker.
    let mut data = (*scope_data(scope.clone(), 2)).clone();
    data.current = SampleSet::new();
    let summary = sink.publish(&[Arc::new(data)], later).await.unwrap();
    assert_eq!(summary.scope(&scope).unwrap().stale_markers, 0);
}

#[tokio::test]
async fn one_failing_scope_does_not_stop_the_others() {
    // Rejects anything carrying org="bad".
    let rx = Receiver::start(|_, c| {
        let bad = c
            .decoded()
            .timeseries
            .iter()
            .any(|s| s.labels.iter().any(|l| l.name == "org" && l.value == "bad"));
        if bad {
            (400, vec![], "bad org".into())
        } else {
            (204, vec![], String::new())
        }
    })
    .await;
    let (sink, _) = new_sink(test_config(rx.url()));
    let e = sink
        .publish(
            &[
                scope_data(Scope::org("bad"), 2),
                scope_data(Scope::org("good"), 2),
            ],
            now(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("org=bad"), "{e}");
    assert!(!e.to_string().contains("org=good"), "{e}");
    let summary = e.summary().unwrap();
    assert_eq!(summary.scope(&Scope::org("good")).unwrap().samples_sent, 4);
    assert_eq!(sink.last_success(), vec![(Scope::org("good"), now())]);
}

#[tokio::test]
async fn report_day_sends_each_settled_day_once_oldest_first_at_noon_utc() {
    let rx = Receiver::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::org("o");
    let data = scope_data(scope.clone(), 15);
    {
        let (sink, _) = new_sink(report_day_config(rx.url(), Some(dir.path())));
        // Nothing sent yet: the window starts BACKFILL_DAYS ago.
        assert_eq!(sink.history_wanted(&scope, today()), Some(days_ago(10)));
        let summary = sink
            .publish(std::slice::from_ref(&data), now())
            .await
            .unwrap();
        let s = summary.scope(&scope).unwrap();
        // Days today−10 … today−3 (settled), oldest first.
        let expected: Vec<NaiveDate> = (3..=10).rev().map(days_ago).collect();
        assert_eq!(s.days_sent, expected);
        assert_eq!(sink.history_wanted(&scope, today()), Some(days_ago(2)));
    }
    let reqs = rx.requests();
    // First the current values (seats, stamped now), then one request per day.
    assert_eq!(reqs.len(), 1 + 8);
    assert_eq!(reqs[0].timestamps(), BTreeSet::from([unix_ms(now())]));
    for (r, ago) in reqs[1..].iter().zip((3..=10).rev()) {
        let day = days_ago(ago);
        assert_eq!(
            r.timestamps(),
            BTreeSet::from([report_day_timestamp_ms(day)])
        );
        assert_eq!(
            report_day_timestamp_ms(day),
            (day_start_unix(day) + 43_200) * 1000
        );
        let req = r.decoded();
        assert_eq!(req.timeseries.len(), 3);
        let active = req
            .timeseries
            .iter()
            .find(|s| s.labels.iter().any(|l| l.value == "copilot_active_users"))
            .unwrap();
        assert_eq!(active.samples[0].value, ago as f64);
    }

    // Restart with the same STATE_DIR: no day is sent again, only seats.
    let (sink, _) = new_sink(report_day_config(rx.url(), Some(dir.path())));
    assert_eq!(sink.history_wanted(&scope, today()), Some(days_ago(2)));
    let summary = sink
        .publish(std::slice::from_ref(&data), now())
        .await
        .unwrap();
    assert!(summary.scope(&scope).unwrap().days_sent.is_empty());
    assert_eq!(rx.requests().len(), 1 + 8 + 1);

    // A day later one more day has settled.
    let tomorrow = now() + Duration::from_secs(86_400);
    let summary = sink.publish(&[data], tomorrow).await.unwrap();
    assert_eq!(summary.scope(&scope).unwrap().days_sent, vec![days_ago(2)]);
}

#[tokio::test]
async fn report_day_rejected_day_is_skipped_and_the_other_days_still_arrive() {
    let poison = report_day_timestamp_ms(days_ago(6));
    let rx = Receiver::start(move |_, c| {
        if c.timestamps().contains(&poison) {
            (400, vec![], "out of bounds".into())
        } else {
            (204, vec![], String::new())
        }
    })
    .await;
    let scope = Scope::org("o");
    let (sink, registry) = new_sink(report_day_config(rx.url(), None));
    let e = sink
        .publish(&[scope_data(scope.clone(), 15)], now())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&format!("day {}", days_ago(6))), "{text}");
    assert!(text.contains("HTTP 400: out of bounds"), "{text}");
    let s = e.summary().unwrap().scope(&scope).unwrap().clone();
    assert_eq!(s.days_rejected, vec![days_ago(6)]);
    assert_eq!(s.days_sent.len(), 7);
    assert!(s.days_sent.contains(&days_ago(5)) && s.days_sent.contains(&days_ago(3)));
    assert_eq!(
        counter(
            &registry,
            "copilot_exporter_remote_write_samples_total",
            "rejected"
        ),
        3
    );
    // The mark passed the poison day: it is not retried.
    assert_eq!(sink.history_wanted(&scope, today()), Some(days_ago(2)));
}

#[tokio::test]
async fn report_day_failure_keeps_the_mark_and_resends_in_order_later() {
    let failing = report_day_timestamp_ms(days_ago(5));
    let healthy = Arc::new(Mutex::new(false));
    let healthy2 = healthy.clone();
    let rx = Receiver::start(move |_, c| {
        if !*healthy2.lock().unwrap() && c.timestamps().contains(&failing) {
            (503, vec![], "unavailable".into())
        } else {
            (204, vec![], String::new())
        }
    })
    .await;
    let scope = Scope::org("o");
    let mut config = report_day_config(rx.url(), None);
    config.retry.max_duration = Duration::from_millis(200);
    let (sink, _) = new_sink(config);
    let data = scope_data(scope.clone(), 15);
    let e = sink
        .publish(std::slice::from_ref(&data), now())
        .await
        .unwrap_err();
    let s = e.summary().unwrap().scope(&scope).unwrap().clone();
    assert_eq!(
        s.days_sent,
        vec![
            days_ago(10),
            days_ago(9),
            days_ago(8),
            days_ago(7),
            days_ago(6)
        ]
    );
    assert_eq!(sink.history_wanted(&scope, today()), Some(days_ago(5)));
    *healthy.lock().unwrap() = true;
    let summary = sink.publish(&[data], now()).await.unwrap();
    assert_eq!(
        summary.scope(&scope).unwrap().days_sent,
        vec![days_ago(5), days_ago(4), days_ago(3)]
    );
}

#[tokio::test]
async fn history_wanted_never_reaches_before_the_backfill_window() {
    let rx = Receiver::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let (sink, _) = new_sink(report_day_config(rx.url(), Some(dir.path())));
    let scope = Scope::enterprise("e");
    sink.state.advance(&scope, days_ago(40)).unwrap();
    assert_eq!(sink.history_wanted(&scope, today()), Some(days_ago(10)));
}

#[test]
fn sink_debug_and_errors_hide_secrets() {
    let mut url = Url::parse("https://r.example/api/v1/push?token=QSECRET").unwrap();
    url.set_path("/api/v1/push");
    let mut config = test_config(url);
    config.auth = Some(Auth::Bearer(SecretSource::Value(Secret::new("BSECRET"))));
    let (sink, _) = new_sink(config);
    let dbg = format!("{sink:?}");
    assert!(
        !dbg.contains("QSECRET") && !dbg.contains("BSECRET"),
        "{dbg}"
    );
}

#[test]
fn registering_twice_in_one_registry_is_an_error_not_a_panic() {
    let registry = Registry::new();
    let url = Url::parse("http://127.0.0.1:1/api/v1/write").unwrap();
    RemoteWriteSink::new(test_config(url.clone()), &registry).unwrap();
    let e = RemoteWriteSink::new(test_config(url), &registry).unwrap_err();
    assert!(matches!(e, RemoteWriteError::Metrics(_)), "{e}");
}

#[test]
fn the_sink_and_its_publish_future_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let url = Url::parse("http://127.0.0.1:1/api/v1/write").unwrap();
    let (sink, _) = new_sink(test_config(url));
    assert_send_sync(&sink);
    let scopes = [scope_data(Scope::org("o"), 1)];
    let future = sink.publish(&scopes, now());
    assert_send(&future);
}

#[path = "publish_tests.rs"]
mod publish;
