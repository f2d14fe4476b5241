//! Cardinality you control: `METRICS_INCLUDE` / `METRICS_EXCLUDE` and the
//! breakdown switches (`TEAM_BREAKDOWNS`, `USER_BREAKDOWNS`) hold on every
//! sink — what is excluded never reaches `/metrics`, a real Pushgateway or a
//! real Prometheus remote-write receiver — and `copilot_exporter_series`
//! says what each family costs. The real binary on the built-in demo.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::servers::{self, query};
use common::{exporter_command, free_port, parse_exposition, spawn, wait_http_ok, Series};

/// Report series (no self-metric) of an exposition.
fn report_series(text: &str) -> BTreeMap<Series, f64> {
    parse_exposition(text)
        .into_iter()
        .filter(|((name, _), _)| {
            name.starts_with("copilot_") && !name.starts_with("copilot_exporter_")
        })
        .collect()
}

/// `copilot_exporter_series` of `scope` (`org`), by metric family.
fn series_counts(text: &str, org: &str) -> BTreeMap<String, f64> {
    parse_exposition(text)
        .into_iter()
        .filter(|((name, labels), _)| {
            name == "copilot_exporter_series" && labels.get("org").map(String::as_str) == Some(org)
        })
        .map(|((_, mut labels), v)| (labels.remove("metric").unwrap(), v))
        .collect()
}

/// Series of one scope per family, counted in an exposition.
fn counted(series: &BTreeMap<Series, f64>, org: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (name, labels) in series.keys() {
        if labels.get("org").map(String::as_str) == Some(org) {
            *out.entry(name.clone()).or_insert(0.0) += 1.0;
        }
    }
    out
}

fn is_team(s: &Series) -> bool {
    s.0.starts_with("copilot_team_") && s.1.contains_key("team")
}

fn is_user(s: &Series) -> bool {
    s.0.starts_with("copilot_user_") && s.1.contains_key("user")
}

/// The breakdown a per-team or per-user family comes from, if any.
fn breakdown(name: &str) -> Option<&'static str> {
    for b in [
        "language_feature",
        "language_model",
        "model_feature",
        "feature",
        "ide",
    ] {
        if name.ends_with(&format!("_by_{b}")) {
            return Some(b);
        }
    }
    (name.starts_with("copilot_team_cli_") || name.starts_with("copilot_user_cli_"))
        .then_some("cli")
}

fn once(env: &[(&str, &str)]) -> String {
    let mut all = vec![
        ("ORG", "octo-demo"),
        ("TEAMS", "true"),
        ("USER_METRICS", "login"),
    ];
    all.extend_from_slice(env);
    let run = common::run_exporter_blocking(&["--demo", "--once"], &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

/// The default breakdowns (`ide,feature,cli` for teams and users) give
/// exactly the team and per-user series of every breakdown on, less those
/// of the breakdowns that are off, with the same values; entity series
/// keep every breakdown; `copilot_exporter_series` counts what is there.
#[test]
fn default_breakdowns_are_all_breakdowns_less_the_ones_off() {
    let every = report_series(&once(&[
        ("TEAM_BREAKDOWNS", "all"),
        ("USER_BREAKDOWNS", "all"),
    ]));
    let text = once(&[]);
    let default = report_series(&text);
    let off = ["language_feature", "language_model", "model_feature"];
    let expected: BTreeMap<Series, f64> = every
        .iter()
        .filter(|(s, _)| {
            !((is_team(s) || is_user(s)) && breakdown(&s.0).is_some_and(|b| off.contains(&b)))
        })
        .map(|(s, v)| (s.clone(), *v))
        .collect();
    assert_eq!(default, expected);
    // Not vacuous: the demo has the breakdowns that are now off, per team
    // and per user, and the ones that stay on.
    for (who, is) in [("team", is_team as fn(&Series) -> bool), ("user", is_user)] {
        let kinds = |set: &BTreeMap<Series, f64>| -> BTreeSet<&'static str> {
            set.keys()
                .filter(|s| is(s))
                .filter_map(|s| breakdown(&s.0))
                .collect()
        };
        assert!(
            kinds(&every).contains("language_feature"),
            "{who}: {:?}",
            kinds(&every)
        );
        assert_eq!(
            kinds(&default),
            BTreeSet::from(["ide", "feature", "cli"]),
            "{who}"
        );
    }
    assert!(default
        .keys()
        .any(|(n, _)| n == "copilot_loc_added_by_language_feature"));

    // Each family's cost, as the self-metric says it.
    assert_eq!(
        series_counts(&text, "octo-demo"),
        counted(&default, "octo-demo")
    );
    // `none`: totals only.
    let none = report_series(&once(&[
        ("TEAM_BREAKDOWNS", "none"),
        ("USER_BREAKDOWNS", "none"),
    ]));
    assert!(none.keys().any(is_team) && none.keys().any(is_user));
    assert!(
        none.keys()
            .filter(|s| is_team(s) || is_user(s))
            .all(|s| breakdown(&s.0).is_none()),
        "{none:?}"
    );
}

/// Settings at fault stop the exporter with exit 2 and a message naming
/// them (flag or variable alike); breakdowns list the valid values.
#[test]
fn bad_selection_settings_exit_2_naming_the_setting() {
    /// Flags, environment, the setting at fault.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 6] = [
        (
            &[],
            &[("TEAM_BREAKDOWNS", "ide,languages")],
            "TEAM_BREAKDOWNS",
        ),
        (&["--user-breakdowns", "cli,bogus"], &[], "USER_BREAKDOWNS"),
        (&[], &[("USER_BREAKDOWNS", "all,ide")], "USER_BREAKDOWNS"),
        (
            &[],
            &[("METRICS_INCLUDE", "copilot_(team")],
            "METRICS_INCLUDE",
        ),
        (&["--metrics-exclude", "[z-a]"], &[], "METRICS_EXCLUDE"),
        (&[], &[("METRICS_EXCLUDE", "a)|(b")], "METRICS_EXCLUDE"),
    ];
    for (flags, env, setting) in cases {
        let mut args = vec!["--demo", "--once"];
        args.extend_from_slice(flags);
        let run = common::run_exporter_blocking(&args, env);
        assert_eq!(run.code, 2, "{setting}: {}", run.stderr);
        assert!(run.stderr.contains(setting), "{setting}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{setting}: nothing collected");
        if setting.ends_with("BREAKDOWNS") && !run.stderr.contains("combined") {
            assert!(
                run.stderr
                    .contains("ide, feature, language_feature, language_model, model_feature, cli"),
                "{}",
                run.stderr
            );
        }
    }
}

/// What the selection keeps and drops, checked on one source of truth per
/// sink.
struct Expect;

impl Expect {
    /// Report families that must not appear on any sink.
    fn excluded(name: &str, labels: &BTreeMap<String, String>) -> bool {
        name.ends_with("_by_ide")
            || name.starts_with("copilot_seats")
            || (name.starts_with("copilot_team_") && name.contains("_by_language_"))
            || name.starts_with("copilot_team_cli_")
            || (name.starts_with("copilot_user_")
                && labels.contains_key("user")
                && (name.contains("_by_") || name.starts_with("copilot_user_cli_")))
            // Not in METRICS_INCLUDE.
            || name.starts_with("copilot_repo_")
            || name.starts_with("copilot_pull_requests_")
            || name.starts_with("copilot_cli_")
    }

    /// Series that must appear on every sink (so the test cannot pass on
    /// an empty sink).
    const KEPT: [&'static str; 7] = [
        "copilot_daily_active_users",
        "copilot_loc_added_by_language_feature",
        "copilot_team_loc_added_by_feature",
        "copilot_team_daily_active_users",
        "copilot_user_loc_added",
        // Never filtered: the report day and the exporter's own metrics.
        "copilot_report_day_timestamp_seconds",
        "copilot_exporter_collect_success",
    ];
}

/// The settings of the three-sink run: include everything but repositories
/// (and, by that pattern, not the report day or the exporter's metrics,
/// which stay anyway); exclude per-IDE and seat series; teams summed by
/// feature and language × feature, users without breakdowns.
const SELECTION: [(&str, &str); 4] = [
    (
        "METRICS_INCLUDE",
        "copilot_(daily|loc|code|team|user|monthly|weekly)_.*",
    ),
    (
        "METRICS_EXCLUDE",
        "copilot_.*_by_ide|copilot_seats.*|copilot_team_.*_by_language_.*",
    ),
    ("TEAM_BREAKDOWNS", "feature,language_feature"),
    ("USER_BREAKDOWNS", "none"),
];

/// Include/exclude and the breakdown switches on `/metrics`, a real
/// Pushgateway and a real Prometheus fed by remote-write, from one
/// long-running exporter: nothing excluded lands anywhere, what is kept
/// lands everywhere, and `copilot_exporter_series` reaches all three.
#[tokio::test(flavor = "multi_thread")]
async fn excluded_series_reach_no_sink() {
    let Some(pushgateway) = servers::pushgateway_isolated(None) else {
        return;
    };
    let Some(prometheus) = servers::prometheus("global:\n  scrape_interval: 1h\n") else {
        return;
    };
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let write = format!("{}/api/v1/write", prometheus.base);
    let mut env = vec![
        ("ORG", "octo-demo"),
        ("LISTEN_ADDR", listen.as_str()),
        ("CACHE_TTL_SECONDS", "3600"),
        ("TEAMS", "true"),
        ("USER_METRICS", "login"),
        ("REPO_METRICS", "true"),
        ("SEATS", "true"),
        ("PUSHGATEWAY_URL", pushgateway.base.as_str()),
        ("REMOTE_WRITE_URL", write.as_str()),
    ];
    env.extend_from_slice(&SELECTION);
    let _exporter = spawn(&mut exporter_command(&["--demo"], &env));
    let base = format!("http://127.0.0.1:{port}");
    assert!(wait_http_ok(
        &format!("{base}/readyz"),
        Duration::from_secs(60)
    ));

    // /metrics.
    let scraped = common::http_get(&format!("{base}/metrics")).unwrap().1;
    check_exposition("/metrics", &scraped);
    let series = parse_exposition(&scraped);
    assert!(series.keys().any(|(n, _)| n.starts_with("process_")));
    // The self-metric counts the scope's series after the selection.
    let counts = series_counts(&scraped, "octo-demo");
    assert_eq!(counts, counted(&report_series(&scraped), "octo-demo"));
    assert!(
        counts
            .keys()
            .all(|m| !Expect::excluded(m, &BTreeMap::new())),
        "{counts:?}"
    );

    // The Pushgateway's group, once pushed.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pushed = String::new();
    while Instant::now() < deadline && !pushed.contains("copilot_team_daily_active_users{") {
        tokio::time::sleep(Duration::from_millis(250)).await;
        pushed = common::http_get(&format!("{}/metrics", pushgateway.base))
            .unwrap()
            .1;
    }
    check_exposition("Pushgateway", &pushed);
    assert!(pushed.contains("copilot_exporter_series{"), "{pushed}");

    // Prometheus, by remote-write (`now` mode): every series now stored.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stored = Vec::new();
    while Instant::now() < deadline {
        stored = query(&prometheus.base, r#"{__name__=~"copilot_.+"}"#, None).await;
        let names: BTreeSet<&str> = stored
            .iter()
            .filter_map(|s| s["metric"]["__name__"].as_str())
            .collect();
        if Expect::KEPT.iter().all(|k| names.contains(k))
            && names.contains("copilot_exporter_series")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut text = String::new();
    for s in &stored {
        let metric = s["metric"].as_object().unwrap();
        let name = metric["__name__"].as_str().unwrap();
        let labels: Vec<String> = metric
            .iter()
            .filter(|(k, _)| *k != "__name__")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        text.push_str(&format!("{name}{{{}}} 1\n", labels.join(",")));
    }
    check_exposition("Prometheus (remote-write)", &text);
    // The self-metric landed there too, with the same counts.
    let remote = query(
        &prometheus.base,
        r#"copilot_exporter_series{org="octo-demo"}"#,
        None,
    )
    .await;
    let remote: BTreeMap<String, f64> = remote
        .iter()
        .map(|s| {
            (
                s["metric"]["metric"].as_str().unwrap().to_string(),
                s["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(remote, counts);
}

/// Nothing excluded, everything in [`Expect::KEPT`] (in the exposition's
/// simple `name{labels} value` form; label values are not needed).
fn check_exposition(sink: &str, text: &str) {
    let mut names = BTreeSet::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name = line.split(['{', ' ']).next().unwrap();
        let labels: BTreeMap<String, String> = line
            .split_once('{')
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(body, _)| {
                body.split(',')
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            !Expect::excluded(name, &labels),
            "{sink}: excluded series arrived: {line}"
        );
        if name == "copilot_exporter_series" {
            let metric = labels.get("metric").map(String::as_str).unwrap_or_default();
            assert!(
                !Expect::excluded(metric, &BTreeMap::new()),
                "{sink}: {line}"
            );
        }
        names.insert(name.to_string());
    }
    for kept in Expect::KEPT {
        assert!(names.contains(kept), "{sink}: {kept} missing:\n{text}");
    }
}
