//! Real Prometheus-ecosystem servers on free loopback ports, killed on drop.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{free_port, http_get_status, require_tool, spawn, wait_http_ok, KillOnDrop};

/// A running server: its base URL, process and data directory.
pub struct Server {
    /// `http://127.0.0.1:PORT[/prefix]`.
    pub base: String,
    _child: KillOnDrop,
    _dir: tempfile::TempDir,
}

/// Starts a Pushgateway kept in memory (Debian's default persists to
/// /var/lib/prometheus), or `None` when it is not installed (skipped).
pub fn pushgateway() -> Option<Server> {
    start_pushgateway(false, None, false)
}

/// Like [`pushgateway`], but under a route prefix unique to this call, so a
/// test only ever talks to its own (another server that grabbed the same
/// port meanwhile answers 404 there), and with an optional
/// `--web.config.file` (basic auth: readiness then answers 401).
pub fn pushgateway_isolated(web_config: Option<&Path>) -> Option<Server> {
    start_pushgateway(true, web_config, false)
}

/// Like [`pushgateway_isolated`], serving HTTPS: `web_config` has a
/// `tls_server_config`; the base URL is `https://127.0.0.1:PORT/prefix`.
pub fn pushgateway_tls(web_config: &Path) -> Option<Server> {
    start_pushgateway(true, Some(web_config), true)
}

fn start_pushgateway(prefixed: bool, web_config: Option<&Path>, tls: bool) -> Option<Server> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let bin = require_tool("prometheus-pushgateway")?;
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..5 {
        let port = free_port();
        let prefix = if prefixed {
            format!(
                "/t{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst)
            )
        } else {
            String::new()
        };
        let mut cmd = Command::new(&bin);
        cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--persistence.file=")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if prefixed {
            cmd.arg(format!("--web.route-prefix={prefix}"));
        }
        if let Some(path) = web_config {
            cmd.arg(format!("--web.config.file={}", path.display()));
        }
        let mut child = spawn(&mut cmd);
        let plain = format!("http://127.0.0.1:{port}{prefix}");
        let base = match tls {
            true => format!("https://127.0.0.1:{port}{prefix}"),
            false => plain.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if child.0.try_wait().ok().flatten().is_some() {
                break; // port taken meanwhile: try another
            }
            // 401 when it is behind basic auth; a TLS listener answers
            // plain HTTP with 400.
            let status = http_get_status(&format!("{plain}/-/ready"));
            if matches!(status, Ok(200 | 401)) || (tls && matches!(status, Ok(400))) {
                return Some(Server {
                    base,
                    _child: child,
                    _dir: dir,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("the Pushgateway did not start");
}

/// Starts Prometheus with the remote-write receiver, `config` as its
/// configuration file (YAML), long retention; `None` when not installed.
pub fn prometheus(config: &str) -> Option<Server> {
    let server = prometheus_with_args(config, &[], "http")?;
    assert!(
        wait_http_ok(&format!("{}/-/ready", server.base), Duration::from_secs(60)),
        "prometheus did not become ready"
    );
    Some(server)
}

/// Like [`prometheus`], with extra arguments (e.g. `--web.config.file`) and
/// `scheme` in the base URL, without waiting for readiness: the caller
/// waits (over TLS, say).
pub fn prometheus_with_args(config: &str, extra: &[String], scheme: &str) -> Option<Server> {
    let bin = require_tool("prometheus")?;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, config).unwrap();
    let port = free_port();
    let child = spawn(
        Command::new(bin)
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg("--storage.tsdb.retention.time=400d")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    Some(Server {
        base: format!("{scheme}://127.0.0.1:{port}"),
        _child: child,
        _dir: dir,
    })
}

/// A PromQL instant query at `at` (now when `None`); the `result` array.
pub async fn query(base: &str, promql: &str, at: Option<SystemTime>) -> Vec<serde_json::Value> {
    let at = at.unwrap_or_else(SystemTime::now);
    let t = at.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let url = url::Url::parse_with_params(
        &format!("{base}/api/v1/query"),
        &[("query", promql.to_string()), ("time", format!("{t:.3}"))],
    )
    .unwrap();
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{promql}: HTTP {status}: {text}");
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{promql}: {e}: {text}"));
    assert_eq!(v["status"], "success", "{promql}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// The single value of an instant query now (panics unless exactly one
/// series).
pub async fn scalar(base: &str, promql: &str) -> f64 {
    let result = query(base, promql, None).await;
    assert_eq!(result.len(), 1, "{promql}: expected one series: {result:?}");
    result[0]["value"][1].as_str().unwrap().parse().unwrap()
}

/// Polls `promql` until it returns at least one series or `timeout` passes.
pub async fn wait_for_series(
    base: &str,
    promql: &str,
    timeout: Duration,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let result = query(base, promql, None).await;
        if !result.is_empty() || Instant::now() > deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Starts VictoriaMetrics (single node, two years of retention, no query
/// cache), or `None` when it is not installed.
pub fn victoria_metrics() -> Option<Server> {
    let bin = require_tool("victoria-metrics")?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = spawn(
        Command::new(bin)
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg("-retentionPeriod=2y")
            .arg("-search.disableCache")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        wait_http_ok(&format!("{base}/health"), Duration::from_secs(60)),
        "victoria-metrics did not become ready"
    );
    Some(Server {
        base,
        _child: child,
        _dir: dir,
    })
}
