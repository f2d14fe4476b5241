//! Helpers shared by the integration tests: external tools, free ports,
//! child processes that are killed on drop.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// True when running in CI (`CI` set to anything but `false`/`0`/empty):
/// there, a missing tool fails the test instead of skipping it.
pub fn in_ci() -> bool {
    matches!(std::env::var("CI"), Ok(v) if !v.is_empty() && v != "0" && v != "false")
}

/// Finds an executable on `PATH` (plus `.ci-deps` folders of the checkout).
/// When it is missing: in CI the test fails; on a developer machine the test
/// prints a loud SKIPPED line and the caller returns early.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    if let Some(path) = find_tool(name) {
        return Some(path);
    }
    if in_ci() {
        panic!("required tool `{name}` is not installed; .ci/run must install it");
    }
    eprintln!(
        "\n!!!!! SKIPPED: `{name}` is not installed on this machine (CI installs it: see .ci/run) !!!!!\n"
    );
    None
}

/// Looks an executable up on `PATH` and in the project-local `.ci-deps` folders.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(root.join(".ci-deps/venv/bin"));
    dirs.push(root.join(".ci-deps/node_modules/.bin"));
    dirs.push(root.join(".ci-deps/bin"));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

/// A child process killed (and reaped) when dropped.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends SIGTERM to `child` with `kill` (procps).
pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Waits for a child to exit, at most `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Starts `cmd`, killed when the returned guard drops.
pub fn spawn(cmd: &mut Command) -> KillOnDrop {
    KillOnDrop(cmd.spawn().expect("spawn child process"))
}

/// Polls `url` until it answers 2xx or `timeout` passes.
pub fn wait_http_ok(url: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(status) = http_get_status(url) {
            if (200..300).contains(&status) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A minimal blocking HTTP/1.0 GET over loopback, returning the status code.
/// (Kept dependency-free so any test can wait for a server.)
pub fn http_get_status(url: &str) -> std::io::Result<u16> {
    let (status, _) = http_get(url)?;
    Ok(status)
}

/// A minimal blocking HTTP/1.0 GET: status and body.
pub fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other("only http:// URLs"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Path of the exporter binary built for integration tests.
pub fn exporter_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_copilot-metrics-exporter"))
}

pub mod fake_github;

/// Runs `promtool check metrics` on an exposition; fails the test on any
/// problem. Skips (loudly) where promtool is missing and not in CI.
pub fn promtool_check_metrics(exposition: &str) {
    use std::io::Write;
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a run of the exporter binary printed.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output (the exposition in `--once` mode).
    pub stdout: String,
    /// Standard error (the logs).
    pub stderr: String,
}

/// The exporter binary with a clean environment plus `env`, stdin closed.
pub fn exporter_command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(exporter_bin());
    cmd.args(args)
        .env_clear()
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `--once` for organization `octo` against a fake GitHub API at `api_url`
/// with `token`, fast retries and seats off, plus `extra` settings.
pub async fn run_once_for_octo(api_url: &str, token: &str, extra: &[(&str, &str)]) -> Run {
    let mut env = vec![
        ("GHC_TOKEN", token),
        ("ORG", "octo"),
        ("GITHUB_API_URL", api_url),
        ("GITHUB_RETRY_MIN_MS", "10"),
        ("GITHUB_RETRY_MAX_MS", "50"),
        ("SEATS", "false"),
    ];
    env.extend_from_slice(extra);
    run_exporter(&["--once"], &env).await
}

/// Runs the exporter with a clean environment plus `env`, and waits for it
/// without blocking the runtime (for tests whose fakes run on it).
pub async fn run_exporter(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = tokio::process::Command::from(exporter_command(args, env));
    cmd.output().await.expect("run exporter").into()
}

/// Runs the exporter with a clean environment plus `env`, blocking.
pub fn run_exporter_blocking(args: &[&str], env: &[(&str, &str)]) -> Run {
    exporter_command(args, env)
        .output()
        .expect("run exporter")
        .into()
}

/// The value of one series (`name{labels}` exactly as exposed) in a text
/// exposition.
pub fn value(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
}

/// A series: metric name and its labels.
pub type Series = (String, std::collections::BTreeMap<String, String>);

/// Parses the text exposition format into series → value (comments skipped;
/// label values unescaped).
pub fn parse_exposition(text: &str) -> std::collections::BTreeMap<Series, f64> {
    use std::collections::BTreeMap;
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => continue,
        };
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices();
            let mut key = String::new();
            let mut end = 0;
            while let Some((i, c)) = chars.next() {
                match c {
                    '}' => {
                        end = i + 1;
                        break;
                    }
                    ',' => {}
                    '=' => {
                        let _ = chars.next(); // opening quote
                        let mut value = String::new();
                        while let Some((_, c)) = chars.next() {
                            match c {
                                '\\' => match chars.next().map(|(_, c)| c) {
                                    Some('n') => value.push('\n'),
                                    Some(other) => value.push(other),
                                    None => {}
                                },
                                '"' => break,
                                other => value.push(other),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    other => key.push(other),
                }
            }
            rest = &body[end..];
        }
        let value = rest.split_whitespace().next().expect("value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        out.insert((name.to_string(), labels), value);
    }
    out
}

/// Distinct values of a label among the series of `metric` in a text
/// exposition.
pub fn label_values(
    exposition: &str,
    metric: &str,
    label: &str,
) -> std::collections::HashSet<String> {
    parse_exposition(exposition)
        .into_keys()
        .filter(|(name, _)| name == metric)
        .filter_map(|(_, mut labels)| labels.remove(label))
        .collect()
}

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The report days (ms at 00:00 UTC) `report-day` mode sends with
/// `BACKFILL_DAYS=backfill` and `REMOTE_WRITE_SETTLE_DAYS=settle`, oldest
/// first: today−backfill … today−settle.
pub fn settled_days(backfill: i64, settle: i64) -> Vec<i64> {
    let today = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    (settle..=backfill)
        .rev()
        .map(|ago| today - ago * DAY_MS)
        .collect()
}

/// A CA and a server certificate for 127.0.0.1 / localhost signed by it, as PEM
/// files in `dir` (`ca.crt`, `server.crt`, `server.key`).
pub fn make_pki(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.crt"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
}

/// An exporter-toolkit web configuration file (`--web.config.file`) in
/// `dir`: basic auth for `user` / `password` (bcrypt) and, with `tls`, the
/// server certificate of [`make_pki`] (its CA in `dir/ca.crt`).
pub fn web_config(dir: &Path, user: &str, password: &str, tls: bool) -> PathBuf {
    let hash = bcrypt::hash(password, 4).unwrap();
    let mut yaml = String::new();
    if tls {
        make_pki(dir);
        let d = dir.display();
        yaml.push_str(&format!(
            "tls_server_config:\n  cert_file: {d}/server.crt\n  key_file: {d}/server.key\n"
        ));
    }
    yaml.push_str(&format!("basic_auth_users:\n  {user}: '{hash}'\n"));
    let path = dir.join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

pub mod fake_receiver;
pub mod servers;
