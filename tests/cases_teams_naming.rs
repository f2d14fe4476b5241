//! Field cases of the naming rule and the team join (`tests/fixtures/cases/`,
//! copied from the shared cases; each test asserts its `CASE.md` values),
//! run through the real binary against the in-test fake GitHub, plus inputs
//! of the same kinds made here.

mod common;

use std::collections::BTreeMap;

use common::fake_github::{FakeGithub, Reply};
use common::{parse_exposition, Run, Series};
use serde_json::{json, Map, Value};

const TOKEN: &str = "ghp_CASESTOKEN0123456789";
const DAY: &str = "2026-11-28";
const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cases");

fn case_file(case: &str, file: &str) -> String {
    std::fs::read_to_string(format!("{CASES}/{case}/{file}"))
        .unwrap_or_else(|e| panic!("{case}/{file}: {e}"))
}

fn entity_path() -> String {
    "/orgs/octo/copilot/metrics/reports/organization-28-day/latest".into()
}

fn day_path(report: &str) -> String {
    format!("/orgs/octo/copilot/metrics/reports/{report}?day={DAY}")
}

/// A 28-day organization report whose newest day (`DAY`) carries `extra`.
fn entity_report(extra: Map<String, Value>) -> String {
    let mut newest = json!({"day": DAY, "organization_id": "90001", "daily_active_users": 7,
        "code_generation_activity_count": 70, "loc_added_sum": 30});
    newest.as_object_mut().unwrap().extend(extra);
    let older = json!({"day": "2026-11-27", "organization_id": "90001", "daily_active_users": 5});
    format!(
        "{}\n",
        json!({"day_totals": [older, newest], "organization_id": "90001",
            "report_start_day": "2026-11-01", "report_end_day": DAY, "etl_id": "x"})
    )
}

async fn run(fake: &FakeGithub, extra: &[(&str, &str)]) -> Run {
    common::run_once_for_octo(fake.api_url.as_str(), TOKEN, extra).await
}

type Exposition = BTreeMap<Series, f64>;

/// The series of `metric`, as (labels without `org`) → value.
fn series_of(out: &Exposition, metric: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    out.iter()
        .filter(|((name, _), _)| name == metric)
        .map(|((_, labels), v)| {
            let mut labels = labels.clone();
            labels.remove("org");
            (labels, *v)
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// agent-id-identity: elements of a breakdown array keyed by an `*_id`
/// never collapse, and names have no doubled underscore.
#[tokio::test(flavor = "multi_thread")]
async fn case_agent_id_identity() {
    let agents: Map<String, Value> =
        serde_json::from_str(&case_file("agent-id-identity", "newest-day-agents.json")).unwrap();
    let fake = FakeGithub::start().await;
    fake.report(&entity_path(), &[("org-28.ndjson", &entity_report(agents))]);
    let run = run(&fake, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = parse_exposition(&run.stdout);
    for (metric, want_sum, want) in [
        (
            "copilot_user_initiated_interaction_by_3rd_party_agent",
            14.0,
            [5.0, 7.0, 2.0],
        ),
        ("copilot_session_by_3rd_party_agent", 8.0, [3.0, 4.0, 1.0]),
    ] {
        let series = series_of(&out, metric);
        assert_eq!(series.len(), 3, "{metric}: {series:?}\n{}", run.stdout);
        for (id, name, value) in [
            ("3100001", "Helper Bot", want[0]),
            ("3100002", "Helper Bot", want[1]),
            ("3100003", "Review Agent", want[2]),
        ] {
            let key = labels(&[("agent_id", id), ("agent_name", name)]);
            assert!(series.contains(&(key, value)), "{metric} {id}: {series:?}");
        }
        let sum: f64 = series.iter().map(|(_, v)| v).sum();
        assert_eq!(sum, want_sum, "{metric}");
    }
    assert_eq!(
        out.get(&(
            "copilot_exporter_duplicate_series_total".to_string(),
            BTreeMap::new()
        )),
        Some(&0.0)
    );
    for (name, _) in out.keys() {
        assert!(!name.contains("__"), "doubled underscore in {name}");
    }
    common::promtool_check_metrics(&run.stdout);
}

/// The team series of a run, whatever the team.
fn team_series(out: &Exposition) -> Vec<&Series> {
    out.keys()
        .filter(|(name, _)| name.starts_with("copilot_team_"))
        .collect()
}

fn join_incomplete(out: &Exposition, missing: &str, reason: &str) -> Option<f64> {
    out.get(&(
        "copilot_exporter_join_incomplete_total".to_string(),
        labels(&[("join", "teams"), ("missing", missing), ("reason", reason)]),
    ))
    .copied()
}

/// team-join-missing-users: `users-1-day` answers 204, so there is no team
/// value for the day (never a zero); the usage metrics are published and the
/// missing side shows in the log and a self-metric.
#[tokio::test(flavor = "multi_thread")]
async fn case_team_join_missing_users() {
    let fake = FakeGithub::start().await;
    fake.report(
        &entity_path(),
        &[("org-28.ndjson", &entity_report(Map::new()))],
    );
    fake.report(
        &day_path("user-teams-1-day"),
        &[(
            "user-teams.ndjson",
            &case_file("team-join-missing-users", "user-teams-1-day.ndjson"),
        )],
    );
    fake.api(&day_path("users-1-day"), vec![Reply::raw(204, b"")]);
    let run = run(&fake, &[("TEAMS", "true")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = parse_exposition(&run.stdout);
    assert_eq!(team_series(&out), Vec::<&Series>::new(), "{}", run.stdout);
    assert_eq!(
        out.get(&(
            "copilot_daily_active_users".to_string(),
            labels(&[("org", "octo")])
        )),
        Some(&7.0)
    );
    assert_eq!(join_incomplete(&out, "users-1-day", "no_report"), Some(1.0));
    assert!(
        run.stderr.contains("join incomplete") && run.stderr.contains("users-1-day"),
        "{}",
        run.stderr
    );
    // 204 is no failure.
    assert!(!run
        .stdout
        .contains("copilot_exporter_optional_collection_failures_total{"));
}

/// The same kind, other inputs: the users report fails (5xx after the
/// retries), or the user-teams side is the one missing.
#[tokio::test(flavor = "multi_thread")]
async fn team_join_needs_both_sides_whichever_is_missing() {
    let teams = case_file("team-join-missing-users", "user-teams-1-day.ndjson");
    let users: String = (4101..=4105)
        .map(|u| {
            format!(
                "{}\n",
                json!({"day": DAY, "user_id": u, "loc_added_sum": 1})
            )
        })
        .collect();

    // users-1-day fails.
    let fake = FakeGithub::start().await;
    fake.report(
        &entity_path(),
        &[("org-28.ndjson", &entity_report(Map::new()))],
    );
    fake.report(&day_path("user-teams-1-day"), &[("ut.ndjson", &teams)]);
    fake.api(
        &day_path("users-1-day"),
        vec![Reply::json(502, r#"{"message":"Bad Gateway"}"#)],
    );
    let run1 = run(&fake, &[("TEAMS", "true")]).await;
    assert_eq!(run1.code, 0, "{}", run1.stderr);
    let out = parse_exposition(&run1.stdout);
    assert_eq!(team_series(&out), Vec::<&Series>::new());
    assert_eq!(
        join_incomplete(&out, "users-1-day", "server_error"),
        Some(1.0)
    );
    assert_eq!(
        out.get(&(
            "copilot_exporter_optional_collection_failures_total".to_string(),
            labels(&[("feature", "teams"), ("reason", "server_error")])
        )),
        Some(&1.0)
    );

    // user-teams-1-day has no report yet, users-1-day is there.
    let fake = FakeGithub::start().await;
    fake.report(
        &entity_path(),
        &[("org-28.ndjson", &entity_report(Map::new()))],
    );
    fake.api(&day_path("user-teams-1-day"), vec![Reply::raw(204, b"")]);
    fake.report(&day_path("users-1-day"), &[("u.ndjson", &users)]);
    let run2 = run(&fake, &[("TEAMS", "true")]).await;
    assert_eq!(run2.code, 0, "{}", run2.stderr);
    let out = parse_exposition(&run2.stdout);
    assert_eq!(team_series(&out), Vec::<&Series>::new());
    assert_eq!(
        join_incomplete(&out, "user-teams-1-day", "no_report"),
        Some(1.0)
    );

    // Both sides there: the join happens (so the tests above can fail).
    let fake = FakeGithub::start().await;
    fake.report(
        &entity_path(),
        &[("org-28.ndjson", &entity_report(Map::new()))],
    );
    fake.report(&day_path("user-teams-1-day"), &[("ut.ndjson", &teams)]);
    fake.report(&day_path("users-1-day"), &[("u.ndjson", &users)]);
    let run3 = run(&fake, &[("TEAMS", "true")]).await;
    let out = parse_exposition(&run3.stdout);
    let ops = labels(&[("org", "octo"), ("team", "ops")]);
    assert_eq!(
        out.get(&("copilot_team_daily_active_users".to_string(), ops.clone())),
        Some(&5.0),
        "{}",
        run3.stdout
    );
    assert_eq!(
        out.get(&("copilot_team_loc_added".to_string(), ops)),
        Some(&5.0)
    );
    assert!(!run3
        .stdout
        .contains("copilot_exporter_join_incomplete_total{"));
}

/// team-ordinal-not-summed: a per-user phase number is exported per user,
/// never summed into a team; entity per-phase series keep their `phase`
/// label, minutes in seconds.
#[tokio::test(flavor = "multi_thread")]
async fn case_team_ordinal_not_summed() {
    let case = "team-ordinal-not-summed";
    let phases: Value =
        serde_json::from_str(&case_file(case, "entity-newest-day-phases.json")).unwrap();
    let mut extra = Map::new();
    extra.insert("totals_by_ai_adoption_phase".into(), phases);
    let fake = FakeGithub::start().await;
    fake.report(&entity_path(), &[("org-28.ndjson", &entity_report(extra))]);
    fake.report(
        &day_path("user-teams-1-day"),
        &[("ut.ndjson", &case_file(case, "user-teams-1-day.ndjson"))],
    );
    let users = case_file(case, "users-1-day.ndjson");
    fake.report(&day_path("users-1-day"), &[("u.ndjson", &users)]);
    let run = run(&fake, &[("TEAMS", "true"), ("USER_METRICS", "login")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = parse_exposition(&run.stdout);

    // Per user: the user's own phase number.
    for line in users.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let login = row["user_login"].as_str().unwrap();
        let phase = row["ai_adoption_phase"]["phase_number"].as_f64().unwrap();
        assert_eq!(
            out.get(&(
                "copilot_user_ai_adoption_phase_phase_number".to_string(),
                labels(&[("org", "octo"), ("user", login)])
            )),
            Some(&phase),
            "{login}"
        );
    }
    // Never a team sum of it (nor of any other non-quantity).
    let team: Vec<&Series> = team_series(&out);
    assert!(!team.is_empty(), "the join happened");
    for (name, _) in &team {
        assert!(
            !name.contains("phase_number") && !name.contains("version"),
            "{name}"
        );
    }
    let fe = labels(&[("org", "octo"), ("team", "frontend")]);
    assert_eq!(
        out.get(&("copilot_team_daily_active_users".to_string(), fe.clone())),
        Some(&6.0)
    );
    assert_eq!(
        out.get(&("copilot_team_code_generation_activity".to_string(), fe)),
        Some(&60.0)
    );
    // Entity per-phase series keep `phase`; minutes become seconds.
    let phase = |name: &str, p: &str| {
        out.get(&(name.to_string(), labels(&[("org", "octo"), ("phase", p)])))
            .copied()
    };
    for (p, number, merged, minutes, cycles) in [
        ("Phase 1", 1.0, 12.0, 95.5, 1.4),
        ("Phase 2", 2.0, 20.0, 61.0, 1.2),
        ("No Cohort", 0.0, 2.0, 240.0, 2.0),
    ] {
        assert_eq!(
            phase("copilot_phase_number_by_ai_adoption_phase", p),
            Some(number)
        );
        assert_eq!(
            phase("copilot_total_pull_requests_merged_by_ai_adoption_phase", p),
            Some(merged)
        );
        assert_eq!(
            phase(
                "copilot_avg_pull_requests_seconds_to_review_by_ai_adoption_phase",
                p
            ),
            Some(minutes * 60.0)
        );
        assert_eq!(
            phase(
                "copilot_avg_pull_requests_review_cycles_by_ai_adoption_phase",
                p
            ),
            Some(cycles)
        );
    }
    common::promtool_check_metrics(&run.stdout);
}

mod with_the_stateful_fake {
    use super::*;
    use common::fake_github::{FakeAuth, FakeGithub, FakeState};

    const PAT: &str = "ghp_STATEFULFAKE0123456789";

    fn run(fake: &FakeGithub, scope: (&str, &str), extra: &[(&str, &str)]) -> Run {
        let mut env = vec![
            ("GHC_TOKEN", PAT),
            scope,
            ("GITHUB_API_URL", fake.api_url.as_str()),
            ("LISTEN_ADDR", ""),
        ];
        env.extend_from_slice(extra);
        common::run_exporter_blocking(&["--once"], &env)
    }

    /// A seat assigned to a team whose id equals a user's id is another
    /// assignee: the enterprise count goes up by one, not zero.
    #[test]
    fn a_team_typed_seat_with_a_users_id_is_another_assignee() {
        let mut state = FakeState::standard(FakeAuth::Pat(PAT.into()));
        // The standard enterprise list: users 1–7, users 1, 4, 6 granted twice.
        let users: std::collections::BTreeSet<u64> = state
            .enterprise_seats
            .iter()
            .filter_map(|s| s["assignee"]["id"].as_u64())
            .collect();
        state.enterprise_seats.push(json!({
            "assignee": {"id": 1, "slug": "platform", "name": "Platform", "type": "Team"},
            "created_at": "2026-01-01T00:00:00Z", "plan_type": "business"}));
        let fake = FakeGithub::with_state(state);
        let out = run(&fake, ("ENTERPRISE", "ent"), &[("SEATS", "true")]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let got = parse_exposition(&out.stdout);
        assert_eq!(
            got.get(&(
                "copilot_seats".to_string(),
                labels(&[("enterprise", "ent")])
            )),
            Some(&(users.len() as f64 + 1.0)),
            "{}",
            out.stdout
        );
    }

    /// Two teams with one slug: the smaller `team_id` keeps it, the other is
    /// `<slug>-<team_id>`, in whichever order the rows come.
    #[test]
    fn slug_clashes_are_resolved_the_same_in_two_row_orders() {
        let mut results = Vec::new();
        for reversed in [false, true] {
            let mut state = FakeState::standard(FakeAuth::Pat(PAT.into()));
            let rows = state.user_teams.get_mut("org").unwrap();
            // Team 2 ("beta": users 4–9) is renamed "alpha", like team 1.
            for row in rows.iter_mut() {
                if row["team_id"] == json!(2) {
                    row["slug"] = json!("alpha");
                }
            }
            if reversed {
                rows.reverse();
            }
            let fake = FakeGithub::with_state(state);
            let out = run(
                &fake,
                ("ORG", "octo"),
                &[("TEAMS", "true"), ("SEATS", "false")],
            );
            assert_eq!(out.code, 0, "{}", out.stderr);
            let got = parse_exposition(&out.stdout);
            let teams: BTreeMap<String, f64> = got
                .iter()
                .filter(|((name, _), _)| name == "copilot_team_daily_active_users")
                .map(|((_, l), v)| (l["team"].clone(), *v))
                .collect();
            results.push((teams, got));
        }
        // Users 1–5 of team 1 have rows (user 6 has none); team 2: 4, 5, 7, 8, 9.
        let want = BTreeMap::from([("alpha".to_string(), 5.0), ("alpha-2".to_string(), 5.0)]);
        assert_eq!(results[0].0, want);
        assert_eq!(results[1].0, want);
        let team_only = |got: &Exposition| -> Exposition {
            got.iter()
                .filter(|((name, _), _)| name.starts_with("copilot_team_"))
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        };
        assert_eq!(team_only(&results[0].1), team_only(&results[1].1));
    }
}
