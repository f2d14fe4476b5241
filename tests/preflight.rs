//! `--check` through the real binary: the in-test fake GitHub answering
//! GitHub's documented errors, a real Pushgateway and a real Prometheus
//! remote-write receiver, unreachable hosts, and a recording receiver that
//! shows what a sink probe sends.

mod common;

use std::time::{Duration, Instant};

use common::fake_github::{FakeGithub, FakeState, Reply};
use common::fake_receiver::{Answer, FakeReceiver, Gate};
use common::servers::{self, Server};
use common::{free_port, http_get, require_tool, run_exporter, Run};

/// One row of the table: the result, and for a failure the server's
/// message and the fix printed under it.
#[derive(Debug)]
struct Row {
    result: String,
    message: String,
    fix: String,
}

/// The row of `target` / `check` in the table on stdout.
fn row(run: &Run, target: &str, check: &str) -> Row {
    let lines: Vec<&str> = run.stdout.lines().collect();
    let i = lines
        .iter()
        .position(|l| {
            l.strip_prefix(target)
                .filter(|rest| rest.starts_with(' '))
                .is_some_and(|rest| rest.trim_start().starts_with(check))
        })
        .unwrap_or_else(|| {
            panic!(
                "no row {target} / {check} in:\n{}\n{}",
                run.stdout, run.stderr
            )
        });
    let result = lines[i][target.len()..].trim_start()[check.len()..]
        .trim()
        .to_string();
    let under = |n: usize| {
        lines
            .get(i + n)
            .map(|l| l.trim().to_string())
            .unwrap_or_default()
    };
    if result == "works" {
        return Row {
            result,
            message: String::new(),
            fix: String::new(),
        };
    }
    let fix = under(2);
    assert!(fix.starts_with("fix: "), "{}", run.stdout);
    Row {
        result,
        message: under(1),
        fix: fix["fix: ".len()..].to_string(),
    }
}

/// The summary line: checks, works, failed.
fn summary(run: &Run) -> (usize, usize, usize) {
    let line = run
        .stdout
        .lines()
        .rev()
        .find(|l| l.contains(" checks, "))
        .unwrap_or_else(|| panic!("no summary in:\n{}\n{}", run.stdout, run.stderr));
    let n: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1], n[2])
}

/// The exporter's environment against the fake GitHub, plus `extra`.
fn github_env<'a>(gh: &'a FakeGithub, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("GHC_TOKEN", "ghp_preflight"),
        ("GITHUB_API_URL", gh.api_url.as_str()),
        ("GITHUB_MAX_RETRIES", "0"),
        ("LOG_LEVEL", "warn"),
    ];
    env.extend_from_slice(extra);
    env
}

const ORG_28: &str = "/orgs/octo/copilot/metrics/reports/organization-28-day/latest";
const ENT_28: &str = "/enterprises/ent/copilot/metrics/reports/enterprise-28-day/latest";

#[tokio::test(flavor = "multi_thread")]
async fn github_refusals_get_their_row_and_fix_and_exit_1() {
    let gh = FakeGithub::start().await;
    gh.api(
        ORG_28,
        vec![
            Reply::documented("403-resource-not-accessible-by-integration").with_header(
                "x-accepted-github-permissions",
                "organization_copilot_metrics=read",
            ),
        ],
    );
    gh.api(
        ENT_28,
        vec![Reply::documented(
            "403-usage-metrics-policy-disabled.message-only",
        )],
    );
    gh.api(
        "/orgs/octo/copilot/billing",
        vec![Reply::documented("404-not-found")],
    );
    let run = run_exporter(
        &["--check", "--org", "octo", "--enterprise", "ent"],
        &github_env(&gh, &[]),
    )
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);

    let r = row(&run, "org=octo", "organization-28-day");
    assert_eq!(r.result, "missing permission", "{r:?}");
    assert!(
        r.message
            .contains("HTTP 403: Resource not accessible by integration")
            && r.message
                .contains("needs: organization_copilot_metrics=read"),
        "{r:?}"
    );
    assert!(r.fix.contains("Organization Copilot metrics"), "{r:?}");

    let r = row(&run, "enterprise=ent", "enterprise-28-day");
    assert_eq!(r.result, "policy disabled", "{r:?}");
    assert!(
        r.message
            .contains("The 'Copilot usage metrics' policy must be enabled"),
        "{r:?}"
    );
    assert!(
        r.fix.contains("enable the 'Copilot usage metrics' policy"),
        "{r:?}"
    );

    let r = row(&run, "org=octo", "billing");
    assert_eq!(r.result, "not found", "{r:?}");
    assert!(r.message.starts_with("HTTP 404: Not Found"), "{r:?}");
    assert!(r.fix.contains("ORG / ENTERPRISE"), "{r:?}");

    // What GitHub serves stays a working row (1-day reports: 204 counts).
    assert_eq!(row(&run, "org=octo", "seats").result, "works");
    assert_eq!(
        row(&run, "enterprise=ent", "enterprise-1-day").result,
        "works"
    );
    assert_eq!(summary(&run), (7, 4, 3), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_github_api_is_a_row_per_endpoint_and_exit_1() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let run = run_exporter(
        &["--check", "--org", "octo"],
        &[
            ("GHC_TOKEN", "ghp_preflight"),
            ("GITHUB_API_URL", &url),
            ("GITHUB_MAX_RETRIES", "0"),
            ("SEATS", "false"),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    for report in ["organization-28-day", "organization-1-day"] {
        let r = row(&run, "org=octo", report);
        assert_eq!(r.result, "unreachable", "{r:?}");
        assert!(r.fix.contains("GITHUB_API_URL"), "{r:?}");
    }
    assert_eq!(summary(&run), (2, 0, 2));
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// A Prometheus accepting remote-write, or `None` (skipped).
fn prometheus() -> Option<Server> {
    servers::prometheus("global:\n  scrape_interval: 1h\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_working_exits_0_and_sends_no_data() {
    let (Some(pgw), Some(prom)) = (servers::pushgateway_isolated(None), prometheus()) else {
        return;
    };
    let gh = FakeGithub::with_state(FakeState::standard(common::fake_github::FakeAuth::AnyToken));
    let write_url = format!("{}/api/v1/write", prom.base);
    let run = run_exporter(
        &["--check", "--org", "octo", "--enterprise", "ent"],
        &github_env(
            &gh,
            &[
                ("TEAMS", "true"),
                ("REPO_METRICS", "true"),
                ("PUSHGATEWAY_URL", &pgw.base),
                ("REMOTE_WRITE_URL", &write_url),
            ],
        ),
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let pg = row(&run, &format!("pushgateway {}", pgw.base), "GET /-/ready");
    assert_eq!(pg.result, "works");
    let rw = row(
        &run,
        &format!("remote-write {write_url}"),
        "empty write request",
    );
    assert_eq!(rw.result, "works");
    for report in ["users-1-day", "user-teams-1-day", "repos-1-day", "seats"] {
        assert_eq!(row(&run, "enterprise=ent", report).result, "works");
    }
    // org: 28-day, 1-day, users, teams, repos, billing, seats; the
    // enterprise the same without billing; two sinks.
    assert_eq!(summary(&run), (15, 15, 0), "{}", run.stdout);

    // Nothing was pushed or written.
    let (status, groups) = http_get(&format!("{}/api/v1/metrics", pgw.base)).unwrap();
    assert_eq!(status, 200);
    let groups: serde_json::Value = serde_json::from_str(&groups).unwrap();
    assert_eq!(groups["data"], serde_json::json!([]), "{groups}");
    let written = servers::query(&prom.base, "{__name__=~\"copilot.*\"}", None).await;
    assert!(written.is_empty(), "{written:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_and_refusing_sinks_exit_1_with_the_fix() {
    if require_tool("prometheus-pushgateway").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let web = common::web_config(dir.path(), "pusher", "push-pw", false);
    let Some(pgw) = servers::pushgateway_isolated(Some(&web)) else {
        return;
    };
    let gh = FakeGithub::start().await;
    let nowhere = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let env = |user: &'static str, pw: &'static str| {
        vec![
            ("SEATS", "false"),
            ("PUSHGATEWAY_URL", pgw.base.as_str()),
            ("PUSHGATEWAY_USERNAME", user),
            ("PUSHGATEWAY_PASSWORD", pw),
            ("REMOTE_WRITE_URL", nowhere.as_str()),
        ]
    };

    let extra = env("pusher", "wrong-password");
    let run = run_exporter(&["--check", "--org", "octo"], &github_env(&gh, &extra)).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let pg = row(&run, &format!("pushgateway {}", pgw.base), "GET /-/ready");
    assert_eq!(pg.result, "auth refused", "{pg:?}");
    assert!(pg.message.starts_with("HTTP 401"), "{pg:?}");
    assert!(pg.fix.contains("PUSHGATEWAY_PASSWORD"), "{pg:?}");
    let rw = row(
        &run,
        &format!("remote-write {nowhere}"),
        "empty write request",
    );
    assert_eq!(rw.result, "unreachable", "{rw:?}");
    assert!(rw.fix.contains("REMOTE_WRITE_URL"), "{rw:?}");
    assert!(!run.stdout.contains("wrong-password") && !run.stderr.contains("wrong-password"));
    assert_eq!(summary(&run), (4, 2, 2), "{}", run.stdout);

    // The right password: only the remote-write row fails.
    let extra = env("pusher", "push-pw");
    let run = run_exporter(&["--check", "--org", "octo"], &github_env(&gh, &extra)).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let pg = row(&run, &format!("pushgateway {}", pgw.base), "GET /-/ready");
    assert_eq!(pg.result, "works", "{pg:?}");
    assert_eq!(summary(&run), (4, 3, 1), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn sink_probes_carry_the_sinks_auth_and_headers() {
    // A receiver that wants a tenant header, like Mimir ("no org id").
    let receiver = FakeReceiver::start(vec![Answer::status(204, "")]).await;
    let gate: Gate = std::sync::Arc::new(|r: &common::fake_receiver::Received| {
        (r.header("x-scope-orgid") != Some("team-a")).then(|| Answer::status(401, "no org id"))
    });
    receiver.gate(Some(gate));
    let gh = FakeGithub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("pg-token");
    std::fs::write(&token_file, "pg-bearer-secret\n").unwrap();
    let write_url = format!("{}/api/v1/push", receiver.base);
    let pg_url = format!("{}/pg", receiver.base);
    let base = vec![
        ("SEATS", "false"),
        ("REMOTE_WRITE_URL", write_url.as_str()),
        ("REMOTE_WRITE_BEARER_TOKEN", "rw-bearer-secret"),
    ];

    // Without the tenant header: refused, and the fix names the setting.
    let run = run_exporter(&["--check", "--org", "octo"], &github_env(&gh, &base)).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let rw = row(
        &run,
        &format!("remote-write {write_url}"),
        "empty write request",
    );
    assert_eq!(rw.result, "auth refused", "{rw:?}");
    assert_eq!(rw.message, "HTTP 401: no org id");
    assert!(rw.fix.contains("REMOTE_WRITE_HEADERS"), "{rw:?}");

    // With it (and a Pushgateway behind a bearer-token proxy): exit 0.
    let token_path = token_file.display().to_string();
    let mut extra = base.clone();
    extra.extend([
        ("REMOTE_WRITE_HEADERS", "X-Scope-OrgID=team-a"),
        ("PUSHGATEWAY_URL", pg_url.as_str()),
        ("PUSHGATEWAY_BEARER_TOKEN_FILE", token_path.as_str()),
        ("PUSHGATEWAY_HEADERS", "X-Scope-OrgID=team-a"),
    ]);
    let run = run_exporter(&["--check", "--org", "octo"], &github_env(&gh, &extra)).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let received = receiver.received();
    let writes: Vec<_> = received
        .iter()
        .filter(|r| r.path == "/api/v1/push")
        .collect();
    assert_eq!(writes.len(), 2, "one probe per run: {received:?}");
    let write = writes[1];
    assert_eq!(write.status, 204);
    assert_eq!(
        write.header("authorization"),
        Some("Bearer rw-bearer-secret")
    );
    assert_eq!(write.header("content-encoding"), Some("snappy"));
    assert_eq!(
        write.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    let request = write
        .write_request()
        .expect("a snappy protobuf WriteRequest");
    assert!(request.timeseries.is_empty(), "{request:?}");

    let ready: Vec<_> = received
        .iter()
        .filter(|r| r.path == "/pg/-/ready")
        .collect();
    assert_eq!(ready.len(), 1, "{received:?}");
    assert_eq!(
        ready[0].header("authorization"),
        Some("Bearer pg-bearer-secret")
    );
    assert_eq!(ready[0].header("x-scope-orgid"), Some("team-a"));
}
