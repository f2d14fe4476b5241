//! The demo: deterministic, day-keyed, GitHub-shaped.

use super::data::user_team_rows;
use super::*;

#[test]
fn deterministic_and_day_keyed() {
    let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    let a = day_totals(&Scope::org("x"), day);
    assert_eq!(a, day_totals(&Scope::org("x"), day));
    assert_ne!(a, day_totals(&Scope::org("x"), day.succ_opt().unwrap()));
    assert_eq!(a["day"], "2026-01-05");
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
    let rows = user_team_rows(&Scope::org("x"), day);
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
    assert_eq!(seen, 48 + 2 + 5);
    assert!(demo
        .api(ApiTarget::Path("/enterprises/e/copilot/billing"))
        .is_err());
    assert!(demo
        .api(ApiTarget::Path("/orgs/o/copilot/billing"))
        .unwrap()
        .body
        .is_some());
}
