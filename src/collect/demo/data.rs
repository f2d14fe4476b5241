//! The demo's made-up world: its users (the enterprise has
//! [`ENTERPRISE_USERS`], every organization a window of
//! [`ORG_USERS`] of them, so an enterprise always contains its
//! organizations), teams, repositories, billing and seat lists, and the
//! seeded generator everything is drawn from — deterministic per user,
//! repository and day.

use std::ops::Range;

use chrono::{Datelike, Duration, NaiveDate, Utc};
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
/// Repositories of the enterprise; an organization has [`ORG_REPOS`] of them.
pub(super) const REPOS: &[&str] = &[
    "api-gateway",
    "web-app",
    "data-pipeline",
    "mobile-app",
    "infra",
    "docs",
];
pub(super) const IDES: &[&str] = &["vscode", "jetbrains", "visualstudio", "neovim"];
pub(super) const LANGUAGES: &[&str] = &["rust", "python", "typescript", "go", "java"];
pub(super) const MODELS: &[&str] = &["gpt-4.1", "claude-sonnet-4", "gemini-2.5-pro"];
/// Users of the demo enterprise.
pub(super) const ENTERPRISE_USERS: u64 = 48;
/// Users of a demo organization.
pub(super) const ORG_USERS: u64 = 24;
/// Repositories of a demo organization.
const ORG_REPOS: usize = 4;

/// The users (indices) of `scope`: all of them for the enterprise, a
/// window that depends on the name for an organization.
pub(super) fn scope_users(scope: &Scope) -> Range<u64> {
    match scope.kind {
        ScopeKind::Enterprise => 0..ENTERPRISE_USERS,
        ScopeKind::Organization => {
            let start = seed(&scope.name) % (ENTERPRISE_USERS - ORG_USERS + 1);
            start..start + ORG_USERS
        }
    }
}

/// The repositories (indices into [`REPOS`]) of `scope`, chosen like
/// [`scope_users`].
pub(super) fn repos(scope: &Scope) -> Range<usize> {
    match scope.kind {
        ScopeKind::Enterprise => 0..REPOS.len(),
        ScopeKind::Organization => {
            let start = (seed(&scope.name) % (REPOS.len() - ORG_REPOS + 1) as u64) as usize;
            start..start + ORG_REPOS
        }
    }
}

pub(super) fn login(i: u64) -> String {
    format!("demo-dev-{i:02}")
}

/// Team indices (into [`TEAMS`]) of demo user `i`.
pub(super) fn teams_of(i: u64) -> Vec<usize> {
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

pub(super) fn user_team_rows(scope: &Scope, day: NaiveDate) -> Vec<Value> {
    let mut members = vec![0u64; TEAMS.len()];
    for i in scope_users(scope) {
        for t in teams_of(i) {
            members[t] += 1;
        }
    }
    let mut rows = Vec::new();
    for i in scope_users(scope) {
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

/// Seats never used: the same two people in every scope.
const UNUSED_SEATS: u64 = 2;

/// Distinct seat holders of `scope`: its users and the unused seats.
pub(super) fn distinct_seats(scope: &Scope) -> u64 {
    scope_users(scope).count() as u64 + UNUSED_SEATS
}

/// Whether user `i` is on call on `day`: every third user is on the rota,
/// one in eight of them a day (so each organization has one on call every
/// day, weekends too); whoever is on call is active and uses the CLI.
pub(super) fn on_call(i: u64, day: NaiveDate) -> bool {
    i % 3 == 0 && (i / 3) % 8 == day.num_days_from_ce().unsigned_abs() as u64 % 8
}

/// Whether user `i` is active on `day`: each user has their own habit
/// (from rarely to nearly every workday), few work at weekends, and
/// whoever is [`on_call`] is active.
pub(super) fn is_active(i: u64, day: NaiveDate) -> bool {
    if on_call(i, day) {
        return true;
    }
    let rate = [3, 12, 40, 65, 90][(seed(&format!("rate/{i}")) % 5) as usize];
    let rate = if day.weekday().number_from_monday() >= 6 {
        rate / 3
    } else {
        rate
    };
    Rng::new(seed(&format!("active/{i}/{day}"))).below(100) < rate
}

/// Days since user `i` was last active, looking back from `newest` (at
/// most 120 days; `None`: not in that time).
fn days_since_active(i: u64, newest: NaiveDate) -> Option<i64> {
    (0..120).find(|&d| is_active(i, newest - Duration::days(d)))
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

/// The seat list: every user of the scope plus two never-used seats;
/// enterprise lists repeat the first five users (granted by a second
/// organization). A seat's last activity is its user's last active day up
/// to `newest`, the newest report day.
pub(super) fn seat_list(scope: &Scope, newest: NaiveDate) -> Vec<Value> {
    let now = Utc::now();
    let lag = (now.date_naive() - newest).num_days();
    let users = scope_users(scope);
    let holders = users
        .clone()
        .chain(ENTERPRISE_USERS..ENTERPRISE_USERS + UNUSED_SEATS);
    let plan = if scope.kind == ScopeKind::Enterprise {
        "enterprise"
    } else {
        "business"
    };
    let mut seats: Vec<Value> = holders
        .map(|i| {
            let days_ago = users
                .contains(&i)
                .then(|| days_since_active(i, newest))
                .flatten();
            let used = days_ago.is_some();
            let days_ago = days_ago.unwrap_or(0) + lag;
            let editor = IDES[(i % IDES.len() as u64) as usize];
            json!({
                "created_at": "2025-01-06T09:00:00Z",
                "pending_cancellation_date": null,
                "last_activity_at": if used { json!((now - Duration::days(days_ago)).to_rfc3339()) } else { Value::Null },
                "last_activity_editor": if used { json!(format!("{editor}/1.99.0/copilot/1.300.0")) } else { Value::Null },
                "plan_type": if i % 9 == 8 { Value::Null } else { json!(plan) },
                "assignee": {"login": if users.contains(&i) { login(i) } else { format!("demo-new-{i}") }, "id": 5000 + i, "type": "User"},
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

pub(super) fn seed(text: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A small deterministic generator (xorshift64*).
pub(super) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
