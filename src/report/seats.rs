//! Seat and billing metrics (current values, no report day):
//! `GET /orgs/{org}/copilot/billing` and the paginated seat lists of
//! organizations and enterprises.
//!
//! Enterprise seat lists repeat a user once per granting organization or
//! team: each assignee is counted once, identified by its type and id
//! (`assignee.type`, `assignee.id`: a team-typed assignee with the same id
//! as a user is another assignee). A seat without a
//! recorded activity counts as idle in every window. Nothing here does I/O;
//! `now` is a parameter.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{Labels, SampleSet, SeriesKey};

/// Idle windows: label value and length in days.
pub const IDLE_WINDOWS: [(&str, i64); 3] = [("7d", 7), ("30d", 30), ("90d", 90)];

/// The `seat_breakdown` fields of `/copilot/billing` and their metric names.
pub const BILLING_FIELDS: [(&str, &str, &str); 6] = [
    ("total", "copilot_seats", "Copilot seats billed this cycle (billing seat_breakdown.total; enterprises: distinct assignees of the seat list)."),
    ("active_this_cycle", "copilot_seats_active_this_cycle", "Seats that used Copilot this billing cycle."),
    ("inactive_this_cycle", "copilot_seats_inactive_this_cycle", "Seats that did not use Copilot this billing cycle."),
    ("added_this_cycle", "copilot_seats_added_this_cycle", "Seats added this billing cycle."),
    ("pending_cancellation", "copilot_seats_pending_cancellation", "Seats pending cancellation at the end of the cycle."),
    ("pending_invitation", "copilot_seats_pending_invitation", "Seats waiting for an accepted organization invitation."),
];

/// Adds the billing breakdown of an organization. Missing fields produce
/// nothing; an answer without `seat_breakdown` is an error.
pub fn billing_samples(
    scope_labels: &Labels,
    billing: &Value,
    out: &mut SampleSet,
) -> Result<usize, String> {
    let breakdown = billing
        .get("seat_breakdown")
        .and_then(Value::as_object)
        .ok_or("no `seat_breakdown` object in the billing answer")?;
    let mut added = 0;
    for (field, metric, help) in BILLING_FIELDS {
        if let Some(v) = breakdown
            .get(field)
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite())
        {
            out.set(SeriesKey::new(metric, scope_labels.clone()), v, help);
            added += 1;
        }
    }
    Ok(added)
}

#[derive(Debug, Clone)]
struct SeatSummary {
    plan: String,
    editor: String,
    last_activity: Option<DateTime<Utc>>,
}

/// Folds seat-list pages into per-plan, per-editor and idle counts.
#[derive(Debug, Default)]
pub struct SeatStats {
    dedupe: bool,
    /// (lower-case `assignee.type`, `assignee.id`) → index into `seats`.
    by_assignee: HashMap<(String, u64), usize>,
    seats: Vec<SeatSummary>,
    invalid: u64,
}

impl SeatStats {
    /// A fold; `dedupe` counts each assignee (type and id) once
    /// (enterprise lists).
    pub fn new(dedupe: bool) -> Self {
        SeatStats {
            dedupe,
            ..Default::default()
        }
    }

    /// Seats counted so far (after de-duplication).
    pub fn seats(&self) -> usize {
        self.seats.len()
    }

    /// Seat elements that were not objects.
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Takes one page (`{total_seats, seats: [...]}`); returns the number of
    /// seat elements on it. A page without a `seats` array is an error.
    pub fn add_page(&mut self, page: &Value) -> Result<usize, String> {
        let seats = page
            .get("seats")
            .and_then(Value::as_array)
            .ok_or("no `seats` array in the seat list answer")?;
        for seat in seats {
            self.add_seat(seat);
        }
        Ok(seats.len())
    }

    fn add_seat(&mut self, seat: &Value) {
        if !seat.is_object() {
            self.invalid += 1;
            return;
        }
        let plan = seat
            .get("plan_type")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string();
        let editor = seat
            .get("last_activity_editor")
            .and_then(Value::as_str)
            .and_then(|e| e.split('/').next())
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .unwrap_or("none")
            .to_string();
        let last_activity = seat
            .get("last_activity_at")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let summary = SeatSummary {
            plan,
            editor,
            last_activity,
        };
        let assignee = seat.get("assignee").and_then(|a| {
            let id = a.get("id").and_then(Value::as_u64)?;
            let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
            Some((kind.to_ascii_lowercase(), id))
        });
        match (self.dedupe, assignee) {
            (true, Some(key)) => match self.by_assignee.get(&key) {
                Some(&i) => merge(&mut self.seats[i], summary),
                None => {
                    self.by_assignee.insert(key, self.seats.len());
                    self.seats.push(summary);
                }
            },
            _ => self.seats.push(summary),
        }
    }

    /// Writes `copilot_seats_by_plan_type`, `copilot_seats_by_editor`,
    /// `copilot_seats_idle{window}` and, with `with_total`, `copilot_seats`
    /// (the distinct count: enterprises, which have no billing breakdown).
    pub fn finish(
        &self,
        scope_labels: &Labels,
        now: DateTime<Utc>,
        with_total: bool,
        out: &mut SampleSet,
    ) {
        if with_total {
            out.set(
                SeriesKey::new("copilot_seats", scope_labels.clone()),
                self.seats.len() as f64,
                BILLING_FIELDS[0].2,
            );
        }
        let mut plans: BTreeMap<&str, u64> = BTreeMap::new();
        let mut editors: BTreeMap<&str, u64> = BTreeMap::new();
        for seat in &self.seats {
            *plans.entry(&seat.plan).or_default() += 1;
            *editors.entry(&seat.editor).or_default() += 1;
        }
        let with = |name: &str, value: &str| {
            let mut labels = scope_labels.clone();
            labels.push((name.to_string(), value.to_string()));
            labels
        };
        for (plan, n) in plans {
            out.set(
                SeriesKey::new("copilot_seats_by_plan_type", with("plan_type", plan)),
                n as f64,
                "Copilot seats by plan type (seat list; `unknown` when not given).",
            );
        }
        for (editor, n) in editors {
            out.set(
                SeriesKey::new("copilot_seats_by_editor", with("editor", editor)),
                n as f64,
                "Copilot seats by the editor of their last activity (first segment of last_activity_editor; `none` when never used).",
            );
        }
        for (window, days) in IDLE_WINDOWS {
            let cutoff = now - chrono::Duration::days(days);
            let idle = self
                .seats
                .iter()
                .filter(|s| s.last_activity.is_none_or(|t| t < cutoff))
                .count();
            out.set(
                SeriesKey::new("copilot_seats_idle", with("window", window)),
                idle as f64,
                "Copilot seats without activity in the window (a seat never used counts as idle).",
            );
        }
    }
}

/// Two grants of one assignee: keep the latest activity and its editor,
/// and a known plan over `unknown`.
fn merge(kept: &mut SeatSummary, other: SeatSummary) {
    if other.last_activity > kept.last_activity {
        kept.last_activity = other.last_activity;
        kept.editor = other.editor;
    }
    if kept.plan == "unknown" && other.plan != "unknown" {
        kept.plan = other.plan;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn org() -> Labels {
        vec![("org".into(), "octo".into())]
    }

    #[test]
    fn billing_fixture() {
        let billing: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/github/copilot-billing.json"
        ))
        .unwrap();
        let mut out = SampleSet::new();
        assert_eq!(billing_samples(&org(), &billing, &mut out).unwrap(), 6);
        assert_eq!(out.value("copilot_seats", &[("org", "octo")]), Some(12.0));
        assert_eq!(
            out.value("copilot_seats_inactive_this_cycle", &[("org", "octo")]),
            Some(11.0)
        );
        assert!(billing_samples(&org(), &json!({"plan_type": "business"}), &mut out).is_err());
    }

    #[test]
    fn seat_fixture_plans_editors_and_idle() {
        let page: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/github/copilot-billing-seats.json"
        ))
        .unwrap();
        let mut stats = SeatStats::new(false);
        assert_eq!(stats.add_page(&page).unwrap(), 2);
        let now = DateTime::parse_from_rfc3339("2021-10-20T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut out = SampleSet::new();
        stats.finish(&org(), now, false, &mut out);
        assert_eq!(
            out.value(
                "copilot_seats_by_plan_type",
                &[("org", "octo"), ("plan_type", "business")]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value(
                "copilot_seats_by_plan_type",
                &[("org", "octo"), ("plan_type", "unknown")]
            ),
            Some(1.0)
        );
        assert_eq!(
            out.value(
                "copilot_seats_by_editor",
                &[("org", "octo"), ("editor", "vscode")]
            ),
            Some(2.0)
        );
        assert_eq!(
            out.value("copilot_seats_idle", &[("org", "octo"), ("window", "7d")]),
            Some(0.0)
        );
        assert_eq!(out.value("copilot_seats", &[("org", "octo")]), None);
    }

    #[test]
    fn idle_windows_and_never_used_seats() {
        let now = Utc::now();
        let ago = |d: i64| (now - chrono::Duration::days(d)).to_rfc3339();
        let page = json!({"seats": [
            {"assignee": {"id": 1}, "last_activity_at": ago(1), "last_activity_editor": "jetbrains/2024"},
            {"assignee": {"id": 2}, "last_activity_at": ago(10)},
            {"assignee": {"id": 3}, "last_activity_at": ago(45), "last_activity_editor": ""},
            {"assignee": {"id": 4}, "last_activity_at": ago(200)},
            {"assignee": {"id": 5}, "last_activity_at": null},
            {"assignee": {"id": 6}, "last_activity_at": "not a time"},
            "not a seat"
        ]});
        let mut stats = SeatStats::new(false);
        stats.add_page(&page).unwrap();
        assert_eq!(stats.invalid(), 1);
        let mut out = SampleSet::new();
        stats.finish(&org(), now, true, &mut out);
        let idle = |w: &str| out.value("copilot_seats_idle", &[("org", "octo"), ("window", w)]);
        assert_eq!(idle("7d"), Some(5.0));
        assert_eq!(idle("30d"), Some(4.0));
        assert_eq!(idle("90d"), Some(3.0));
        assert_eq!(out.value("copilot_seats", &[("org", "octo")]), Some(6.0));
        assert_eq!(
            out.value(
                "copilot_seats_by_editor",
                &[("org", "octo"), ("editor", "none")]
            ),
            Some(5.0)
        );
        assert!(stats.add_page(&json!({"total_seats": 1})).is_err());
    }

    /// The assignee is its type and id: a team-typed seat whose id is also
    /// a user's is another assignee; the same user granted twice is one.
    #[test]
    fn assignees_are_keyed_by_type_and_id() {
        let mut stats = SeatStats::new(true);
        stats
            .add_page(&json!({"seats": [
                {"assignee": {"id": 7, "login": "octocat", "type": "User"}, "plan_type": "business"},
                {"assignee": {"id": 7, "slug": "platform", "type": "Team"}, "plan_type": "business"},
                {"assignee": {"id": 7, "login": "octocat", "type": "user"}, "plan_type": "business"},
                {"assignee": {"id": 8, "type": "Team"}},
            ]}))
            .unwrap();
        assert_eq!(stats.seats(), 3);
        let mut out = SampleSet::new();
        stats.finish(&org(), Utc::now(), true, &mut out);
        assert_eq!(out.value("copilot_seats", &[("org", "octo")]), Some(3.0));
    }

    #[test]
    fn enterprise_lists_count_each_assignee_once() {
        let now = Utc::now();
        let recent = (now - chrono::Duration::days(2)).to_rfc3339();
        let old = (now - chrono::Duration::days(60)).to_rfc3339();
        let mut stats = SeatStats::new(true);
        stats
            .add_page(&json!({"seats": [
                {"assignee": {"id": 1}, "last_activity_at": old, "last_activity_editor": "vim/9", "organization": {"login": "a"}},
                {"assignee": {"id": 2}, "plan_type": "enterprise"},
            ]}))
            .unwrap();
        stats
            .add_page(&json!({"seats": [
                {"assignee": {"id": 1}, "plan_type": "business", "last_activity_at": recent, "last_activity_editor": "vscode/1", "organization": {"login": "b"}},
                {"assignee": null},
            ]}))
            .unwrap();
        assert_eq!(stats.seats(), 3);
        let mut out = SampleSet::new();
        stats.finish(
            &vec![("enterprise".into(), "e".into())],
            now,
            true,
            &mut out,
        );
        let e =
            |n: &str, v: &str| out.value("copilot_seats_by_editor", &[("enterprise", "e"), (n, v)]);
        assert_eq!(
            out.value("copilot_seats", &[("enterprise", "e")]),
            Some(3.0)
        );
        assert_eq!(e("editor", "vscode"), Some(1.0), "the latest activity wins");
        assert_eq!(e("editor", "vim"), None);
        assert_eq!(
            out.value(
                "copilot_seats_idle",
                &[("enterprise", "e"), ("window", "7d")]
            ),
            Some(2.0)
        );
        assert_eq!(
            out.value(
                "copilot_seats_by_plan_type",
                &[("enterprise", "e"), ("plan_type", "business")]
            ),
            Some(1.0)
        );
    }
}
