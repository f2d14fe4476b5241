//! `/metrics` as a scraper meets it: gzip when asked, TLS and basic auth
//! from a web configuration file (exporter-toolkit format), `process_*`
//! metrics — checked with a real Prometheus scraping over TLS with basic
//! auth.

mod common;

use std::io::Read;
use std::time::Duration;

use common::{exporter_command, free_port, spawn, wait_http_ok, KillOnDrop};

fn start_demo(env: &[(&str, &str)]) -> (KillOnDrop, u16) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut all = vec![("LISTEN_ADDR", listen.as_str())];
    all.extend_from_slice(env);
    let child = spawn(&mut exporter_command(&["--demo"], &all));
    (child, port)
}

#[tokio::test]
async fn metrics_are_gzipped_when_asked_and_carry_process_metrics() {
    let (_exporter, port) = start_demo(&[]);
    let url = format!("http://127.0.0.1:{port}/metrics");
    assert!(wait_http_ok(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(30)
    ));
    // Raw bodies: no automatic decoding (reqwest's `gzip` is on for the
    // report downloads).
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let plain = client.get(&url).send().await.unwrap();
    assert_eq!(plain.headers().get("content-encoding"), None);
    let plain = plain.text().await.unwrap();
    let zipped = client
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        zipped
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    let bytes = zipped.bytes().await.unwrap();
    assert!(
        bytes.len() * 3 < plain.len(),
        "{} vs {}",
        bytes.len(),
        plain.len()
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    // Same data (self-metric counters move between the two scrapes).
    let data = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("copilot_") && !l.starts_with("copilot_exporter_"))
            .map(str::to_string)
            .collect()
    };
    assert!(!data(&text).is_empty());
    assert_eq!(data(&text), data(&plain));
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(plain.lines().any(|l| l.starts_with(name)), "{name} missing");
    }
    common::promtool_check_metrics(&plain);
}

#[tokio::test]
async fn prometheus_scrapes_over_tls_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let web = common::web_config(dir.path(), "prometheus", "scrape-pw", true);
    let web_path = web.display().to_string();
    let (_exporter, port) = start_demo(&[("WEB_CONFIG_FILE", &web_path)]);

    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("ca.crt")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/metrics");
    let mut status = None;
    for _ in 0..100 {
        match client.get(&url).send().await {
            Ok(r) => {
                status = Some(r.status().as_u16());
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert_eq!(status, Some(401), "no credentials: 401");
    let wrong = client
        .get(&url)
        .basic_auth("prometheus", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let ok = client
        .get(&url)
        .basic_auth("prometheus", Some("scrape-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    // Probes stay open; plain HTTP on the TLS port gets no answer.
    let probe = client
        .get(format!("https://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status().as_u16(), 200);
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .is_err());

    let Some(prometheus) = common::servers::prometheus(&format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: copilot\n    scheme: https\n    tls_config:\n      ca_file: {d}/ca.crt\n    basic_auth:\n      username: prometheus\n      password: scrape-pw\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n",
        d = dir.path().display()
    )) else {
        return;
    };
    let series = common::servers::wait_for_series(
        &prometheus.base,
        "copilot_daily_active_users",
        Duration::from_secs(30),
    )
    .await;
    assert!(!series.is_empty());
    let up = common::servers::query(&prometheus.base, "up{job=\"copilot\"}", None).await;
    assert_eq!(up[0]["value"][1], "1", "{up:?}");
}

#[test]
fn a_bad_web_config_file_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        "basic_auth_users:\n  prometheus: plain-text-password\n",
    )
    .unwrap();
    let out = common::run_exporter_blocking(
        &["--demo", "--once"],
        &[("WEB_CONFIG_FILE", &web.display().to_string())],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("WEB_CONFIG_FILE"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("plain-text-password"),
        "{}",
        out.stderr
    );
}
