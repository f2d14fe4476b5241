//! Remote-write authentication, checked by receivers that are not ours:
//!
//! * AWS SigV4 (Amazon Managed Service for Prometheus): `sigv4_receiver.py`
//!   recomputes every signature with botocore, the AWS SDK for Python, and
//!   answers 204 only when it matches (403 otherwise). botocore comes from
//!   PyPI (`.ci/run` installs it into `.ci-deps/venv`).
//! * Mutual TLS: Debian's Prometheus with `--web.config.file` and
//!   `client_auth_type: RequireAndVerifyClientCert`; the CA, server and
//!   client certificates are made here with rcgen.
//!
//! Without Python/botocore or Prometheus a test is skipped loudly on a
//! developer machine and fails in CI (`CI` set).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{run_exporter_blocking, KillOnDrop, Run};

const ACCESS_KEY: &str = "AKIDTESTEXPORTER";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY";
const WRONG_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjSESSIONTOKENxyz//+==";

/// A Python interpreter that can import botocore: the project venv first,
/// then `python3` on `PATH`. Missing: fails in CI, skips loudly elsewhere.
fn python_with_botocore() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci-deps/venv/bin/python3");
    let candidates = [Some(venv), common::find_tool("python3")];
    for python in candidates.into_iter().flatten() {
        let ok = Command::new(&python)
            .args(["-c", "import botocore"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(python);
        }
    }
    if common::in_ci() {
        panic!("python3 with botocore is not installed; .ci/run must install it (pip install botocore)");
    }
    eprintln!(
        "\n!!!!! SKIPPED: python3 with botocore is not installed (CI installs it: see .ci/run) !!!!!\n"
    );
    None
}

/// `sigv4_receiver.py` on a free loopback port, and what it printed.
struct SigV4Receiver {
    url: String,
    lines: Arc<Mutex<Vec<String>>>,
    _child: KillOnDrop,
}

impl SigV4Receiver {
    fn start(python: &Path, region: &str) -> SigV4Receiver {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4_receiver.py");
        let mut child = KillOnDrop(
            Command::new(python)
                .arg(script)
                .env("SIGV4_ACCESS_KEY", ACCESS_KEY)
                .env("SIGV4_SECRET_KEY", SECRET_KEY)
                .env("SIGV4_SESSION_TOKEN", SESSION_TOKEN)
                .env("SIGV4_REGION", region)
                .env("SIGV4_SERVICE", "aps")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start sigv4_receiver.py"),
        );
        let stdout = child.0.stdout.take().unwrap();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("LISTENING ") {
                    let _ = port_tx.send(port.trim().to_string());
                } else {
                    sink.lock().unwrap().push(line);
                }
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("sigv4_receiver.py did not start listening");
        SigV4Receiver {
            url: format!("http://127.0.0.1:{port}/workspaces/ws-test/api/v1/remote_write"),
            lines,
            _child: child,
        }
    }

    /// The receiver's verdicts so far (waits a moment for the last line).
    fn verdicts(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(200));
        self.lines.lock().unwrap().clone()
    }
}

fn assert_no_secret(run: &Run) {
    for secret in [SECRET_KEY, WRONG_SECRET, SESSION_TOKEN] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a credential reached the output:\n{}",
            run.stderr
        );
    }
}

fn sigv4_env<'a>(url: &'a str, secret: &'a str, home: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("REMOTE_WRITE_URL", url),
        ("REMOTE_WRITE_SIGV4_REGION", "eu-west-1"),
        ("REMOTE_WRITE_MAX_RETRY_SECONDS", "1"),
        // Signed too; its run of spaces tests the canonical whitespace rule.
        ("REMOTE_WRITE_HEADERS", "X-Extra=a  \t b"),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("HOME", home),
        // Libraries' trace output too: no credential may appear in it.
        ("RUST_LOG", "trace"),
    ]
}

/// Runs the exporter with `args` (e.g. `--once --demo`) signing with
/// `secret` into a botocore receiver that expects region `receiver_region`:
/// the run (checked to print no credential) and the receiver's verdicts.
/// `None` when skipped.
fn sigv4_run(args: &[&str], receiver_region: &str, secret: &str) -> Option<(Run, Vec<String>)> {
    let python = python_with_botocore()?;
    let receiver = SigV4Receiver::start(&python, receiver_region);
    let home = tempfile::tempdir().unwrap();
    let run = run_exporter_blocking(
        args,
        &sigv4_env(&receiver.url, secret, home.path().to_str().unwrap()),
    );
    assert_no_secret(&run);
    let verdicts = receiver.verdicts();
    assert!(!verdicts.is_empty(), "nothing arrived:\n{}", run.stderr);
    Some((run, verdicts))
}

const ONCE: [&str; 2] = ["--once", "--demo"];

#[test]
fn sigv4_requests_are_accepted_by_botocore() {
    let Some((run, verdicts)) = sigv4_run(&ONCE, "eu-west-1", SECRET_KEY) else {
        return;
    };
    assert_eq!(run.code, 0, "{verdicts:?}\n{}", run.stderr);
    assert!(
        verdicts.iter().all(|v| v.starts_with("ACCEPTED ")),
        "{verdicts:?}"
    );
}

#[test]
fn sigv4_with_a_wrong_secret_is_refused_and_the_run_fails() {
    let Some((run, verdicts)) = sigv4_run(&ONCE, "eu-west-1", WRONG_SECRET) else {
        return;
    };
    assert_eq!(run.code, 1, "{verdicts:?}\n{}", run.stderr);
    assert!(
        verdicts
            .iter()
            .all(|v| v == "REJECTED signature does not match"),
        "{verdicts:?}"
    );
    assert!(run.stderr.contains("403"), "{}", run.stderr);

    // The right secret for another region is refused as well.
    let (run, verdicts) = sigv4_run(&ONCE, "us-east-1", SECRET_KEY).unwrap();
    assert_eq!(run.code, 1, "{verdicts:?}\n{}", run.stderr);
    assert!(
        verdicts
            .iter()
            .all(|v| v.starts_with("REJECTED scope eu-west-1/aps")),
        "{verdicts:?}"
    );
}

#[test]
fn the_check_probe_is_signed_like_a_publish() {
    // `--check` sends one empty request, signed like every publish.
    let check = ["--check", "--demo"];
    let Some((run, verdicts)) = sigv4_run(&check, "eu-west-1", SECRET_KEY) else {
        return;
    };
    assert_eq!(run.code, 0, "{verdicts:?}\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert!(verdicts[0].starts_with("ACCEPTED "), "{verdicts:?}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("remote-write ") && l.ends_with("empty write request  works")),
        "{}",
        run.stdout
    );

    let (run, verdicts) = sigv4_run(&check, "eu-west-1", WRONG_SECRET).unwrap();
    assert_eq!(run.code, 1, "{verdicts:?}\n{}", run.stdout);
    assert_eq!(verdicts, ["REJECTED signature does not match"]);
    assert!(
        run.stdout.contains("empty write request  auth refused")
            && run.stdout.contains("HTTP 403")
            && run
                .stdout
                .contains("REMOTE_WRITE_SIGV4_REGION with AWS credentials"),
        "{}",
        run.stdout
    );
}

/// Exit 2 and a message naming `setting`; no credential in the output.
fn assert_config_error(env: &[(&str, &str)], setting: &str) {
    let run = run_exporter_blocking(&["--once", "--demo"], env);
    assert_eq!(run.code, 2, "{env:?}: {}", run.stderr);
    assert!(run.stderr.contains(setting), "{env:?}: {}", run.stderr);
    assert_no_secret(&run);
}

#[test]
fn sigv4_without_credentials_is_a_configuration_error() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap();
    let url = "http://127.0.0.1:9/api/v1/write";
    let base = [
        ("REMOTE_WRITE_URL", url),
        ("REMOTE_WRITE_SIGV4_REGION", "eu-west-1"),
        ("HOME", home),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = base.to_vec();
        env.extend_from_slice(extra);
        env
    };
    assert_config_error(&with(&[]), "REMOTE_WRITE_SIGV4_REGION");
    assert_config_error(
        &with(&[("AWS_ACCESS_KEY_ID", ACCESS_KEY)]),
        "AWS_SECRET_ACCESS_KEY",
    );
    assert_config_error(
        &with(&[("AWS_SECRET_ACCESS_KEY", SECRET_KEY)]),
        "AWS_ACCESS_KEY_ID",
    );
    assert_config_error(
        &with(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token")]),
        "AWS_ROLE_ARN",
    );
    assert_config_error(
        &with(&[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("REMOTE_WRITE_BEARER_TOKEN", "t"),
        ]),
        "REMOTE_WRITE_SIGV4_REGION",
    );
    assert_config_error(
        &with(&[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("REMOTE_WRITE_SIGV4_REGION", "EU West"),
        ]),
        "REMOTE_WRITE_SIGV4_REGION",
    );
}

/// PEM files of a test PKI: a CA, a server certificate for 127.0.0.1
/// signed by it, a client certificate signed by it, and a client
/// certificate from another CA.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();
        let ca = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
        };
        let leaf = |names: &[&str], issuer: &CertifiedIssuer<'_, KeyPair>, file: &str| {
            let params =
                CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    .unwrap();
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, issuer).unwrap();
            write(&format!("{file}.pem"), cert.pem());
            write(&format!("{file}-key.pem"), key.serialize_pem());
        };
        let good = ca("exporter test CA");
        let rogue = ca("some other CA");
        write("ca.pem", good.pem());
        leaf(&["127.0.0.1", "localhost"], &good, "server");
        leaf(&["exporter"], &good, "client");
        leaf(&["exporter"], &rogue, "rogue");
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

/// Prometheus serving HTTPS that requires a client certificate from `ca.pem`.
async fn prometheus_requiring_client_certs(
    pki: &Pki,
) -> Option<(common::servers::Server, reqwest::Client)> {
    let web = pki.dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n",
            pki.path("server.pem"),
            pki.path("server-key.pem"),
            pki.path("ca.pem")
        ),
    )
    .unwrap();
    let server = common::servers::prometheus_with_args(
        "global: {}\n",
        &[format!("--web.config.file={}", web.display())],
        "https",
    )?;
    let read = |n: &str| std::fs::read(pki.path(n)).unwrap();
    let mut identity = read("client.pem");
    identity.extend(read("client-key.pem"));
    let client = reqwest::Client::builder()
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&read("ca.pem")).unwrap())
        .identity(reqwest::Identity::from_pem(&identity).unwrap())
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = client.get(format!("{}/-/ready", server.base)).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus (TLS) did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Some((server, client))
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_into_a_real_prometheus() {
    let pki = Pki::new();
    let Some((prometheus, client)) = prometheus_requiring_client_certs(&pki).await else {
        return;
    };
    let url = format!("{}/api/v1/write", prometheus.base);
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client-key.pem"),
    );
    let (rogue, rogue_key) = (pki.path("rogue.pem"), pki.path("rogue-key.pem"));
    let run = |extra: Vec<(&'static str, String)>| {
        let mut env = vec![
            ("REMOTE_WRITE_URL", url.clone()),
            ("REMOTE_WRITE_CA_FILE", ca.clone()),
            ("REMOTE_WRITE_MAX_RETRY_SECONDS", "1".to_string()),
        ];
        env.extend(extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut cmd =
            tokio::process::Command::from(common::exporter_command(&["--once", "--demo"], &env));
        async move { Run::from(cmd.output().await.unwrap()) }
    };

    // Without a client certificate, and with one from another CA: refused.
    let without = run(vec![]).await;
    assert_eq!(without.code, 1, "{}", without.stderr);
    let foreign = run(vec![
        ("REMOTE_WRITE_CLIENT_CERT_FILE", rogue.clone()),
        ("REMOTE_WRITE_CLIENT_KEY_FILE", rogue_key.clone()),
    ])
    .await;
    assert_eq!(foreign.code, 1, "{}", foreign.stderr);
    let count = r#"count({__name__=~"copilot_.+"})"#;
    let query = |q: &'static str| {
        let client = client.clone();
        let base = prometheus.base.clone();
        async move {
            let url = url::Url::parse_with_params(&format!("{base}/api/v1/query"), &[("query", q)])
                .unwrap();
            let text = client.get(url).send().await.unwrap().text().await.unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["data"]["result"].as_array().cloned().unwrap_or_default()
        }
    };
    assert!(
        query(count).await.is_empty(),
        "data arrived without a valid client certificate"
    );

    // With the certificate the CA issued: accepted, and queryable.
    let with = run(vec![
        ("REMOTE_WRITE_CLIENT_CERT_FILE", cert.clone()),
        ("REMOTE_WRITE_CLIENT_KEY_FILE", key.clone()),
    ])
    .await;
    assert_eq!(with.code, 0, "{}", with.stderr);
    let days = query("copilot_report_day_timestamp_seconds").await;
    assert!(!days.is_empty(), "{}", with.stderr);
    assert!(!with.stderr.contains("PRIVATE KEY"), "{}", with.stderr);
}

#[test]
fn client_certificate_settings_are_checked_at_start() {
    let pki = Pki::new();
    let url = "https://127.0.0.1:9/api/v1/write";
    let (cert, key) = (pki.path("client.pem"), pki.path("client-key.pem"));
    let rogue_key = pki.path("rogue-key.pem");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("REMOTE_WRITE_CLIENT_CERT_FILE", &cert)],
            "REMOTE_WRITE_CLIENT_KEY_FILE",
        ),
        (
            &[("REMOTE_WRITE_CLIENT_KEY_FILE", &key)],
            "REMOTE_WRITE_CLIENT_CERT_FILE",
        ),
        (
            &[
                ("REMOTE_WRITE_CLIENT_CERT_FILE", "/nonexistent/c.pem"),
                ("REMOTE_WRITE_CLIENT_KEY_FILE", &key),
            ],
            "REMOTE_WRITE_CLIENT_CERT_FILE",
        ),
        (
            &[
                ("REMOTE_WRITE_CLIENT_CERT_FILE", &cert),
                ("REMOTE_WRITE_CLIENT_KEY_FILE", "/nonexistent/k.pem"),
            ],
            "REMOTE_WRITE_CLIENT_KEY_FILE",
        ),
        (
            &[
                ("REMOTE_WRITE_CLIENT_CERT_FILE", &cert),
                ("REMOTE_WRITE_CLIENT_KEY_FILE", &rogue_key),
            ],
            "REMOTE_WRITE_CLIENT_KEY_FILE",
        ),
    ];
    let key_text = std::fs::read_to_string(&rogue_key).unwrap();
    let key_line = key_text.lines().nth(1).unwrap();
    for (extra, setting) in cases {
        let mut env = vec![("REMOTE_WRITE_URL", url)];
        env.extend_from_slice(extra);
        let run = run_exporter_blocking(&["--once", "--demo"], &env);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(setting), "{extra:?}: {}", run.stderr);
        assert!(!run.stderr.contains(key_line), "{}", run.stderr);
    }
}
