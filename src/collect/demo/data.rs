//! The demo's made-up data: entity day totals, user, user-team and
//! repository rows, billing and seat lists — deterministic per scope and
//! day.

use chrono::{Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::model::scope::{Scope, ScopeKind};

/// Teams of the demo users. `mobile` has fewer than five members, so (as
/// on GitHub) it is absent from the user-teams report.
const TEAMS: &[(u64, &str)] = &[
    (11, "web"),
    (12, "api"),
    (13, "data"),
    (14, "platform"),
    (15, "mobile"),
];
const REPOS: &[&str] = &[
    "api-gateway",
    "web-app",
    "data-pipeline",
    "mobile-app",
    "infra",
    "docs",
];
const IDES: &[&str] = &["vscode", "jetbrains", "visualstudio", "neovim"];
const LANGUAGES: &[&str] = &["rust", "python", "typescript", "go", "java"];
const FEATURES: &[&str] = &[
    "code_completion",
    "agent_edit",
    "chat_panel_ask_mode",
    "chat_panel_agent_mode",
    "copilot_cli",
];
const MODELS: &[&str] = &["gpt-4.1", "claude-sonnet-4", "gemini-2.5-pro"];
fn user_count(scope: &Scope) -> u64 {
    if scope.kind == ScopeKind::Enterprise {
        48
    } else {
        24
    }
}

fn login(i: u64) -> String {
    format!("demo-dev-{i:02}")
}

/// Team indices (into [`TEAMS`]) of demo user `i`.
fn teams_of(i: u64) -> Vec<usize> {
    let mut teams = vec![(i % 4) as usize];
    if i % 5 == 0 {
        teams.push(3);
    }
    if i < 3 {
        teams.push(4);
    }
    teams.dedup();
    teams
}

pub(super) fn user_rows(scope: &Scope, day: NaiveDate) -> Vec<Value> {
    let mut rng = Rng::new(seed(&format!("users/{}/{day}", scope.name)));
    let mut rows = Vec::new();
    for i in 0..user_count(scope) {
        if rng.below(10) < 2 {
            continue; // not active that day: no row
        }
        let ide = IDES[rng.below(IDES.len() as u64) as usize];
        let language = LANGUAGES[rng.below(LANGUAGES.len() as u64) as usize];
        let used_cli = rng.below(4) == 0;
        let mut row = with(
            json!({
                "day": day.to_string(),
                "user_id": 5000 + i,
                "user_login": login(i),
                "used_agent": rng.below(2) == 0,
                "used_chat": rng.below(3) != 0,
                "used_cli": used_cli,
                "totals_by_ide": [with(json!({"ide": ide, "last_known_ide_version": {"ide_version": "1.99.0", "sampled_at": format!("{day}T09:00:00.000Z")}}), activity(&mut rng, 1))],
                "totals_by_feature": [
                    with(json!({"feature": "code_completion"}), activity(&mut rng, 1)),
                    with(json!({"feature": "chat_panel_agent_mode"}), activity(&mut rng, 1)),
                ],
                "totals_by_language_feature": [with(json!({"language": language, "feature": "code_completion"}), activity(&mut rng, 1))],
                "totals_by_language_model": [],
                "totals_by_model_feature": [],
                "etl_id": "demo",
            }),
            activity(&mut rng, 2),
        );
        if used_cli {
            row["totals_by_cli"] = json!({"session_count": 1 + rng.below(4), "request_count": rng.below(20),
                "prompt_count": rng.below(10), "token_usage": {"output_tokens_sum": rng.below(9000), "prompt_tokens_sum": rng.below(7000), "avg_tokens_per_request": 3900.0}});
        }
        row[id_field(scope)] = json!(scope_id(scope));
        rows.push(row);
    }
    rows
}

pub(super) fn user_team_rows(scope: &Scope, day: NaiveDate) -> Vec<Value> {
    let mut members = vec![0u64; TEAMS.len()];
    for i in 0..user_count(scope) {
        for t in teams_of(i) {
            members[t] += 1;
        }
    }
    let mut rows = Vec::new();
    for i in 0..user_count(scope) {
        for t in teams_of(i) {
            // GitHub leaves out teams with fewer than five Copilot seats.
            if members[t] < 5 {
                continue;
            }
            let (team_id, slug) = TEAMS[t];
            let mut row = json!({"user_id": 5000 + i, "user_login": login(i), "day": day.to_string(), "team_id": team_id, "slug": slug});
            row[id_field(scope)] = json!(scope_id(scope));
            rows.push(row);
        }
    }
    rows
}

pub(super) fn repo_rows(scope: &Scope, day: NaiveDate) -> Vec<Value> {
    let mut rng = Rng::new(seed(&format!("repos/{}/{day}", scope.name)));
    let active: Vec<(usize, &&str)> = REPOS
        .iter()
        .enumerate()
        .filter(|_| rng.below(6) != 0)
        .collect();
    active
        .into_iter()
        .map(|(i, name)| {
            let created = 1 + rng.below(12);
            let merged = created * 2 / 3;
            let mut row = json!({
                "day": day.to_string(),
                "repo_id": 9000 + i,
                "repo_owner_name": scope.name,
                "repo_name": name,
                "repo_visibility": if i % 2 == 0 { "PRIVATE" } else { "INTERNAL" },
                "pull_requests": {
                    "total_created": created, "total_reviewed": created, "total_merged": merged,
                    "median_minutes_to_merge": 20.0 + rng.below(400) as f64,
                    "total_created_by_copilot": rng.below(3), "total_reviewed_by_copilot": rng.below(6),
                    "total_suggestions": rng.below(30), "total_applied_suggestions": rng.below(10)
                },
                "pull_request_review_times": [{
                    "authored_by": "human", "reviewed_by": "human", "total_merged": merged,
                    "median_minutes_ready_to_first_review": 30.0 + rng.below(200) as f64,
                    "p90_minutes_ready_to_first_review": 300.0 + rng.below(600) as f64
                }],
                "etl_id": "demo",
            });
            row[id_field(scope)] = json!(scope_id(scope));
            row
        })
        .collect()
}

pub(super) fn distinct_seats(scope: &Scope) -> u64 {
    user_count(scope) + 2
}

pub(super) fn billing(scope: &Scope) -> Value {
    let total = distinct_seats(scope);
    json!({
        "seat_breakdown": {
            "total": total, "added_this_cycle": 3, "pending_invitation": 1, "pending_cancellation": 1,
            "active_this_cycle": total - 4, "inactive_this_cycle": 4
        },
        "seat_management_setting": "assign_selected", "ide_chat": "enabled", "platform_chat": "enabled",
        "cli": "enabled", "public_code_suggestions": "block", "plan_type": "business"
    })
}

/// The seat list: every demo user plus two never-used seats; enterprise
/// lists repeat the first five users (granted by a second organization).
pub(super) fn seat_list(scope: &Scope) -> Vec<Value> {
    let now = Utc::now();
    let plan = if scope.kind == ScopeKind::Enterprise {
        "enterprise"
    } else {
        "business"
    };
    let mut seats: Vec<Value> = (0..distinct_seats(scope))
        .map(|i| {
            let used = i < user_count(scope);
            let days_ago = (i * 7) % 120;
            let editor = IDES[(i % IDES.len() as u64) as usize];
            json!({
                "created_at": "2025-01-06T09:00:00Z",
                "pending_cancellation_date": null,
                "last_activity_at": if used { json!((now - Duration::days(days_ago as i64)).to_rfc3339()) } else { Value::Null },
                "last_activity_editor": if used { json!(format!("{editor}/1.99.0/copilot/1.300.0")) } else { Value::Null },
                "plan_type": if i % 9 == 8 { Value::Null } else { json!(plan) },
                "assignee": {"login": if used { login(i) } else { format!("demo-new-{i}") }, "id": 5000 + i, "type": "User"},
                "organization": {"login": format!("{}-a", scope.name)},
            })
        })
        .collect();
    if scope.kind == ScopeKind::Enterprise {
        let repeats: Vec<Value> = seats
            .iter()
            .take(5)
            .map(|s| {
                let mut s = s.clone();
                s["organization"] = json!({"login": format!("{}-b", scope.name)});
                s
            })
            .collect();
        seats.extend(repeats);
    }
    seats
}

pub(super) fn id_field(scope: &Scope) -> &'static str {
    match scope.kind {
        ScopeKind::Organization => "organization_id",
        ScopeKind::Enterprise => "enterprise_id",
    }
}

pub(super) fn scope_id(scope: &Scope) -> String {
    (seed(&scope.name) % 100_000).to_string()
}

fn seed(text: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn activity(rng: &mut Rng, scale: u64) -> Value {
    let generated = 20 + rng.below(40 * scale);
    let accepted = generated * (20 + rng.below(25)) / 100;
    let suggested = generated * 4;
    let added = suggested * (15 + rng.below(25)) / 100;
    json!({
        "code_generation_activity_count": generated,
        "code_acceptance_activity_count": accepted,
        "user_initiated_interaction_count": rng.below(30 * scale),
        "loc_suggested_to_add_sum": suggested,
        "loc_suggested_to_delete_sum": suggested / 10,
        "loc_added_sum": added,
        "loc_deleted_sum": added / 8,
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// One `day_totals` element for `scope` on `day`.
pub fn day_totals(scope: &Scope, day: NaiveDate) -> Value {
    let mut rng = Rng::new(seed(&format!("{}/{day}", scope.name)));
    let size = if scope.kind == ScopeKind::Enterprise {
        3
    } else {
        1
    };
    let weekend = matches!(day.format("%a").to_string().as_str(), "Sat" | "Sun");
    let dau = (40 + rng.below(20)) * size / if weekend { 4 } else { 1 };
    let by_ide: Vec<Value> = IDES
        .iter()
        .map(|ide| with(json!({"ide": ide}), activity(&mut rng, size)))
        .collect();
    let by_feature: Vec<Value> = FEATURES
        .iter()
        .map(|f| with(json!({"feature": f}), activity(&mut rng, size)))
        .collect();
    let mut by_language_feature = Vec::new();
    for language in LANGUAGES {
        for feature in &FEATURES[..2] {
            by_language_feature.push(with(
                json!({"language": language, "feature": feature}),
                activity(&mut rng, size),
            ));
        }
    }
    let by_language_model: Vec<Value> = LANGUAGES
        .iter()
        .flat_map(|l| MODELS.iter().map(move |m| (l, m)))
        .map(|(l, m)| with(json!({"language": l, "model": m}), activity(&mut rng, size)))
        .collect();
    let by_model_feature: Vec<Value> = MODELS
        .iter()
        .map(|m| {
            with(
                json!({"model": m, "feature": "chat_panel_agent_mode"}),
                activity(&mut rng, size),
            )
        })
        .collect();
    let created = 10 + rng.below(20) * size;
    let mut totals = with(
        json!({
            "day": day.to_string(),
            "daily_active_users": dau,
            "weekly_active_users": dau * 2,
            "monthly_active_users": dau * 3,
            "monthly_active_chat_users": dau * 2,
            "monthly_active_agent_users": dau,
            "daily_active_cli_users": rng.below(10) * size,
            "daily_active_copilot_code_review_users": rng.below(8),
            "daily_active_copilot_cloud_agent_users": null,
            "pull_requests": {
                "total_created": created,
                "total_reviewed": created - 2,
                "total_merged": created * 3 / 4,
                "median_minutes_to_merge": 30.0 + rng.below(300) as f64 / 2.0,
                "total_suggestions": rng.below(40),
                "total_applied_suggestions": rng.below(20),
                "total_created_by_copilot": rng.below(5),
                "total_merged_created_by_copilot": rng.below(4),
                "total_merged_reviewed_by_copilot": rng.below(6),
                "median_minutes_to_merge_copilot_authored": 20.0 + rng.below(200) as f64 / 2.0,
                "median_minutes_to_merge_copilot_reviewed": 25.0 + rng.below(200) as f64 / 2.0,
                "total_reviewed_by_copilot": rng.below(10),
                "total_copilot_suggestions": 12,
                "total_copilot_applied_suggestions": 5,
                "copilot_suggestions_by_comment_type": [
                    {"comment_type": "nit", "total_copilot_suggestions": 7, "total_copilot_applied_suggestions": 3},
                    {"comment_type": "bug", "total_copilot_suggestions": 5, "total_copilot_applied_suggestions": 2}
                ]
            },
            "totals_by_cli": {
                "session_count": rng.below(20),
                "request_count": rng.below(80),
                "prompt_count": rng.below(60),
                "token_usage": {"output_tokens_sum": rng.below(90_000), "prompt_tokens_sum": rng.below(70_000), "avg_tokens_per_request": 4100.0}
            },
            "totals_by_ide": by_ide,
            "totals_by_feature": by_feature,
            "totals_by_language_feature": by_language_feature,
            "totals_by_language_model": by_language_model,
            "totals_by_model_feature": by_model_feature,
        }),
        activity(&mut rng, size * 4),
    );
    totals[id_field(scope)] = json!(scope_id(scope));
    totals
}
