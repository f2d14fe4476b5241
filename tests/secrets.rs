//! Every credential reaches only its own host and never appears in logs,
//! even at `trace` level with every library's tracing enabled.

mod common;

use base64::Engine;
use common::fake_github::{FakeGithub, Host};
use common::fake_receiver::{Answer, FakeReceiver};

const GITHUB_TOKEN: &str = "ghp_GITHUBsecret0000000001";
const RW_TOKEN: &str = "rw-bearer-secret-0000000002";
const PGW_PASSWORD: &str = "pgw-password-secret-0000003";

#[tokio::test(flavor = "multi_thread")]
async fn secrets_reach_only_their_own_hosts_and_never_the_logs() {
    let github = FakeGithub::start().await;
    let row = serde_json::json!({"day_totals": [{"day": "2025-10-01", "daily_active_users": 3}]});
    github.report(
        "/orgs/octo/copilot/metrics/reports/organization-28-day/latest",
        &[("r.ndjson", &row.to_string())],
    );
    // Sinks that fail first (so error paths are logged too), then accept.
    let receiver =
        FakeReceiver::start(vec![Answer::status(500, "boom"), Answer::status(204, "")]).await;
    let pushgateway =
        FakeReceiver::start(vec![Answer::status(503, "busy"), Answer::status(200, "")]).await;
    let password_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(password_file.path(), format!("{PGW_PASSWORD}\n")).unwrap();

    let run = common::run_exporter(
        &["--once"],
        &[
            ("GHC_TOKEN", GITHUB_TOKEN),
            ("ORG", "octo"),
            ("SEATS", "false"),
            ("GITHUB_API_URL", &github.api_url),
            (
                "REMOTE_WRITE_URL",
                &format!("{}/api/v1/write", receiver.base),
            ),
            ("REMOTE_WRITE_BEARER_TOKEN", RW_TOKEN),
            ("PUSHGATEWAY_URL", &pushgateway.base),
            ("PUSHGATEWAY_USERNAME", "pusher"),
            (
                "PUSHGATEWAY_PASSWORD_FILE",
                password_file.path().to_str().unwrap(),
            ),
            ("PUSHGATEWAY_RETRY_DELAY_MS", "10"),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("pusher:{PGW_PASSWORD}"));
    let forms = |secret: &str| {
        vec![
            secret.to_string(),
            base64::engine::general_purpose::STANDARD.encode(secret),
        ]
    };
    let all_secrets: Vec<String> = [GITHUB_TOKEN, RW_TOKEN, PGW_PASSWORD]
        .iter()
        .flat_map(|s| forms(s))
        .chain([basic.clone()])
        .collect();

    // Logs and output: nothing, in any form.
    for secret in &all_secrets {
        assert!(
            !run.stderr.contains(secret.as_str()),
            "a secret is in the logs"
        );
        assert!(
            !run.stdout.contains(secret.as_str()),
            "a secret is in stdout"
        );
    }
    assert!(run.stderr.lines().count() > 20, "trace logging was not on");

    // Each host saw only its own credential.
    let api = github.requests_to(Host::Api);
    assert!(api
        .iter()
        .all(|r| r.header("authorization") == Some(&format!("Bearer {GITHUB_TOKEN}"))));
    let mut elsewhere: Vec<String> = Vec::new();
    for r in github.requests_to(Host::Download) {
        elsewhere.extend(r.headers.iter().map(|(n, v)| format!("download {n}: {v}")));
    }
    for r in receiver.received() {
        assert_eq!(
            r.headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .map(|(_, v)| v.as_str()),
            Some(format!("Bearer {RW_TOKEN}").as_str())
        );
        elsewhere.extend(
            r.headers
                .iter()
                .filter(|(n, _)| n != "authorization")
                .map(|(n, v)| format!("remote-write {n}: {v}")),
        );
        elsewhere.push(String::from_utf8_lossy(&r.body).into_owned());
    }
    for r in pushgateway.received() {
        assert_eq!(
            r.headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .map(|(_, v)| v.as_str()),
            Some(format!("Basic {basic}").as_str())
        );
        elsewhere.extend(
            r.headers
                .iter()
                .filter(|(n, _)| n != "authorization")
                .map(|(n, v)| format!("pushgateway {n}: {v}")),
        );
        elsewhere.push(String::from_utf8_lossy(&r.body).into_owned());
    }
    assert!(!receiver.received().is_empty() && !pushgateway.received().is_empty());
    for secret in &all_secrets {
        for seen in &elsewhere {
            assert!(
                !seen.contains(secret.as_str()),
                "a secret reached a host it does not belong to: {seen}"
            );
        }
    }
    // The receivers never saw the GitHub token, the download host no token at all.
    for r in github.requests_to(Host::Download) {
        assert!(r.header("authorization").is_none());
    }
}
