//! Truthful collection: every report framing GitHub serves, "no report yet"
//! in all its forms, a report is all of its files or nothing, and expired
//! links are recovered reading every file exactly once. The field cases of
//! `tests/fixtures/cases/` with their `CASE.md` values, plus one input per
//! kind made here, all through the real binary against the fake GitHub.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::fake_github::{envelope, FakeGithub, Host, Reply};
use common::{value, Run};
use serde_json::{json, Value};

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cases");
const PATH: &str = "/orgs/octo/copilot/metrics/reports/organization-28-day/latest";
const DAU: &str = "copilot_daily_active_users{org=\"octo\"}";
const SUCCESS: &str = "copilot_exporter_collect_success{org=\"octo\"}";
/// 2026-11-28 00:00 UTC, the newest day of the case reports.
const NEWEST_DAY: f64 = 1_795_824_000.0;

fn case_file(case: &str, file: &str) -> Vec<u8> {
    std::fs::read(format!("{CASES}/{case}/{file}")).expect("case input")
}

/// The 28-day document of `report-28day-pretty-document`.
fn document() -> Value {
    serde_json::from_slice(&case_file(
        "report-28day-pretty-document",
        "report-28d.json",
    ))
    .expect("the case document is JSON")
}

/// The document's day objects `from..to` (0-based) as NDJSON rows.
fn day_rows(from: usize, to: usize) -> String {
    document()["day_totals"].as_array().unwrap()[from..to]
        .iter()
        .map(|d| format!("{d}\n"))
        .collect()
}

async fn run_once(fake: &FakeGithub, extra: &[(&str, &str)]) -> Run {
    common::run_once_for_octo(fake.api_url.as_str(), "ghp_READING0123456789", extra).await
}

fn failures(run: &Run, reason: &str) -> f64 {
    value(
        &run.stdout,
        &format!("copilot_exporter_github_failures_total{{reason=\"{reason}\"}}"),
    )
    .unwrap_or(0.0)
}

/// The `copilot_*` data lines (no self-metrics, no comments), sorted.
fn data_lines(exposition: &str) -> Vec<String> {
    let mut lines: Vec<String> = exposition
        .lines()
        .filter(|l| l.starts_with("copilot_") && !l.starts_with("copilot_exporter_"))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// A scope that failed for this refresh: exit 1, `collect_success` 0, the
/// reason counted, the download named, no data published, and none of the
/// reasons that blame ORG or the token.
fn assert_scope_failed(run: &Run, reason: &str, file: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(value(&run.stdout, SUCCESS), Some(0.0), "{}", run.stdout);
    assert!(failures(run, reason) >= 1.0, "{reason}: {}", run.stdout);
    for blame in [
        "forbidden",
        "bad_credentials",
        "not_found",
        "policy_disabled",
    ] {
        assert_eq!(failures(run, blame), 0.0, "{blame}: {}", run.stdout);
    }
    assert!(
        run.stderr.contains(file) && run.stderr.contains(reason),
        "the log names the download and the reason: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("check the ORG"), "{}", run.stderr);
    assert_eq!(value(&run.stdout, DAU), None, "partial data published");
}

// ---- report-200-bare-string ------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn case_report_200_bare_string_is_no_report_yet() {
    let body = case_file("report-200-bare-string", "body.txt");
    // Setup A: the 28-day endpoint answers 200 with a JSON string.
    let fake = FakeGithub::start().await;
    fake.api(
        PATH,
        vec![Reply::raw(200, &body).with_header("content-type", "application/json")],
    );
    let run = run_once(&fake, &[("LOG_LEVEL", "info")]).await;
    assert_eq!(run.code, 0, "exit code as for a 204: {}", run.stderr);
    assert_eq!(failures(&run, "invalid_response"), 0.0, "{}", run.stdout);
    assert_eq!(value(&run.stdout, SUCCESS), Some(1.0));
    assert_eq!(value(&run.stdout, DAU), None, "no data yet");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("INFO") && l.contains("no report yet")),
        "{}",
        run.stderr
    );
    assert_eq!(fake.requests_to(Host::Api).len(), 1, "no retry");

    // The other forms of "not yet": 204 and an envelope without links.
    for reply in [
        Reply::no_content(),
        Reply::json(200, r#"{"download_links": []}"#),
    ] {
        let fake = FakeGithub::start().await;
        fake.api(PATH, vec![reply]);
        let run = run_once(&fake, &[]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(failures(&run, "invalid_response"), 0.0);
        assert_eq!(fake.requests_to(Host::Api).len(), 1, "no retry");
    }

    // Setup B: the stateful 28-day report is fine; the newest day's
    // users-1-day and user-teams-1-day answer with the string.
    let fake = FakeGithub::start().await;
    let day = fake.state.day.clone();
    for report in ["users-1-day", "user-teams-1-day"] {
        fake.api(
            &format!("/orgs/octo/copilot/metrics/reports/{report}?day={day}"),
            vec![Reply::raw(200, &body).with_header("content-type", "application/json")],
        );
    }
    let run = run_once(&fake, &[("TEAMS", "true"), ("USER_METRICS", "login")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        value(&run.stdout, DAU),
        Some(11.0),
        "usage metrics published"
    );
    assert!(
        !run.stdout
            .contains("copilot_exporter_optional_collection_failures_total{"),
        "no optional-collection failure counted: {}",
        run.stdout
    );
    assert_eq!(failures(&run, "invalid_response"), 0.0);
    let data = data_lines(&run.stdout);
    assert!(
        !data
            .iter()
            .any(|l| l.starts_with("copilot_team_") || l.starts_with("copilot_user_")),
        "no team or user series: {data:?}"
    );
}

// ---- report-28day-pretty-document --------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn case_report_28day_pretty_document() {
    let fake = FakeGithub::start().await;
    let text = case_file("report-28day-pretty-document", "report-28d.json");
    fake.report(
        PATH,
        &[("report-28d.json", &String::from_utf8(text).unwrap())],
    );
    let run = run_once(&fake, &[("LOG_LEVEL", "info")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(value(&run.stdout, DAU), Some(37.0));
    assert_eq!(
        value(
            &run.stdout,
            "copilot_report_day_timestamp_seconds{org=\"octo\"}"
        ),
        Some(NEWEST_DAY)
    );
    assert!(run.stderr.contains("days=28"), "{}", run.stderr);
    assert_eq!(value(&run.stdout, SUCCESS), Some(1.0));
}

/// Second kind of the case: a file from which no row can be read fails the
/// scope, whatever made it unreadable.
#[tokio::test(flavor = "multi_thread")]
async fn a_report_without_a_readable_row_fails_the_scope() {
    let text =
        String::from_utf8(case_file("report-28day-pretty-document", "report-28d.json")).unwrap();
    let mut no_valid_day = document();
    for d in no_valid_day["day_totals"].as_array_mut().unwrap() {
        d["day"] = json!(20261128);
    }
    let unreadable = [
        // Cut in the middle (the transfer completed, the JSON did not).
        text[..text.len() / 2].to_string(),
        // A syntax error inside the only row.
        text.replacen("\"totals_by_ide\": [", "\"totals_by_ide\": [}", 1),
        // Valid JSON, but no day object has a day.
        serde_json::to_string_pretty(&no_valid_day).unwrap(),
        // Not a row at all.
        "[1, 2, 3]\n".to_string(),
    ];
    for (k, body) in unreadable.iter().enumerate() {
        let fake = FakeGithub::start().await;
        fake.report(PATH, &[("report-28d.json", body)]);
        let run = run_once(&fake, &[]).await;
        assert_scope_failed(&run, "invalid_report", "/files/report-28d.json");
        assert_eq!(
            fake.requests_to(Host::Api).len(),
            1,
            "variant {k}: no retry"
        );
    }
}

// ---- shard-html-200 ------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn case_shard_html_200_fails_the_whole_report() {
    let page = case_file("shard-html-200", "part-b-block-page.html");
    let fake = FakeGithub::start().await;
    fake.report(
        PATH,
        &[("part-a.ndjson", &day_rows(0, 14)), ("part-b.ndjson", "")],
    );
    fake.file(
        "part-b.ndjson",
        vec![Reply::raw(200, &page).with_header("content-type", "text/html")],
    );
    let run = run_once(&fake, &[]).await;
    assert_scope_failed(&run, "invalid_report", "/files/part-b.ndjson");
    assert!(run.stderr.contains("not JSON"), "{}", run.stderr);
    // Day 14 is never published as the newest day.
    assert_eq!(
        value(
            &run.stdout,
            "copilot_report_day_timestamp_seconds{org=\"octo\"}"
        ),
        None
    );
}

/// Every other way a file can fail fails the report too: an error status,
/// a transfer cut off mid-file, a body cut inside a row, too many invalid
/// rows.
#[tokio::test(flavor = "multi_thread")]
async fn every_failed_file_fails_the_whole_report() {
    let rows = day_rows(14, 28);
    let cases: Vec<(Reply, &str)> = vec![
        (
            Reply::raw(404, b"<Error><Code>BlobNotFound</Code></Error>"),
            "download_failed",
        ),
        (
            Reply::raw(200, rows.as_bytes()).cut_after(rows.len() / 2),
            "download_failed",
        ),
        (
            Reply::raw(200, rows.as_bytes()).gzipped().cut_after(100),
            "download_failed",
        ),
        (
            Reply::raw(200, &rows.as_bytes()[..rows.len() - 40]),
            "invalid_report",
        ),
    ];
    for (reply, reason) in cases {
        let fake = FakeGithub::start().await;
        fake.report(
            PATH,
            &[("part-a.ndjson", &day_rows(0, 14)), ("part-b.ndjson", "")],
        );
        fake.file("part-b.ndjson", vec![reply]);
        let run = run_once(&fake, &[]).await;
        assert_scope_failed(&run, reason, "/files/part-b.ndjson");
    }
}

/// The documented threshold: more than 1 % of the rows and at least 10
/// invalid fail the report; fewer are skipped and counted.
#[tokio::test(flavor = "multi_thread")]
async fn the_invalid_row_threshold_is_the_documented_one() {
    let good = day_rows(0, 28);
    for (bad, fails) in [(9usize, false), (10, true)] {
        let fake = FakeGithub::start().await;
        let broken: String = (0..bad).map(|i| format!("{{\"day\": {i}}}\n")).collect();
        fake.report(PATH, &[("r.ndjson", &format!("{good}{broken}"))]);
        let run = run_once(&fake, &[]).await;
        if fails {
            assert_scope_failed(&run, "invalid_report", "organization-28-day");
            assert!(run.stderr.contains("10 of 38 rows"), "{}", run.stderr);
        } else {
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert_eq!(value(&run.stdout, DAU), Some(37.0));
            assert_eq!(
                value(
                    &run.stdout,
                    "copilot_exporter_invalid_report_lines_total{report=\"organization-28-day\"}"
                ),
                Some(9.0)
            );
        }
    }
}

/// An optional report that fails after some of its rows were taken leaves
/// no trace: no team or user series for that day, the optional collection
/// counted as failed with the download's reason, the usage metrics still
/// published.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_optional_report_leaves_no_trace() {
    let page = case_file("shard-html-200", "part-b-block-page.html");
    let fake = FakeGithub::start().await;
    // users-1-day: its first shard reads fine, its second is a proxy page.
    fake.file(
        "org-users-1-day-part-1.ndjson",
        vec![Reply::raw(200, &page).with_header("content-type", "text/html")],
    );
    let run = run_once(
        &fake,
        &[
            ("TEAMS", "true"),
            ("USER_METRICS", "login"),
            ("REPO_METRICS", "true"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(value(&run.stdout, DAU), Some(11.0));
    assert_eq!(fake.downloads_of("org-users-1-day-part-0.ndjson"), 1);
    for feature in ["teams", "user_metrics"] {
        assert_eq!(
            value(
                &run.stdout,
                &format!(
                    "copilot_exporter_optional_collection_failures_total{{feature=\"{feature}\",reason=\"invalid_report\"}}"
                )
            ),
            Some(1.0),
            "{feature}: {}",
            run.stdout
        );
    }
    let data = data_lines(&run.stdout);
    assert!(
        !data
            .iter()
            .any(|l| l.starts_with("copilot_team_") || l.starts_with("copilot_user_")),
        "nothing of the failed report: {data:?}"
    );
    assert!(
        data.iter().any(|l| l.starts_with("copilot_repo_")),
        "the other optional collections go on: {data:?}"
    );
}

// ---- framings ----------------------------------------------------------------

/// The same rows in every framing (NDJSON, CRLF, BOM, one pretty document,
/// a top-level array, gzip, several shards of different framings) publish
/// identical samples.
#[tokio::test(flavor = "multi_thread")]
async fn every_framing_publishes_the_same_samples() {
    let days: Vec<Value> = document()["day_totals"].as_array().unwrap().clone();
    let ndjson: String = days.iter().map(|d| format!("{d}\n")).collect();
    let doc = serde_json::to_string_pretty(&document()).unwrap();
    let array = serde_json::to_string_pretty(&Value::Array(days.clone())).unwrap();
    let reference = {
        let fake = FakeGithub::start().await;
        fake.report(PATH, &[("r.ndjson", &ndjson)]);
        let run = run_once(&fake, &[]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        data_lines(&run.stdout)
    };
    assert!(
        reference.iter().any(|l| l == &format!("{DAU} 37")),
        "{reference:?}"
    );
    let framings: Vec<(&str, Vec<Reply>)> = vec![
        (
            "crlf",
            vec![Reply::raw(200, ndjson.replace('\n', "\r\n").as_bytes())],
        ),
        (
            "bom",
            vec![Reply::raw(200, format!("\u{feff}{ndjson}").as_bytes())],
        ),
        ("pretty document", vec![Reply::raw(200, doc.as_bytes())]),
        (
            "pretty document, crlf, bom",
            vec![Reply::raw(
                200,
                format!("\u{feff}{}", doc.replace('\n', "\r\n")).as_bytes(),
            )],
        ),
        (
            "one-line document",
            vec![Reply::raw(200, document().to_string().as_bytes())],
        ),
        ("array", vec![Reply::raw(200, array.as_bytes())]),
        (
            "gzip ndjson",
            vec![Reply::raw(200, ndjson.as_bytes()).gzipped()],
        ),
        (
            "gzip document",
            vec![Reply::raw(200, doc.as_bytes()).gzipped()],
        ),
    ];
    for (name, replies) in framings {
        let fake = FakeGithub::start().await;
        fake.report(PATH, &[("r.json", "")]);
        fake.file("r.json", replies);
        let run = run_once(&fake, &[]).await;
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(data_lines(&run.stdout), reference, "{name}");
        assert_eq!(
            value(
                &run.stdout,
                "copilot_exporter_invalid_report_lines_total{report=\"organization-28-day\"}"
            ),
            Some(0.0),
            "{name}"
        );
    }
    // Shards in different framings: an array, a pretty document, NDJSON.
    let fake = FakeGithub::start().await;
    let first = serde_json::to_string(&Value::Array(days[..9].to_vec())).unwrap();
    let second = serde_json::to_string_pretty(&json!({"day_totals": days[9..18]})).unwrap();
    let third: String = days[18..].iter().map(|d| format!("{d}\r\n")).collect();
    fake.report(
        PATH,
        &[("a.json", &first), ("b.json", &second), ("c.json", &third)],
    );
    let run = run_once(&fake, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(data_lines(&run.stdout), reference, "mixed shards");
    // The download client asked for gzip and never sent a GitHub header.
    for request in fake.requests_to(Host::Download) {
        assert!(request.header("authorization").is_none());
        assert!(request.header("x-github-api-version").is_none());
        assert!(request
            .header("accept-encoding")
            .is_some_and(|v| v.contains("gzip")));
    }
}

// ---- expired-link-new-order -----------------------------------------------

/// The case's two envelopes, pointing at the fake's download host.
fn case_envelopes(fake: &FakeGithub) -> (Value, Value) {
    let text = String::from_utf8(case_file("expired-link-new-order", "sequence-cab.json"))
        .unwrap()
        .replace("http://127.0.0.1:43715", &fake.download_url);
    let sequence: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let mut envelopes = sequence.into_iter().map(|(_, v)| v);
    (envelopes.next().unwrap(), envelopes.next().unwrap())
}

/// Successful (2xx) downloads of `path` on the download host.
fn reads(fake: &FakeGithub, path: &str) -> usize {
    fake.requests_to(Host::Download)
        .iter()
        .filter(|r| r.path.split('?').next() == Some(path))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn case_expired_link_new_order_reads_every_file_once() {
    let fake = FakeGithub::start().await;
    let (first, second) = case_envelopes(&fake);
    let expired_b = first["download_links"][1].as_str().unwrap().to_string();
    fake.link(&expired_b, vec![Reply::expired_link()]);
    for (file, rows) in [
        ("a", day_rows(0, 9)),
        ("b", day_rows(9, 18)),
        ("c", day_rows(18, 28)),
    ] {
        fake.link(
            &format!("{}/dl/{file}", fake.download_url),
            vec![Reply::raw(200, rows.as_bytes())],
        );
    }
    fake.api(
        PATH,
        vec![
            Reply::json(200, &first.to_string()),
            Reply::json(200, &second.to_string()),
        ],
    );
    let run = run_once(&fake, &[("LOG_LEVEL", "info")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(value(&run.stdout, DAU), Some(37.0));
    assert!(run.stderr.contains("days=28"), "{}", run.stderr);
    assert_eq!(
        value(&run.stdout, "copilot_exporter_duplicate_series_total"),
        Some(0.0)
    );
    // a and c read once; b refused once, then read once.
    assert_eq!((reads(&fake, "/dl/a"), reads(&fake, "/dl/c")), (1, 1));
    assert_eq!(reads(&fake, "/dl/b"), 2);
    assert_eq!(fake.requests_to(Host::Api).len(), 2, "one fresh envelope");
    // Its own reason, never one the credentials alert matches.
    assert_eq!(failures(&run, "link_expired"), 1.0, "{}", run.stdout);
    for reason in ["bad_credentials", "forbidden", "policy_disabled"] {
        assert_eq!(failures(&run, reason), 0.0, "{reason}");
    }
}

/// A fresh envelope listing other files (GitHub regenerated the report):
/// everything read so far is discarded and the new files are read.
#[tokio::test(flavor = "multi_thread")]
async fn a_regenerated_report_is_read_again_from_the_start() {
    let fake = FakeGithub::start().await;
    let mut regenerated = document();
    for d in regenerated["day_totals"].as_array_mut().unwrap() {
        d["daily_active_users"] = json!(d["daily_active_users"].as_u64().unwrap() + 100);
    }
    let new_days = regenerated["day_totals"].as_array().unwrap().clone();
    let old = [("a1", day_rows(0, 14)), ("b1", day_rows(14, 28))];
    for (name, rows) in &old {
        fake.file(name, vec![Reply::raw(200, rows.as_bytes())]);
    }
    fake.file("b1", vec![Reply::expired_link()]);
    let new_rows = |from: usize, to: usize| -> String {
        new_days[from..to]
            .iter()
            .map(|d| format!("{d}\n"))
            .collect()
    };
    fake.file("a2", vec![Reply::raw(200, new_rows(0, 10).as_bytes())]);
    fake.file("b2", vec![Reply::raw(200, new_rows(10, 20).as_bytes())]);
    fake.file("c2", vec![Reply::raw(200, new_rows(20, 28).as_bytes())]);
    fake.api(
        PATH,
        vec![
            Reply::json(200, &envelope(&[fake.link_to("a1"), fake.link_to("b1")])),
            Reply::json(
                200,
                &envelope(&[fake.link_to("c2"), fake.link_to("a2"), fake.link_to("b2")]),
            ),
        ],
    );
    let run = run_once(&fake, &[("LOG_LEVEL", "info")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(value(&run.stdout, DAU), Some(137.0));
    assert_eq!(
        value(&run.stdout, "copilot_exporter_duplicate_series_total"),
        Some(0.0),
        "nothing of the first generation survived"
    );
    assert!(run.stderr.contains("days=28"), "{}", run.stderr);
    for name in ["a2", "b2", "c2"] {
        assert_eq!(fake.downloads_of(name), 1, "{name}");
    }
    assert!(run.stderr.contains("regenerated"), "{}", run.stderr);
}

/// Links that expire mid-report on the stateful fake (the signature runs
/// out after the first file): one fresh envelope, the rest resumed.
#[tokio::test(flavor = "multi_thread")]
async fn links_expiring_mid_report_resume_with_fresh_links() {
    let fake = FakeGithub::start().await;
    let day = fake.state.day.clone();
    fake.state
        .expire_after_downloads
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let run = run_once(&fake, &[("REPO_METRICS", "true"), ("LOG_LEVEL", "info")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(value(&run.stdout, DAU), Some(11.0));
    // The 28-day file and repos-1-day's part 0 are read; part 1's link
    // has expired by then: refused once, then read with a fresh link.
    assert_eq!(fake.downloads_of("org-repos-1-day-part-0.ndjson"), 1);
    assert_eq!(fake.downloads_of("org-repos-1-day-part-1.ndjson"), 2);
    let envelopes = fake
        .state
        .requests_matching(&format!("repos-1-day?day={day}"))
        .len();
    assert_eq!(envelopes, 2);
    for repo in ["octo/one", "octo/two"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with("copilot_repo_") && l.contains(&format!("repo=\"{repo}\""))),
            "{repo}: {}",
            run.stdout
        );
    }
    assert_eq!(failures(&run, "link_expired"), 1.0);
}

// ---- service mode: the last good data stays on every sink ------------------

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_report_keeps_the_last_good_data_on_every_sink() {
    let Some(pushgateway) = common::servers::pushgateway() else {
        return;
    };
    let Some(prometheus) = common::servers::prometheus("global: {}\n") else {
        return;
    };
    let fake = FakeGithub::start().await;
    let good =
        String::from_utf8(case_file("report-28day-pretty-document", "report-28d.json")).unwrap();
    let page = case_file("shard-html-200", "part-b-block-page.html");
    fake.report(PATH, &[("r.json", "")]);
    // The first refresh reads the good report; every later one a proxy page.
    fake.file(
        "r.json",
        vec![
            Reply::raw(200, good.as_bytes()),
            Reply::raw(200, &page).with_header("content-type", "text/html"),
        ],
    );
    let port = common::free_port();
    let _exporter = common::spawn(
        common::exporter_command(
            &[],
            &[
                ("GHC_TOKEN", "ghp_READING0123456789"),
                ("ORG", "octo"),
                ("GITHUB_API_URL", &fake.api_url),
                ("SEATS", "false"),
                ("LISTEN_ADDR", &format!("127.0.0.1:{port}")),
                ("CACHE_TTL_SECONDS", "2"),
                ("PUSHGATEWAY_URL", &pushgateway.base),
                (
                    "REMOTE_WRITE_URL",
                    &format!("{}/api/v1/write", prometheus.base),
                ),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null()),
    );
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    // Wait for a failed refresh after the good one.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut body = String::new();
    while Instant::now() < deadline {
        if let Ok((200, text)) = common::http_get(&metrics) {
            body = text;
            let failed = value(
                &body,
                "copilot_exporter_refreshes_total{result=\"failure\"}",
            );
            if failed.unwrap_or(0.0) >= 2.0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        value(
            &body,
            "copilot_exporter_refreshes_total{result=\"success\"}"
        ) >= Some(1.0),
        "{body}"
    );
    assert!(
        value(
            &body,
            "copilot_exporter_refreshes_total{result=\"failure\"}"
        ) >= Some(2.0),
        "{body}"
    );
    // /metrics: the good values, collect_success 0, the reason counted.
    assert_eq!(value(&body, SUCCESS), Some(0.0), "{body}");
    assert_eq!(value(&body, DAU), Some(37.0), "{body}");
    assert_eq!(
        value(&body, "copilot_report_day_timestamp_seconds{org=\"octo\"}"),
        Some(NEWEST_DAY)
    );
    assert!(
        value(
            &body,
            "copilot_exporter_github_failures_total{reason=\"invalid_report\"}"
        ) >= Some(2.0),
        "{body}"
    );
    // The Pushgateway keeps the good group.
    let (_, pushed) = common::http_get(&format!("{}/metrics", pushgateway.base)).unwrap();
    let dau = common::parse_exposition(&pushed)
        .into_iter()
        .find(|((name, labels), _)| {
            name == "copilot_daily_active_users"
                && labels.get("org").map(String::as_str) == Some("octo")
        })
        .map(|(_, v)| v);
    assert_eq!(dau, Some(37.0), "{pushed}");
    let pushed_success = common::parse_exposition(&pushed)
        .into_iter()
        .find(|((name, labels), _)| {
            name == "copilot_exporter_collect_success"
                && labels.get("org").map(String::as_str) == Some("octo")
        })
        .map(|(_, v)| v);
    assert_eq!(pushed_success, Some(0.0), "{pushed}");
    // Prometheus (remote-write) still answers the good value.
    let result = common::servers::wait_for_series(
        &prometheus.base,
        "copilot_daily_active_users{org=\"octo\"}",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(result.len(), 1, "{result:?}");
    assert_eq!(result[0]["value"][1], "37", "{result:?}");
    let newest = common::servers::query(
        &prometheus.base,
        "copilot_report_day_timestamp_seconds{org=\"octo\"}",
        None,
    )
    .await;
    assert_eq!(newest[0]["value"][1], NEWEST_DAY.to_string(), "{newest:?}");
    let success = common::servers::query(
        &prometheus.base,
        "copilot_exporter_collect_success{org=\"octo\"}",
        None,
    )
    .await;
    assert_eq!(success[0]["value"][1], "0", "{success:?}");
}
