//! The demo: deterministic, day-keyed, GitHub-shaped, and consistent with
//! itself the way GitHub's reports are.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::data::user_team_rows;
use super::users::FIELDS;
use super::*;
use crate::collect::{CollectRequest, Collector, Features};
use crate::selfmetrics::SelfMetrics;

/// A Saturday (a weekend newest day, the case that once broke WAU/MAU).
fn saturday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn rows(demo: &DemoSource, s: &Scope, kind: ReportKind, day: Option<NaiveDate>) -> Vec<Value> {
    demo.report_text(s, kind, day)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The 28 `day_totals` of the scope's 28-day report, oldest first.
fn days28(demo: &DemoSource, s: &Scope) -> Vec<Value> {
    let report = rows(demo, s, ReportKind::Entity28Day, None);
    report[0]["day_totals"].as_array().unwrap().clone()
}

fn int(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} missing in {v}"))
}

/// Every integer in `v` by path; array elements are keyed by their
/// string fields (their labels), so breakdowns line up across scopes.
fn counts(v: &Value, path: &str, out: &mut BTreeMap<String, u64>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if !k.ends_with("_id") {
                    counts(x, &format!("{path}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                let key: Vec<String> = x
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| v.as_str().map(|s| format!("{k}={s}")))
                    .collect();
                counts(x, &format!("{path}[{}]", key.join(",")), out);
            }
        }
        Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                out.insert(path.to_string(), n);
            }
        }
        _ => {}
    }
}

#[test]
fn deterministic_and_day_keyed() {
    let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let a = day_totals(&Scope::org("x"), day);
    assert_eq!(a, day_totals(&Scope::org("x"), day));
    assert_ne!(a, day_totals(&Scope::org("x"), day.succ_opt().unwrap()));
    assert_eq!(a["day"], "2026-01-05");
    // The 1-day row is the 28-day report's element for that day.
    let demo = DemoSource::new(day);
    assert_eq!(days28(&demo, &Scope::org("x"))[27], a);
}

/// Every breakdown of `v` sums to `v`'s total, for every additive field.
fn assert_breakdowns_add_up(v: &Value, what: &str) {
    for by in [
        "totals_by_ide",
        "totals_by_feature",
        "totals_by_language_feature",
        "totals_by_language_model",
        "totals_by_model_feature",
    ] {
        let parts = v[by].as_array().unwrap();
        assert!(!parts.is_empty(), "{what}: {by} empty");
        for field in FIELDS {
            let sum: u64 = parts.iter().map(|p| int(p, field)).sum();
            assert_eq!(sum, int(v, field), "{what}: {by} {field}");
        }
    }
}

/// Calls `f` with every day of the 28-day reports of an organization and
/// the enterprise (the newest day a Saturday).
fn for_each_day(mut f: impl FnMut(&DemoSource, &Scope, NaiveDate, &Value)) {
    let demo = DemoSource::new(saturday());
    for s in [
        Scope::org("octo-demo"),
        Scope::enterprise("octo-enterprise"),
    ] {
        for day_totals in days28(&demo, &s) {
            let day = NaiveDate::parse_from_str(day_totals["day"].as_str().unwrap(), "%Y-%m-%d");
            f(&demo, &s, day.unwrap(), &day_totals);
        }
    }
}

#[test]
fn every_breakdown_sums_to_its_total_and_totals_sum_the_users() {
    for_each_day(|demo, s, day, day_totals| {
        let what = format!("{} {day}", s.name);
        assert_breakdowns_add_up(day_totals, &what);
        let users = rows(demo, s, ReportKind::Users1Day, Some(day));
        for u in &users {
            assert_breakdowns_add_up(u, &format!("{what} {}", u["user_login"]));
        }
        assert_eq!(int(day_totals, "daily_active_users"), users.len() as u64);
        for field in FIELDS {
            let sum: u64 = users.iter().map(|u| int(u, field)).sum();
            assert_eq!(sum, int(day_totals, field), "{what}: {field}");
        }
        let cli = &day_totals["totals_by_cli"];
        for field in ["session_count", "request_count", "prompt_count"] {
            let sum: u64 = users
                .iter()
                .filter_map(|u| u["totals_by_cli"][field].as_u64())
                .sum();
            assert_eq!(sum, int(cli, field), "{what}: cli {field}");
        }
        let cli_users = users.iter().filter(|u| u["used_cli"] == true).count() as u64;
        assert_eq!(
            cli_users,
            int(day_totals, "daily_active_cli_users"),
            "{what}"
        );
    });
}

#[test]
fn pull_requests_sum_the_repositories_and_subsets_stay_within() {
    for_each_day(|demo, s, day, day_totals| {
        let pr = &day_totals["pull_requests"];
        let repos = rows(demo, s, ReportKind::Repos1Day, Some(day));
        for field in [
            "total_created",
            "total_merged",
            "total_suggestions",
            "total_created_by_copilot",
        ] {
            let sum: u64 = repos.iter().map(|r| int(&r["pull_requests"], field)).sum();
            assert_eq!(sum, int(pr, field), "{} {day}: {field}", s.name);
        }
        for (part, whole) in [
            ("total_copilot_suggestions", "total_suggestions"),
            (
                "total_copilot_applied_suggestions",
                "total_applied_suggestions",
            ),
            ("total_applied_suggestions", "total_suggestions"),
            ("total_created_by_copilot", "total_created"),
            ("total_reviewed_by_copilot", "total_reviewed"),
            ("total_merged", "total_created"),
            (
                "total_merged_created_by_copilot",
                "total_created_by_copilot",
            ),
            (
                "total_merged_reviewed_by_copilot",
                "total_reviewed_by_copilot",
            ),
        ] {
            assert!(
                int(pr, part) <= int(pr, whole),
                "{} {day}: {part} > {whole}",
                s.name
            );
        }
        let by_type = pr["copilot_suggestions_by_comment_type"]
            .as_array()
            .unwrap();
        for field in [
            "total_copilot_suggestions",
            "total_copilot_applied_suggestions",
        ] {
            let sum: u64 = by_type.iter().map(|t| int(t, field)).sum();
            assert_eq!(
                sum,
                int(pr, field),
                "{} {day}: by comment type {field}",
                s.name
            );
        }
    });
}

#[test]
fn the_enterprise_covers_its_organizations() {
    let demo = DemoSource::new(saturday());
    let e = Scope::enterprise("octo-enterprise");
    let enterprise = days28(&demo, &e);
    for org in ["octo-demo", "octo-labs", "x"] {
        let o = Scope::org(org);
        for (od, ed) in days28(&demo, &o).iter().zip(&enterprise) {
            let (mut oc, mut ec) = (BTreeMap::new(), BTreeMap::new());
            counts(od, "", &mut oc);
            counts(ed, "", &mut ec);
            assert!(oc.len() > 100, "{org}: too few counts");
            for (path, v) in &oc {
                let ev = ec.get(path).copied().unwrap_or(0);
                assert!(
                    ev >= *v,
                    "{org} {}: enterprise {path} {ev} < {v}",
                    od["day"]
                );
            }
        }
        // Its users (and repositories) are enterprise users, with the same
        // activity.
        let day = Some(saturday() - Duration::days(3));
        let ours: BTreeSet<String> = rows(&demo, &e, ReportKind::Users1Day, day)
            .iter()
            .map(|u| format!("{}{}", u["user_id"], u["totals_by_ide"]))
            .collect();
        for u in rows(&demo, &o, ReportKind::Users1Day, day) {
            assert!(ours.contains(&format!("{}{}", u["user_id"], u["totals_by_ide"])));
        }
    }
}

#[test]
fn every_organization_is_inside_the_enterprise() {
    let e = Scope::enterprise("octo-enterprise");
    let (users, repos) = (data::scope_users(&e), data::repos(&e));
    let mut starts = BTreeSet::new();
    for n in 0..200 {
        let o = Scope::org(format!("org-{n}"));
        let (ou, or) = (data::scope_users(&o), data::repos(&o));
        assert!(users.start <= ou.start && ou.end <= users.end, "{ou:?}");
        assert!(repos.start <= or.start && or.end <= repos.end, "{or:?}");
        assert_eq!(ou.end - ou.start, data::ORG_USERS);
        starts.insert(ou.start);
    }
    // Not vacuous: the windows reach both ends of the enterprise.
    assert!(starts.contains(&users.start) && starts.contains(&(users.end - data::ORG_USERS)));
}

#[test]
fn active_users_are_distinct_users_of_their_window() {
    let demo = DemoSource::new(saturday());
    for s in [
        Scope::org("octo-demo"),
        Scope::enterprise("octo-enterprise"),
    ] {
        // Who was active on each day, from the users-1-day reports.
        let by_day: BTreeMap<NaiveDate, BTreeSet<u64>> = (0..55)
            .map(|d| saturday() - Duration::days(d))
            .map(|day| {
                let ids = rows(&demo, &s, ReportKind::Users1Day, Some(day))
                    .iter()
                    .map(|u| int(u, "user_id"))
                    .collect();
                (day, ids)
            })
            .collect();
        let active = |day: NaiveDate| by_day[&day].clone();
        let window = |day: NaiveDate, len: i64| -> BTreeSet<u64> {
            (0..len)
                .flat_map(|d| active(day - Duration::days(d)))
                .collect()
        };
        let days = days28(&demo, &s);
        for d in &days[21..] {
            let day = NaiveDate::parse_from_str(d["day"].as_str().unwrap(), "%Y-%m-%d").unwrap();
            let (dau, wau, mau) = (
                int(d, "daily_active_users"),
                int(d, "weekly_active_users"),
                int(d, "monthly_active_users"),
            );
            assert_eq!(wau, window(day, 7).len() as u64, "{} {day}", s.name);
            assert_eq!(mau, window(day, 28).len() as u64, "{} {day}", s.name);
            let week_max = (0..7)
                .map(|k| active(day - Duration::days(k)).len() as u64)
                .max()
                .unwrap();
            assert!(
                wau >= week_max && wau >= dau && mau >= wau,
                "{} {day}",
                s.name
            );
            for m in ["monthly_active_chat_users", "monthly_active_agent_users"] {
                assert!(int(d, m) <= mau && int(d, m) > 0, "{} {day}: {m}", s.name);
            }
        }
        // The newest day is a Saturday: fewer daily users, not fewer weekly.
        let newest = days.last().unwrap();
        let friday = &days[days.len() - 2];
        assert!(int(newest, "daily_active_users") < int(friday, "daily_active_users"));
        assert!(int(newest, "weekly_active_users") >= int(friday, "daily_active_users"));
    }
}

#[tokio::test]
async fn team_series_sum_their_members() {
    let newest = saturday() - Duration::days(1);
    let demo = DemoSource::new(newest);
    let s = Scope::org("octo-demo");
    let users: BTreeMap<u64, Value> = rows(&demo, &s, ReportKind::Users1Day, Some(newest))
        .into_iter()
        .map(|u| (int(&u, "user_id"), u))
        .collect();
    let mut members: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let scope_ids: BTreeSet<u64> = data::scope_users(&s).map(|i| 5000 + i).collect();
    for r in user_team_rows(&s, newest) {
        assert!(scope_ids.contains(&int(&r, "user_id")), "{r}");
        members
            .entry(r["slug"].as_str().unwrap().into())
            .or_default()
            .push(int(&r, "user_id"));
    }
    let features = Features {
        teams: true,
        ..Features::none()
    };
    let collector = Collector::new(Arc::new(demo), Arc::new(SelfMetrics::new()), u64::MAX)
        .with_features(features);
    let data = collector
        .collect(&s, &CollectRequest::default())
        .await
        .unwrap();
    let set = &data.days[&newest];
    assert!(members.len() >= 3, "{members:?}");
    for (team, ids) in &members {
        let labels = [("org", "octo-demo"), ("team", team.as_str())];
        let active = ids.iter().filter(|i| users.contains_key(i)).count() as f64;
        assert_eq!(
            set.value("copilot_team_daily_active_users", &labels),
            Some(active),
            "{team}"
        );
        for (field, metric) in [
            (
                "code_generation_activity_count",
                "copilot_team_code_generation_activity",
            ),
            ("loc_added_sum", "copilot_team_loc_added"),
        ] {
            let sum: u64 = ids
                .iter()
                .filter_map(|i| users.get(i))
                .map(|u| int(u, field))
                .sum();
            assert_eq!(
                set.value(metric, &labels),
                Some(sum as f64),
                "{team} {metric}"
            );
        }
    }
}

#[test]
fn no_report_after_the_newest_day() {
    let newest = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let demo = DemoSource::new(newest);
    let s = Scope::org("x");
    assert!(demo
        .report_text(&s, ReportKind::Entity1Day, newest.succ_opt())
        .is_none());
    assert!(demo
        .report_text(&s, ReportKind::Entity1Day, Some(newest))
        .is_some());
    assert_eq!(
        demo.report_text(&s, ReportKind::Entity28Day, None)
            .unwrap()
            .lines()
            .count(),
        1
    );
    for kind in [
        ReportKind::Users1Day,
        ReportKind::UserTeams1Day,
        ReportKind::Repos1Day,
    ] {
        assert!(demo
            .report_text(&s, kind, Some(newest))
            .is_some_and(|t| t.lines().count() > 3));
        assert!(demo.report_text(&s, kind, newest.succ_opt()).is_none());
    }
}

#[test]
fn small_teams_are_left_out_like_on_github() {
    let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let rows = user_team_rows(&Scope::enterprise("x"), day);
    assert!(rows.iter().all(|r| r["slug"] != "mobile"));
    assert!(rows.iter().any(|r| r["slug"] == "platform"));
}

#[test]
fn seat_pages_link_to_each_other() {
    let demo = DemoSource::new(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap());
    let first = demo
        .api(ApiTarget::Path(
            "/enterprises/e/copilot/billing/seats?per_page=100",
        ))
        .unwrap();
    let mut seen = first.body.unwrap()["seats"].as_array().unwrap().len();
    let mut next = first.next;
    while let Some(url) = next {
        let page = demo.api(ApiTarget::Url(&url)).unwrap();
        seen += page.body.unwrap()["seats"].as_array().unwrap().len();
        next = page.next;
    }
    assert_eq!(seen, data::ENTERPRISE_USERS as usize + 2 + 5);
    assert!(demo
        .api(ApiTarget::Path("/enterprises/e/copilot/billing"))
        .is_err());
    assert!(demo
        .api(ApiTarget::Path("/orgs/o/copilot/billing"))
        .unwrap()
        .body
        .is_some());
}
