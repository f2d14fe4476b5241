//! `/metrics` under load from a second process (wrk, bounded in time): no
//! request fails and the refresh loop keeps its schedule. Throughput numbers
//! come from `scripts/load-test.sh` and live in BENCHMARKS.md, not here.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

fn refreshes(base: &str) -> f64 {
    let (_, body) = common::http_get(&format!("{base}/metrics")).unwrap();
    common::parse_exposition(&body)
        .into_iter()
        .filter(|((name, _), _)| name == "copilot_exporter_refreshes_total")
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn metrics_endpoint_under_load_keeps_the_refresh_schedule() {
    let Some(wrk) = common::require_tool("wrk") else {
        return;
    };
    let port = common::free_port();
    let _exporter = common::spawn(
        Command::new(common::exporter_bin())
            .args(["--demo"])
            .env_clear()
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("CACHE_TTL_SECONDS", "1")
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(common::wait_http_ok(
        &format!("{base}/readyz"),
        Duration::from_secs(20)
    ));
    let before = refreshes(&base);
    let out = Command::new(wrk)
        .args(["-t2", "-c32", "-d4s", &format!("{base}/metrics")])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    let after = refreshes(&base);
    // wrk prints "Non-2xx or 3xx responses: N" and "Socket errors: ..." only
    // when something failed.
    assert!(!report.contains("Non-2xx"), "failed requests:\n{report}");
    assert!(
        !report.contains("Socket errors"),
        "socket errors:\n{report}"
    );
    let served: u64 = report
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    assert!(served > 0, "wrk served nothing:\n{report}");
    // One refresh a second was scheduled over ~4 s of load; allow for a
    // slow, shared CI machine but not for a stalled loop.
    assert!(
        after - before >= 2.0,
        "refresh loop stalled under load: {before} → {after}\n{report}"
    );
}
