//! The demo's entity reports, derived from its users and repositories: a
//! day's totals and breakdowns are sums over the users active that day,
//! active-user counts are distinct users in the day/7-day/28-day window,
//! and `pull_requests` sums the scope's repositories.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use super::data::{id_field, repos, scope_id, scope_users, seed, Rng, REPOS};
use super::users::{activity_json, user_day, Cell, Cli, UserDay};
use crate::model::scope::Scope;

/// Days of the monthly-active window (as the 28-day report).
const MONTH: i64 = 28;
/// Days of the weekly-active window.
const WEEK: i64 = 7;
/// Comment types of Copilot review suggestions.
pub(super) const COMMENT_TYPES: [&str; 2] = ["nit", "bug"];

/// The scope's users' activity on every day of a range, computed once.
pub(super) struct History(BTreeMap<NaiveDate, Vec<UserDay>>);

impl History {
    /// Activity from `MONTH - 1` days before `first` through `last`, so
    /// every day in `first..=last` has its whole monthly window.
    pub fn new(scope: &Scope, first: NaiveDate, last: NaiveDate) -> Self {
        let mut days = BTreeMap::new();
        let mut day = first - Duration::days(MONTH - 1);
        while day <= last {
            let users = scope_users(scope)
                .filter_map(|i| user_day(i, day))
                .collect();
            days.insert(day, users);
            day += Duration::days(1);
        }
        History(days)
    }

    /// The users active on `day`.
    pub fn on(&self, day: NaiveDate) -> &[UserDay] {
        self.0.get(&day).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Distinct users in the `len` days ending on `day` for whom `pred` holds.
    fn distinct(&self, day: NaiveDate, len: i64, pred: impl Fn(&UserDay) -> bool) -> u64 {
        let from = day - Duration::days(len - 1);
        let users: BTreeSet<u64> = self
            .0
            .range(from..=day)
            .flat_map(|(_, us)| us.iter().filter(|u| pred(u)).map(|u| u.user))
            .collect();
        users.len() as u64
    }
}

/// One `day_totals` element (or 1-day row) for `scope` on `day`.
pub fn day_totals(scope: &Scope, day: NaiveDate) -> Value {
    day_totals_from(scope, day, &History::new(scope, day, day))
}

/// `day_totals` of `day`, from `history` (which must cover its window).
pub(super) fn day_totals_from(scope: &Scope, day: NaiveDate, history: &History) -> Value {
    let users = history.on(day);
    let cells: Vec<&Cell> = users.iter().flat_map(|u| &u.cells).collect();
    let mut cli = Cli::default();
    for c in users.iter().filter_map(|u| u.cli.as_ref()) {
        cli.add(c);
    }
    let count = |pred: fn(&UserDay) -> bool| users.iter().filter(|u| pred(u)).count() as u64;
    let mut totals = Value::Object(activity_json(&cells));
    let fields = json!({
        "day": day.to_string(),
        "daily_active_users": users.len(),
        "weekly_active_users": history.distinct(day, WEEK, |_| true),
        "monthly_active_users": history.distinct(day, MONTH, |_| true),
        "monthly_active_chat_users": history.distinct(day, MONTH, UserDay::used_chat),
        "monthly_active_agent_users": history.distinct(day, MONTH, UserDay::used_agent),
        "daily_active_cli_users": count(|u| u.cli.is_some()),
        "daily_active_copilot_code_review_users": count(|u| u.code_review),
        "daily_active_copilot_cloud_agent_users": null,
        "pull_requests": pull_requests(scope, day),
        "totals_by_cli": cli.json(),
    });
    for (k, v) in fields.as_object().into_iter().flatten() {
        totals[k] = v.clone();
    }
    totals[id_field(scope)] = json!(scope_id(scope));
    totals
}

/// A repository's pull requests on a day; every count that is a subset of
/// another (by Copilot, merged, applied) stays within it.
#[derive(Clone, Debug, Default)]
pub(super) struct Prs {
    pub created: u64,
    pub reviewed: u64,
    pub merged: u64,
    pub created_by_copilot: u64,
    pub reviewed_by_copilot: u64,
    pub merged_created_by_copilot: u64,
    pub merged_reviewed_by_copilot: u64,
    pub suggestions: u64,
    pub applied: u64,
    /// Copilot review suggestions and applied ones, by [`COMMENT_TYPES`].
    pub copilot: [(u64, u64); 2],
    pub median_merge: f64,
    pub median_copilot_authored: f64,
    pub median_copilot_reviewed: f64,
}

/// Repository `r`'s pull requests on `day` (`None`: no activity).
pub(super) fn repo_prs(r: usize, day: NaiveDate) -> Option<Prs> {
    let mut rng = Rng::new(seed(&format!("repo/{r}/{day}")));
    if rng.below(6) == 0 {
        return None;
    }
    let created = 1 + rng.below(12);
    let reviewed = created - rng.below(2).min(created - 1);
    let merged = (created * 2).div_ceil(3);
    let created_by_copilot = 1 + rng.below(created.min(3));
    let reviewed_by_copilot = 1 + rng.below(reviewed);
    let nit = rng.below(6);
    let bug = rng.below(4);
    let copilot = [(nit, rng.below(nit + 1)), (bug, rng.below(bug + 1))];
    let human = rng.below(20);
    let human_applied = rng.below(human + 1);
    Some(Prs {
        created,
        reviewed,
        merged,
        created_by_copilot,
        reviewed_by_copilot,
        merged_created_by_copilot: 1 + rng.below(created_by_copilot.min(merged)),
        merged_reviewed_by_copilot: 1 + rng.below(reviewed_by_copilot.min(merged)),
        suggestions: human + nit + bug,
        applied: human_applied + copilot[0].1 + copilot[1].1,
        copilot,
        median_merge: 20.0 + rng.below(400) as f64,
        median_copilot_authored: 20.0 + rng.below(200) as f64,
        median_copilot_reviewed: 25.0 + rng.below(200) as f64,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// The scope's `pull_requests`: counts summed over its repositories;
/// medians (not additive) the median of the repositories' medians.
fn pull_requests(scope: &Scope, day: NaiveDate) -> Value {
    let prs: Vec<Prs> = repos(scope).filter_map(|r| repo_prs(r, day)).collect();
    let sum = |f: fn(&Prs) -> u64| prs.iter().map(f).sum::<u64>();
    let by_type: Vec<Value> = COMMENT_TYPES
        .iter()
        .enumerate()
        .map(|(t, kind)| {
            json!({"comment_type": kind,
                "total_copilot_suggestions": prs.iter().map(|p| p.copilot[t].0).sum::<u64>(),
                "total_copilot_applied_suggestions": prs.iter().map(|p| p.copilot[t].1).sum::<u64>()})
        })
        .collect();
    let mut out = json!({
        "total_created": sum(|p| p.created),
        "total_reviewed": sum(|p| p.reviewed),
        "total_merged": sum(|p| p.merged),
        "total_suggestions": sum(|p| p.suggestions),
        "total_applied_suggestions": sum(|p| p.applied),
        "total_created_by_copilot": sum(|p| p.created_by_copilot),
        "total_reviewed_by_copilot": sum(|p| p.reviewed_by_copilot),
        "total_merged_created_by_copilot": sum(|p| p.merged_created_by_copilot),
        "total_merged_reviewed_by_copilot": sum(|p| p.merged_reviewed_by_copilot),
        "total_copilot_suggestions": sum(|p| p.copilot[0].0 + p.copilot[1].0),
        "total_copilot_applied_suggestions": sum(|p| p.copilot[0].1 + p.copilot[1].1),
        "copilot_suggestions_by_comment_type": by_type,
    });
    if !prs.is_empty() {
        out["median_minutes_to_merge"] =
            json!(median(prs.iter().map(|p| p.median_merge).collect()));
        out["median_minutes_to_merge_copilot_authored"] = json!(median(
            prs.iter().map(|p| p.median_copilot_authored).collect()
        ));
        out["median_minutes_to_merge_copilot_reviewed"] = json!(median(
            prs.iter().map(|p| p.median_copilot_reviewed).collect()
        ));
    }
    out
}

/// The repositories-1-day rows of `scope` on `day`.
pub(super) fn repo_rows(scope: &Scope, day: NaiveDate) -> Vec<Value> {
    repos(scope)
        .filter_map(|r| repo_prs(r, day).map(|p| (r, p)))
        .map(|(r, p)| {
            let mut rng = Rng::new(seed(&format!("review/{r}/{day}")));
            let mut row = json!({
                "day": day.to_string(),
                "repo_id": 9000 + r,
                "repo_owner_name": scope.name,
                "repo_name": REPOS[r],
                "repo_visibility": if r % 2 == 0 { "PRIVATE" } else { "INTERNAL" },
                "pull_requests": {
                    "total_created": p.created, "total_reviewed": p.reviewed, "total_merged": p.merged,
                    "median_minutes_to_merge": p.median_merge,
                    "total_created_by_copilot": p.created_by_copilot, "total_reviewed_by_copilot": p.reviewed_by_copilot,
                    "total_suggestions": p.suggestions, "total_applied_suggestions": p.applied
                },
                "pull_request_review_times": [{
                    "authored_by": "human", "reviewed_by": "human", "total_merged": p.merged,
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
