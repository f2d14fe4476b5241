//! Teams, seats, per-user and repository metrics and GitHub App
//! authentication against an in-test fake GitHub.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use common::fake_github::{FakeAuth, FakeGithub, FakeState, APP_PRIVATE_KEY_PATH};
use common::{label_values, run_exporter_blocking};
use copilot_metrics_exporter::collect::Features;
use copilot_metrics_exporter::collect::{CollectRequest, Collector};
use copilot_metrics_exporter::github::{AppAuth, AppCredentials, Auth, FailureKind, GithubClient};
use copilot_metrics_exporter::github::{GithubSettings, RetryPolicy};
use copilot_metrics_exporter::model::scope::Scope;
use copilot_metrics_exporter::model::ScopeData;
use copilot_metrics_exporter::report::users::UserMetricsMode;
use copilot_metrics_exporter::secret::Secret;
use copilot_metrics_exporter::selfmetrics::SelfMetrics;
use serde_json::Value;

const PAT: &str = "ghp_fake_pat_for_tests";
const APP_ID: &str = "Iv1.testclientid";

fn settings(fake: &FakeGithub) -> GithubSettings {
    GithubSettings {
        api_url: url::Url::parse(&fake.api_url).unwrap(),
        credentials: None,
        ca_file: None,
        timeout: Duration::from_secs(10),
        max_line_bytes: 1 << 20,
        max_report_bytes: 1 << 30,
        retry: RetryPolicy {
            max_retries: 0,
            min: Duration::from_millis(10),
            max: Duration::from_millis(100),
        },
    }
}

fn all_features() -> Features {
    Features {
        teams: true,
        seats: true,
        user_metrics: UserMetricsMode::Login,
        user_metrics_salt: None,
        user_metrics_max: 10_000,
        repo_metrics: true,
        ..Features::none()
    }
}

fn collector(fake: &FakeGithub, auth: Auth, features: Features) -> (Collector, Arc<SelfMetrics>) {
    let metrics = Arc::new(SelfMetrics::new());
    let client = GithubClient::with_auth(&settings(fake), auth, metrics.clone()).unwrap();
    let c = Collector::new(Arc::new(client), metrics.clone(), 1 << 30).with_features(features);
    (c, metrics)
}

fn app_auth(margin: Duration) -> Auth {
    let key = std::fs::read_to_string(APP_PRIVATE_KEY_PATH).unwrap();
    let app = AppAuth::new(&AppCredentials {
        app_id: APP_ID.into(),
        private_key: Secret::new(key),
        installation_id: None,
    })
    .unwrap()
    .with_refresh_margin(margin);
    Auth::App(Box::new(app))
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 7).unwrap()
}

async fn collect(c: &Collector, scope: &Scope) -> ScopeData {
    c.collect(scope, &CollectRequest::default()).await.unwrap()
}

/// The join done independently: nested loops over the parsed rows.
/// Returns (team → active members, (team, metric) → sum, (team, ide) → loc_added).
#[allow(clippy::type_complexity)]
fn expected_teams(
    user_teams: &[Value],
    users: &[Value],
    day: &str,
) -> (
    BTreeMap<String, f64>,
    BTreeMap<(String, String), f64>,
    BTreeMap<(String, String), f64>,
) {
    let mut slugs = BTreeSet::new();
    for ut in user_teams {
        slugs.insert(ut["slug"].as_str().unwrap().to_string());
    }
    let mut active = BTreeMap::new();
    let mut sums = BTreeMap::new();
    let mut by_ide = BTreeMap::new();
    for slug in &slugs {
        let mut n = 0.0;
        for u in users {
            if u["day"] != day {
                continue;
            }
            let mut member = false;
            for ut in user_teams {
                if ut["slug"] == slug.as_str() && ut["user_id"] == u["user_id"] {
                    member = true;
                }
            }
            if !member {
                continue;
            }
            n += 1.0;
            for (field, metric) in [
                ("loc_added_sum", "copilot_team_loc_added"),
                (
                    "code_acceptance_activity_count",
                    "copilot_team_code_acceptance_activity",
                ),
                (
                    "user_initiated_interaction_count",
                    "copilot_team_user_initiated_interaction",
                ),
            ] {
                *sums
                    .entry((slug.clone(), metric.to_string()))
                    .or_insert(0.0) += u[field].as_f64().unwrap();
            }
            *sums
                .entry((
                    slug.clone(),
                    "copilot_team_cli_token_usage_output_tokens".into(),
                ))
                .or_insert(0.0) += u["totals_by_cli"]["token_usage"]["output_tokens_sum"]
                .as_f64()
                .unwrap();
            for element in u["totals_by_ide"].as_array().unwrap() {
                *by_ide
                    .entry((slug.clone(), element["ide"].as_str().unwrap().to_string()))
                    .or_insert(0.0) += element["loc_added_sum"].as_f64().unwrap();
            }
        }
        active.insert(slug.clone(), n);
    }
    (active, sums, by_ide)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_metrics_match_an_independent_join() {
    let fake = FakeGithub::with_state(FakeState::standard(FakeAuth::Pat(PAT.into())));
    let (c, _) = collector(&fake, Auth::Token(Secret::new(PAT)), all_features());
    for (scope, key) in [
        (Scope::org("octo"), "org"),
        (Scope::enterprise("ent"), "enterprise"),
    ] {
        let data = collect(&c, &scope).await;
        let set = &data.days[&day()];
        let (label, value) = scope.label();
        let (active, sums, by_ide) = expected_teams(
            &fake.state.user_teams[key],
            &fake.state.users[key],
            &fake.state.day,
        );
        assert_eq!(active.len(), 2, "alpha and beta only");
        for (team, n) in &active {
            let labels = [(label.as_str(), value.as_str()), ("team", team.as_str())];
            assert_eq!(
                set.value("copilot_team_daily_active_users", &labels),
                Some(*n),
                "{team}"
            );
        }
        for ((team, metric), sum) in &sums {
            let labels = [(label.as_str(), value.as_str()), ("team", team.as_str())];
            assert_eq!(set.value(metric, &labels), Some(*sum), "{team} {metric}");
        }
        for ((team, ide), sum) in &by_ide {
            let labels = [
                (label.as_str(), value.as_str()),
                ("team", team.as_str()),
                ("ide", ide.as_str()),
            ];
            assert_eq!(
                set.value("copilot_team_loc_added_by_ide", &labels),
                Some(*sum),
                "{team} {ide}"
            );
        }
        // The 5-seat rule: team `tiny` (users 10-12) is not in user-teams and
        // produces nothing; only alpha and beta carry a team label.
        let teams: BTreeSet<&str> = set.iter().filter_map(|(k, _)| k.label("team")).collect();
        assert_eq!(teams, BTreeSet::from(["alpha", "beta"]));
        // Averages are not summed.
        assert!(set
            .names()
            .all(|n| !(n.starts_with("copilot_team_") && n.contains("avg"))));
        // Team series are report-day data: the report-day timestamp is there too.
        assert!(set
            .value(
                "copilot_report_day_timestamp_seconds",
                &[(label.as_str(), value.as_str())]
            )
            .is_some());

        // Per-user and repository series of the newest day.
        assert_eq!(
            set.value(
                "copilot_user_loc_added",
                &[(label.as_str(), value.as_str()), ("user", "user3")]
            ),
            Some(31.0)
        );
        assert_eq!(
            set.value(
                "copilot_user_loc_added",
                &[(label.as_str(), value.as_str()), ("user", "user6")]
            ),
            None
        );
        assert_eq!(
            set.value(
                "copilot_repo_pull_requests_total_created",
                &[
                    (label.as_str(), value.as_str()),
                    ("repo", "octo/one"),
                    ("repo_visibility", "private")
                ]
            ),
            Some(4.0)
        );
    }
    // Signed links never saw a credential; reports came in two shards each.
    assert_eq!(
        fake.state.download_auth_violations.load(Ordering::SeqCst),
        0
    );
    assert!(fake.state.downloads.load(Ordering::SeqCst) >= 2 * (2 + 2 + 2 + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seat_counts_idle_windows_and_enterprise_dedup() {
    let fake = FakeGithub::with_state(FakeState::standard(FakeAuth::Pat(PAT.into())));
    let features = Features {
        seats: true,
        ..Features::none()
    };
    let (c, _) = collector(&fake, Auth::Token(Secret::new(PAT)), features);

    let org = collect(&c, &Scope::org("octo")).await;
    let cur = &org.current;
    fn o(extra: Option<(&'static str, &'static str)>) -> Vec<(&'static str, &'static str)> {
        let mut l = vec![("org", "octo")];
        l.extend(extra);
        l
    }
    assert_eq!(cur.value("copilot_seats", &o(None)), Some(7.0));
    assert_eq!(
        cur.value("copilot_seats_active_this_cycle", &o(None)),
        Some(5.0)
    );
    assert_eq!(
        cur.value("copilot_seats_inactive_this_cycle", &o(None)),
        Some(2.0)
    );
    assert_eq!(
        cur.value("copilot_seats_added_this_cycle", &o(None)),
        Some(2.0)
    );
    assert_eq!(
        cur.value("copilot_seats_pending_cancellation", &o(None)),
        Some(0.0)
    );
    assert_eq!(
        cur.value("copilot_seats_pending_invitation", &o(None)),
        Some(1.0)
    );
    // Seven seats in pages of three: three requests, following the Link headers.
    let pages = fake
        .state
        .requests_matching("/orgs/octo/copilot/billing/seats");
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(
        pages[0].contains("per_page=100") && pages[2].contains("page=3"),
        "{pages:?}"
    );

    // Independent counts from the seat list.
    let now = chrono::Utc::now();
    let idle = |seats: &[Value], days: i64| {
        seats
            .iter()
            .filter(|s| match s["last_activity_at"].as_str() {
                None => true,
                Some(t) => {
                    chrono::DateTime::parse_from_rfc3339(t).unwrap()
                        < now - chrono::Duration::days(days)
                }
            })
            .count() as f64
    };
    for (window, days) in [("7d", 7), ("30d", 30), ("90d", 90)] {
        assert_eq!(
            cur.value("copilot_seats_idle", &o(Some(("window", window)))),
            Some(idle(&fake.state.org_seats, days)),
            "{window}"
        );
    }
    assert_eq!(
        cur.value(
            "copilot_seats_by_plan_type",
            &o(Some(("plan_type", "business")))
        ),
        Some(5.0)
    );
    assert_eq!(
        cur.value(
            "copilot_seats_by_plan_type",
            &o(Some(("plan_type", "unknown")))
        ),
        Some(1.0)
    );
    assert_eq!(
        cur.value("copilot_seats_by_editor", &o(Some(("editor", "vscode")))),
        Some(3.0)
    );
    assert_eq!(
        cur.value("copilot_seats_by_editor", &o(Some(("editor", "none")))),
        Some(1.0)
    );
    assert_eq!(
        cur.value(
            "copilot_seats_by_editor",
            &o(Some(("editor", "JetBrains-IC")))
        ),
        Some(1.0)
    );

    // Enterprise: ten elements, seven distinct assignees.
    let ent = collect(&c, &Scope::enterprise("ent")).await;
    fn e(extra: Option<(&'static str, &'static str)>) -> Vec<(&'static str, &'static str)> {
        let mut l = vec![("enterprise", "ent")];
        l.extend(extra);
        l
    }
    let distinct: BTreeSet<u64> = fake
        .state
        .enterprise_seats
        .iter()
        .map(|s| s["assignee"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(fake.state.enterprise_seats.len(), 10);
    assert_eq!(
        ent.current.value("copilot_seats", &e(None)),
        Some(distinct.len() as f64)
    );
    let by_plan: f64 = ent
        .current
        .iter()
        .filter(|(k, _)| k.name() == "copilot_seats_by_plan_type")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(by_plan, 7.0);
    // User 4's second grant was used two days ago: not idle in 7d; user 1's
    // latest activity is the first grant's (1 day ago).
    assert_eq!(
        ent.current
            .value("copilot_seats_idle", &e(Some(("window", "7d")))),
        Some(3.0)
    );
    assert_eq!(
        ent.current
            .value("copilot_seats_by_editor", &e(Some(("editor", "vim")))),
        None
    );
    assert!(ent
        .current
        .value("copilot_seats_by_editor", &e(Some(("editor", "neovim"))))
        .is_none());
    assert_eq!(
        fake.state
            .requests_matching("/enterprises/ent/copilot/billing/seats")
            .len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seat_permission_errors_never_fail_the_usage_metrics() {
    let fake = FakeGithub::with_state(FakeState::standard(FakeAuth::Pat(PAT.into())));
    fake.state.seats_forbidden.store(true, Ordering::SeqCst);
    let (c, metrics) = collector(
        &fake,
        Auth::Token(Secret::new(PAT)),
        Features {
            seats: true,
            ..Features::none()
        },
    );
    for _ in 0..2 {
        let data = collect(&c, &Scope::org("octo")).await;
        assert!(data.current.is_empty());
        assert_eq!(
            data.days[&day()].value("copilot_daily_active_users", &[("org", "octo")]),
            Some(11.0)
        );
    }
    let failures = metrics
        .optional_failures
        .with_label_values(&["seats", FailureKind::Forbidden.as_str()])
        .get();
    assert_eq!(failures, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_token_is_cached_and_refreshed_before_expiry() {
    let fake = FakeGithub::with_state(FakeState::standard(FakeAuth::App {
        app_id: APP_ID.into(),
        installation_id: 4242,
        token_ttl_secs: 305,
    }));
    // Tokens live 305 s and are replaced 300 s before expiry: usable for 5 s.
    let (c, _) = collector(&fake, app_auth(Duration::from_secs(300)), all_features());
    let data = collect(&c, &Scope::org("octo")).await;
    assert!(data.days[&day()]
        .value(
            "copilot_team_daily_active_users",
            &[("org", "octo"), ("team", "alpha")]
        )
        .is_some());
    assert_eq!(
        fake.state.minted.lock().unwrap().len(),
        1,
        "one token for the whole collection"
    );
    assert_eq!(
        fake.state
            .requests_matching("/orgs/octo/installation")
            .len(),
        1
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    collect(&c, &Scope::org("octo")).await;
    assert_eq!(
        fake.state.minted.lock().unwrap().len(),
        2,
        "refreshed before expiry"
    );
    assert_eq!(
        fake.state
            .requests_matching("/orgs/octo/installation")
            .len(),
        1,
        "installation cached"
    );
    // The enterprise is another installation lookup; same installation id → cached token.
    collect(&c, &Scope::enterprise("ent")).await;
    assert_eq!(
        fake.state
            .requests_matching("/enterprises/ent/installation")
            .len(),
        1
    );
    assert_eq!(fake.state.minted.lock().unwrap().len(), 2);
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 0);
    assert_eq!(
        fake.state.download_auth_violations.load(Ordering::SeqCst),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_token_is_refreshed_once_on_401() {
    let fake = FakeGithub::with_state(FakeState::standard(FakeAuth::App {
        app_id: APP_ID.into(),
        installation_id: 4242,
        token_ttl_secs: 3600,
    }));
    let (c, _) = collector(&fake, app_auth(Duration::from_secs(300)), Features::none());
    collect(&c, &Scope::org("octo")).await;
    assert_eq!(fake.state.minted.lock().unwrap().len(), 1);
    // The cached token gets revoked: one 401, a new token, the call succeeds.
    fake.state.revoke_next.store(true, Ordering::SeqCst);
    collect(&c, &Scope::org("octo")).await;
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 1);
    assert_eq!(fake.state.minted.lock().unwrap().len(), 2);
    // Every token refused: one retry, then a bad-credentials failure (no loop).
    fake.state.refuse_all_tokens.store(true, Ordering::SeqCst);
    let err = c
        .collect(&Scope::org("octo"), &CollectRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.source.kind, FailureKind::BadCredentials);
    assert_eq!(fake.state.unauthorized.load(Ordering::SeqCst), 3);
    assert_eq!(fake.state.minted.lock().unwrap().len(), 3);
}

#[test]
fn binary_with_app_auth_never_logs_the_key_or_tokens() {
    // LOG_LEVEL=trace (the exporter's own logs) and RUST_LOG=trace (every
    // library too, hyper and reqwest included).
    for (log_var, log_value) in [("LOG_LEVEL", "trace"), ("RUST_LOG", "trace")] {
        let fake = FakeGithub::with_state(FakeState::standard(FakeAuth::App {
            app_id: APP_ID.into(),
            installation_id: 4242,
            token_ttl_secs: 3600,
        }));
        let salt = "pepper-salt-value-never-logged";
        let path = std::env::var("PATH").unwrap_or_default();
        let out = run_exporter_blocking(
            &["--once"],
            &[
                ("PATH", &path),
                ("ORG", "octo"),
                ("ENTERPRISE", "ent"),
                ("GITHUB_API_URL", &fake.api_url),
                ("GITHUB_APP_ID", APP_ID),
                ("GITHUB_APP_PRIVATE_KEY_FILE", APP_PRIVATE_KEY_PATH),
                (log_var, log_value),
                ("LISTEN_ADDR", ""),
                ("TEAMS", "true"),
                ("REPO_METRICS", "true"),
                ("USER_METRICS", "hashed"),
                ("USER_METRICS_SALT", salt),
            ],
        );
        let (stdout, stderr) = (&out.stdout, &out.stderr);
        assert_eq!(out.code, 0, "exit {}\n{stderr}", out.code);
        assert!(
            stderr.lines().count() > 20,
            "trace logging is on:\n{stderr}"
        );

        let key = std::fs::read_to_string(APP_PRIVATE_KEY_PATH).unwrap();
        for line in key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(
                !stderr.contains(line) && !stdout.contains(line),
                "private key material leaked"
            );
        }
        let minted = fake.state.minted.lock().unwrap().clone();
        assert!(!minted.is_empty());
        for secret in minted.iter().chain(fake.state.jwts.lock().unwrap().iter()) {
            assert!(!stderr.contains(secret.as_str()), "token leaked: {secret}");
            // JWT parts (header/claims/signature) separately, too.
            for part in secret.split('.').filter(|p| p.len() > 20) {
                assert!(!stderr.contains(part), "JWT part leaked");
            }
        }
        assert!(!stderr.contains(salt) && !stdout.contains(salt));
        assert!(
            !stderr.contains("secret-signature"),
            "signed link query leaked"
        );
        assert!(!stdout.contains("user3"), "hashed mode shows no login");
        assert_eq!(
            fake.state.download_auth_violations.load(Ordering::SeqCst),
            0
        );

        // The metrics arrived.
        assert_eq!(
            label_values(stdout, "copilot_team_daily_active_users", "team"),
            ["alpha", "beta"].iter().map(|s| s.to_string()).collect()
        );
        assert!(stdout.contains("copilot_seats{org=\"octo\"} 7"), "{stdout}");
        assert!(stdout.contains("copilot_seats{enterprise=\"ent\"} 7"));
        assert!(stdout
            .contains("copilot_repo_pull_requests_total_created{org=\"octo\",repo=\"octo/one\""));
        assert_eq!(
            label_values(stdout, "copilot_user_loc_added", "user").len(),
            11
        );
    }
}

#[test]
fn token_and_app_together_is_a_configuration_error() {
    let out = run_exporter_blocking(
        &["--once"],
        &[
            ("ORG", "octo"),
            ("GHC_TOKEN", "ghp_x"),
            ("GITHUB_APP_ID", APP_ID),
            ("GITHUB_APP_PRIVATE_KEY_FILE", APP_PRIVATE_KEY_PATH),
            ("LISTEN_ADDR", ""),
        ],
    );
    assert_eq!(out.code, 2);
    let stderr = &out.stderr;
    assert!(
        stderr.contains("GITHUB_APP_ID") && stderr.contains("GHC_TOKEN"),
        "{stderr}"
    );
}

#[test]
fn demo_serves_teams_seats_users_and_repos() {
    let out = run_exporter_blocking(
        &[
            "--demo",
            "--once",
            "--teams",
            "--repo-metrics",
            "--user-metrics",
            "login",
        ],
        &[("LISTEN_ADDR", "")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stdout = &out.stdout;
    let teams = label_values(stdout, "copilot_team_daily_active_users", "team");
    assert!(
        teams.contains("platform") && !teams.contains("mobile"),
        "{teams:?}"
    );
    for metric in [
        "copilot_seats_idle",
        "copilot_seats_by_editor",
        "copilot_repo_pull_requests_total_created",
        "copilot_user_loc_added",
    ] {
        assert!(stdout.contains(&format!("{metric}{{")), "{metric} missing");
    }
    // SEATS=false turns seats off.
    let out = run_exporter_blocking(
        &["--demo", "--once"],
        &[("LISTEN_ADDR", ""), ("SEATS", "false")],
    );
    let stdout = &out.stdout;
    assert!(!stdout.contains("copilot_seats"));
    assert!(!stdout.contains("copilot_team_"));
}

#[test]
fn proxy_variables_are_honoured() {
    // GITHUB_API_URL names a host that does not resolve; the API calls can
    // only arrive through HTTP_PROXY (the fake answers absolute-form
    // requests). NO_PROXY keeps the download host direct.
    let fake = FakeGithub::with_state(FakeState::standard(FakeAuth::Pat(PAT.into())));
    let out = run_exporter_blocking(
        &["--once"],
        &[
            ("ORG", "octo"),
            ("GHC_TOKEN", PAT),
            ("GITHUB_API_URL", "http://api.github-proxied.invalid"),
            ("HTTP_PROXY", &fake.api_url),
            ("NO_PROXY", "127.0.0.1"),
            ("SEATS", "false"),
            ("TEAMS", "true"),
            ("LISTEN_ADDR", ""),
        ],
    );
    let stderr = &out.stderr;
    assert_eq!(out.code, 0, "{stderr}");
    let stdout = &out.stdout;
    assert!(
        stdout.contains("copilot_team_daily_active_users{org=\"octo\",team=\"alpha\"}"),
        "{stdout}"
    );
    assert!(!fake
        .state
        .requests_matching("/copilot/metrics/reports/")
        .is_empty());
    assert_eq!(
        fake.state.download_auth_violations.load(Ordering::SeqCst),
        0
    );
}
