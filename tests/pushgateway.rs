//! The Pushgateway sink and the scheduler against a real Pushgateway
//! (`prometheus-pushgateway`, Debian 1.5.1) and small stub servers, through
//! the real binary where the acceptance is about the binary.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::servers::{self, Server};
use common::{
    exporter_command, free_port, http_get, parse_exposition, require_tool, run_exporter_blocking,
    sigterm, spawn, wait_exit, wait_http_ok, Run, Series,
};
use copilot_metrics_exporter::model::scope::Scope;
use copilot_metrics_exporter::model::{ScopeData, SeriesKey};
use copilot_metrics_exporter::sinks::pushgateway::{PushgatewayConfig, PushgatewaySink};
use copilot_metrics_exporter::sinks::view::Publication;
use url::Url;

/// Starts a Pushgateway of this test's own, or `None` (test skipped) when
/// it is not installed.
fn start_pushgateway(web_config: Option<&Path>) -> Option<Server> {
    servers::pushgateway_isolated(web_config)
}

/// Scrapes a Pushgateway's `/metrics` (no auth).
fn scrape(pgw: &Server) -> BTreeMap<Series, f64> {
    let (status, body) = http_get(&format!("{}/metrics", pgw.base)).expect("scrape");
    assert_eq!(status, 200, "{body}");
    parse_exposition(&body)
}

/// Runs the exporter to completion with a clean environment, `LOG_LEVEL=info`
/// unless `env` says otherwise, plus `env`.
fn run_exporter(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec![("LOG_LEVEL", "info")];
    all.extend_from_slice(env);
    run_exporter_blocking(args, &all)
}

/// Report series (not the exporter's own) without the Pushgateway's
/// `job` / `instance` labels.
fn report_series(all: &BTreeMap<Series, f64>) -> BTreeMap<Series, f64> {
    all.iter()
        .filter(|((name, _), _)| {
            name.starts_with("copilot_") && !name.starts_with("copilot_exporter_")
        })
        .map(|((name, labels), v)| {
            let mut labels = labels.clone();
            labels.remove("job");
            labels.remove("instance");
            ((name.clone(), labels), *v)
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn once_demo_push_lands_the_same_values_as_the_exposition() {
    let Some(pgw) = start_pushgateway(None) else {
        return;
    };
    let out = run_exporter(&["--once", "--demo"], &[("PUSHGATEWAY_URL", &pgw.base)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "with a push target --once prints nothing"
    );
    let expected = run_exporter(&["--once", "--demo"], &[]);
    assert_eq!(expected.code, 0);
    let expected = parse_exposition(&expected.stdout);

    let landed = scrape(&pgw);
    let want = report_series(&expected);
    let got = report_series(&landed);
    assert!(want.len() > 100, "demo data has {} series", want.len());
    assert_eq!(
        got, want,
        "the Pushgateway holds exactly the exposition's report series"
    );

    // Grouping, batch-job gauges and push_time_seconds per scope.
    for (label, name) in [("org", "octo-demo"), ("enterprise", "octo-enterprise")] {
        let group = labels(&[
            ("instance", ""),
            ("job", "copilot-metrics-exporter"),
            (label, name),
        ]);
        let push_time = landed[&("push_time_seconds".to_string(), group.clone())];
        assert!(push_time > 1.7e9, "{push_time}");
        let last_success = landed[&(
            "copilot_exporter_last_success_timestamp_seconds".to_string(),
            group.clone(),
        )];
        assert!(
            (push_time - last_success).abs() < 60.0,
            "{push_time} vs {last_success}"
        );
        assert!(landed.contains_key(&(
            "copilot_exporter_collect_duration_seconds".to_string(),
            group
        )));
    }
    // Every group carries the health alerts need: the scope's own gauges
    // and the exporter's self-metrics (labelled with the group's scope).
    for (label, name) in [("org", "octo-demo"), ("enterprise", "octo-enterprise")] {
        let in_group = |metric: &str, extra: &[(&str, &str)]| {
            let mut want = labels(&[
                ("instance", ""),
                ("job", "copilot-metrics-exporter"),
                (label, name),
            ]);
            want.extend(labels(extra));
            landed.get(&(metric.to_string(), want)).copied()
        };
        assert_eq!(
            in_group("copilot_exporter_collect_success", &[]),
            Some(1.0),
            "{name}"
        );
        assert_eq!(
            in_group(
                "copilot_exporter_build_info",
                &[("version", env!("CARGO_PKG_VERSION"))]
            ),
            Some(1.0),
            "{name}"
        );
        assert_eq!(
            in_group("copilot_exporter_refreshes_total", &[("result", "success")]),
            Some(1.0)
        );
        assert_eq!(
            in_group(
                "copilot_exporter_github_failures_total",
                &[("reason", "bad_credentials")]
            ),
            Some(0.0)
        );
        assert!(in_group(
            "copilot_exporter_pushgateway_pushes_total",
            &[("result", "failure")]
        )
        .is_some());
    }

    // The JSON API agrees on the group labels.
    let (status, body) = http_get(&format!("{}/api/v1/metrics", pgw.base)).unwrap();
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let groups = json["data"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "one group per scope");
    for group in groups {
        assert_eq!(group["labels"]["job"], "copilot-metrics-exporter");
        assert!(group["labels"].get("org").is_some() ^ group["labels"].get("enterprise").is_some());
    }
}

fn sink_for(url: &str) -> PushgatewaySink {
    let config = PushgatewayConfig {
        url: Url::parse(url).unwrap(),
        job: "copilot-test".into(),
        auth: None,
        headers: Vec::new(),
        ca_certs: Vec::new(),
        timeout: Duration::from_secs(10),
        attempts: 3,
        retry_delay: Duration::from_millis(10),
        external_labels: Default::default(),
    };
    PushgatewaySink::new(config, &prometheus::Registry::new()).unwrap()
}

/// A round of freshly collected data only.
fn round(data: &[Arc<ScopeData>]) -> Publication {
    Publication::of_data(data, std::time::SystemTime::now())
}

fn scope_data(scope: Scope, series: &[(&str, f64)]) -> Arc<ScopeData> {
    let mut data = ScopeData::new(scope.clone());
    for (name, value) in series {
        data.current.insert(
            SeriesKey::new(
                *name,
                vec![scope.label(), ("editor".into(), "vscode".into())],
            ),
            *value,
            "Test metric.",
        );
    }
    Arc::new(data)
}

#[tokio::test]
async fn put_replaces_the_group_and_base64_carries_a_slash() {
    let Some(pgw) = start_pushgateway(None) else {
        return;
    };
    let sink = sink_for(&pgw.base);
    let scope = Scope::enterprise("team/a b");
    let other = Scope::org("other-org");

    let first = scope_data(
        scope.clone(),
        &[("copilot_keep", 1.5), ("copilot_vanish", 2.0)],
    );
    let others = scope_data(other.clone(), &[("copilot_keep", 7.0)]);
    assert!(sink.publish(&round(&[first, others])).await.is_empty());
    let series = |name: &str, scope: &Scope| {
        (
            name.to_string(),
            labels(&[
                ("editor", "vscode"),
                ("instance", ""),
                ("job", "copilot-test"),
                (scope.label_name(), &scope.name),
            ]),
        )
    };
    let landed = scrape(&pgw);
    assert_eq!(
        landed.get(&series("copilot_keep", &scope)),
        Some(&1.5),
        "{landed:#?}"
    );
    assert_eq!(landed.get(&series("copilot_vanish", &scope)), Some(&2.0));
    assert_eq!(landed.get(&series("copilot_keep", &other)), Some(&7.0));

    // Second push of the same scope without one series: PUT removes it;
    // the other scope's group is untouched.
    let second = scope_data(scope.clone(), &[("copilot_keep", 3.0)]);
    assert!(sink.publish(&round(&[second])).await.is_empty());
    let landed = scrape(&pgw);
    assert_eq!(landed.get(&series("copilot_keep", &scope)), Some(&3.0));
    assert!(
        !landed.keys().any(|(n, _)| n == "copilot_vanish"),
        "vanished series still there"
    );
    assert_eq!(landed.get(&series("copilot_keep", &other)), Some(&7.0));

    // The grouping key decoded from `enterprise@base64/…` is the raw value.
    let (_, body) = http_get(&format!("{}/api/v1/metrics", pgw.base)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let enterprises: Vec<_> = json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["labels"]["enterprise"].as_str())
        .collect();
    assert_eq!(enterprises, ["team/a b"]);
}

#[test]
fn basic_auth_against_a_protected_pushgateway() {
    if require_tool("prometheus-pushgateway").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let password = "s3cret-Pa55-word";
    let hash = bcrypt::hash(password, 4).unwrap();
    let web_config = dir.path().join("web.yml");
    std::fs::write(
        &web_config,
        format!("basic_auth_users:\n  pusher: '{hash}'\n"),
    )
    .unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, format!("{password}\n")).unwrap();
    let Some(pgw) = start_pushgateway(Some(&web_config)) else {
        return;
    };
    assert_eq!(
        common::http_get_status(&format!("{}/metrics", pgw.base)).unwrap(),
        401
    );

    // Wrong password: 401, not retried, exit 1; the password never shows.
    let out = run_exporter(
        &["--once", "--demo", "--org", "octo-demo"],
        &[
            ("PUSHGATEWAY_URL", &pgw.base),
            ("PUSHGATEWAY_USERNAME", "pusher"),
            ("PUSHGATEWAY_PASSWORD", "wrong-password-xyz"),
        ],
    );
    let err = &out.stderr;
    assert_eq!(out.code, 1, "{err}");
    assert!(
        err.contains("HTTP 401") && err.contains("after 1 attempt"),
        "{err}"
    );
    assert!(err.contains(&pgw.base), "{err}");
    assert!(!err.contains("wrong-password-xyz"), "{err}");

    // Right password from a file.
    let out = run_exporter(
        &["--once", "--demo", "--org", "octo-demo"],
        &[
            ("PUSHGATEWAY_URL", &pgw.base),
            ("PUSHGATEWAY_USERNAME", "pusher"),
            ("PUSHGATEWAY_PASSWORD_FILE", password_file.to_str().unwrap()),
            ("LOG_LEVEL", "debug"),
        ],
    );
    let err = &out.stderr;
    assert_eq!(out.code, 0, "{err}");
    assert!(!err.contains(password), "password leaked into the logs");

    // Read back with the same credentials.
    let response = get_with_basic_auth(&format!("{}/api/v1/metrics", pgw.base), "pusher", password);
    assert!(response.contains("octo-demo"), "{response}");
}

/// GET with basic auth over a raw socket (the tests avoid a blocking client).
fn get_with_basic_auth(url: &str, user: &str, password: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let token = copilot_metrics_exporter::sinks::pushgateway::base64_url(
        format!("{user}:{password}").as_bytes(),
    )
    .replace('-', "+")
    .replace('_', "/");
    let token = format!("{token}{}", "=".repeat((4 - token.len() % 4) % 4));
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nAuthorization: Basic {token}\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    assert!(
        raw.starts_with("HTTP/1.0 200") || raw.starts_with("HTTP/1.1 200"),
        "{raw}"
    );
    raw
}

#[test]
fn pushgateway_down_makes_once_exit_1_naming_the_url() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let out = run_exporter(
        &["--once", "--demo"],
        &[
            ("PUSHGATEWAY_URL", &url),
            ("PUSHGATEWAY_RETRY_DELAY_MS", "20"),
        ],
    );
    let err = &out.stderr;
    assert_eq!(out.code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{url}/metrics/job/copilot-metrics-exporter/org/octo-demo"
        )),
        "{err}"
    );
    assert!(
        err.contains("cannot connect") && err.contains("after 3 attempt"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// A stub HTTP server answering every request with `status` and `body`
/// after `delay`; counts requests. Runs until the test process ends.
fn stub_server(status: u16, body: &'static str, delay: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut request_body = vec![0; length];
                if reader.read_exact(&mut request_body).is_err() {
                    return;
                }
                std::thread::sleep(delay);
                counter.fetch_add(1, Ordering::SeqCst);
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Stub\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (url, count)
}

#[test]
fn server_errors_are_retried_and_client_errors_are_not() {
    let (url, count) = stub_server(500, "boom", Duration::ZERO);
    let out = run_exporter(
        &["--once", "--demo", "--org", "octo-demo"],
        &[
            ("PUSHGATEWAY_URL", &url),
            ("PUSHGATEWAY_RETRY_DELAY_MS", "20"),
        ],
    );
    let err = &out.stderr;
    assert_eq!(out.code, 1, "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 3, "three attempts");
    assert!(err.contains("after 3 attempt(s): HTTP 500: boom"), "{err}");
    assert!(err.contains(&url), "{err}");

    let (url, count) = stub_server(
        400,
        "pushed metrics are invalid or inconsistent with existing metrics: details",
        Duration::ZERO,
    );
    let out = run_exporter(
        &["--once", "--demo", "--org", "octo-demo"],
        &[
            ("PUSHGATEWAY_URL", &url),
            ("PUSHGATEWAY_RETRY_DELAY_MS", "20"),
        ],
    );
    let err = &out.stderr;
    assert_eq!(out.code, 1, "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "a 4xx is not retried");
    assert!(
        err.contains(
            "HTTP 400: pushed metrics are invalid or inconsistent with existing metrics: details"
        ),
        "{err}"
    );
}

fn stderr_of(child: &mut std::process::Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    text
}

#[test]
fn service_pushes_every_tick_without_listener_and_stops_on_sigterm() {
    let Some(pgw) = start_pushgateway(None) else {
        return;
    };
    let mut child = spawn(
        exporter_command(
            &["--demo", "--org", "octo-demo"],
            &[
                ("CACHE_TTL_SECONDS", "1"),
                ("LISTEN_ADDR", ""),
                ("PUSHGATEWAY_URL", &pgw.base),
                ("LOG_LEVEL", "info"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped()),
    );
    // Several consecutive ticks: push_time_seconds keeps moving.
    let group = labels(&[
        ("instance", ""),
        ("job", "copilot-metrics-exporter"),
        ("org", "octo-demo"),
    ]);
    let key = ("push_time_seconds".to_string(), group);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < 4 && Instant::now() < deadline {
        if let Some(t) = scrape(&pgw).get(&key) {
            if seen.last() != Some(t) {
                seen.push(*t);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(seen.len() >= 4, "push times seen: {seen:?}");
    let gaps: Vec<f64> = seen.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| (0.3..3.5).contains(g)), "gaps {gaps:?}");

    sigterm(&child.0);
    let status = wait_exit(&mut child.0, Duration::from_secs(10)).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    let err = stderr_of(&mut child.0);
    assert!(
        err.contains("LISTEN_ADDR is empty: no /metrics endpoint"),
        "{err}"
    );
    assert!(err.contains("SIGTERM received"), "{err}");
    assert!(!err.contains("serving /metrics"), "{err}");
}

#[test]
fn slow_pushes_skip_ticks_and_sigterm_waits_for_the_push_in_flight() {
    // Every push takes 2.5 s; the interval is 1 s.
    let (url, pushes) = stub_server(200, "", Duration::from_millis(2500));
    let port = free_port();
    let mut child = spawn(
        exporter_command(
            &["--demo", "--org", "octo-demo"],
            &[
                ("CACHE_TTL_SECONDS", "1"),
                ("LISTEN_ADDR", &format!("127.0.0.1:{port}")),
                ("PUSHGATEWAY_URL", &url),
                ("SHUTDOWN_GRACE_SECONDS", "10"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped()),
    );
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    assert!(wait_http_ok(&metrics_url, Duration::from_secs(10)));
    // Wait until a second refresh is in flight (the first push answered).
    let deadline = Instant::now() + Duration::from_secs(15);
    while pushes.load(Ordering::SeqCst) < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1200));
    let (_, body) = http_get(&metrics_url).unwrap();
    let metrics = parse_exposition(&body);
    let skipped = metrics[&(
        "copilot_exporter_refresh_ticks_skipped_total".to_string(),
        BTreeMap::new(),
    )];
    let runs = metrics[&(
        "copilot_exporter_refresh_runs_total".to_string(),
        BTreeMap::new(),
    )];
    assert!(skipped >= 1.0, "skipped {skipped}\n{body}");
    assert_eq!(runs, 2.0, "one run at a time: {body}");
    let successes = metrics[&(
        "copilot_exporter_pushgateway_pushes_total".to_string(),
        labels(&[("result", "success")]),
    )];
    assert_eq!(successes, 1.0);

    // SIGTERM while the second push is in flight: it completes, then exit 0.
    let before = pushes.load(Ordering::SeqCst);
    let signalled = Instant::now();
    sigterm(&child.0);
    let status =
        wait_exit(&mut child.0, Duration::from_secs(10)).expect("exits within the grace period");
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        pushes.load(Ordering::SeqCst),
        before + 1,
        "the push in flight finished"
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    let err = stderr_of(&mut child.0);
    assert!(err.contains("tick skipped"), "{err}");
    assert!(err.contains("stopped"), "{err}");
}

#[test]
fn bad_schedule_is_a_configuration_error() {
    // `--once`, so a binary that wrongly accepted it would still exit.
    let out = run_exporter(
        &["--demo", "--once"],
        &[("SCHEDULE", "every hour"), ("LISTEN_ADDR", "")],
    );
    assert_eq!(out.code, 2);
    let err = &out.stderr;
    assert!(err.contains("SCHEDULE"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_pushgateway_needs_pushgateway_ca_file_and_takes_basic_auth_and_headers() {
    if require_tool("prometheus-pushgateway").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let web = common::web_config(dir.path(), "pusher", "push-pw", true);
    let Some(pgw) = servers::pushgateway_tls(&web) else {
        return;
    };
    assert!(pgw.base.starts_with("https://"), "{}", pgw.base);
    let ca_path = dir.path().join("ca.crt").display().to_string();
    let auth = [
        ("LOG_LEVEL", "info"),
        ("PUSHGATEWAY_URL", pgw.base.as_str()),
        ("PUSHGATEWAY_USERNAME", "pusher"),
        ("PUSHGATEWAY_PASSWORD", "push-pw"),
        ("PUSHGATEWAY_HEADERS", "X-Scope-OrgID=team-a"),
        ("PUSHGATEWAY_RETRY_DELAY_MS", "20"),
    ];
    let with_ca = |extra: &[(&'static str, &'static str)]| {
        let mut env: Vec<(&str, &str)> = auth.to_vec();
        env.push(("PUSHGATEWAY_CA_FILE", ca_path.as_str()));
        env.extend_from_slice(extra);
        env
    };
    let demo = ["--once", "--demo", "--org", "octo-demo"];

    // Without the CA: the push fails, naming the setting that fixes it.
    let out = common::run_exporter(&demo, &auth).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("not trusted") && out.stderr.contains("PUSHGATEWAY_CA_FILE"),
        "{}",
        out.stderr
    );
    let check = common::run_exporter(&["--check", "--demo", "--org", "octo-demo"], &auth).await;
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    assert!(
        check.stdout.contains("untrusted certificate")
            && check.stdout.contains(
                "fix: put the CA that signed the sink's certificate (PEM) in PUSHGATEWAY_CA_FILE"
            ),
        "{}",
        check.stdout
    );

    // With the CA: pushed over TLS with basic auth and the extra header.
    let out = common::run_exporter(&demo, &with_ca(&[])).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("push-pw"), "{}", out.stderr);
    let check =
        common::run_exporter(&["--check", "--demo", "--org", "octo-demo"], &with_ca(&[])).await;
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);

    // A wrong password over TLS: 401, not a certificate problem.
    let out = common::run_exporter(&demo, &with_ca(&[("PUSHGATEWAY_PASSWORD", "nope")])).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("HTTP 401") && !out.stderr.contains("not trusted"),
        "{}",
        out.stderr
    );

    // Read back over TLS with the same CA and credentials.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&ca_path).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let groups = client
        .get(format!("{}/api/v1/metrics", pgw.base))
        .basic_auth("pusher", Some("push-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(groups.status().as_u16(), 200);
    let groups: serde_json::Value = serde_json::from_str(&groups.text().await.unwrap()).unwrap();
    let data = groups["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{groups}");
    assert_eq!(data[0]["labels"]["org"], "octo-demo");
    assert!(
        data[0]["copilot_daily_active_users"]["metrics"][0]["value"]
            .as_str()
            .is_some(),
        "{groups}"
    );
}
