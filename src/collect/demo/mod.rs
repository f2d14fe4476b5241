//! Built-in sample reports for `--demo`: the same NDJSON GitHub serves, made
//! up deterministically, so the whole pipeline runs without a token. This
//! module is the [`ReportSource`] (reports fed through the same reader as a
//! download); `data.rs` makes up the rows and seat lists, `api.rs` answers
//! the JSON API (report envelopes, billing, seat pages).

mod api;
mod data;
#[cfg(test)]
mod tests;

pub use data::day_totals;

use chrono::{Duration, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::source::{ApiTarget, JsonPage, ReportSource};
use crate::github::reading::{read_bytes, RowSink};
use crate::github::reports::{ReportKind, ReportOutcome};
use crate::github::{FailureKind, GithubError};
use crate::model::scope::Scope;
use data::{id_field, repo_rows, scope_id, user_rows, user_team_rows};

/// Seats per demo seat-list page (small, so pagination is exercised).
pub const DEMO_SEAT_PAGE: usize = 10;
/// Base of the demo's pagination links (never contacted).
pub const DEMO_API_BASE: &str = "https://demo.invalid";

/// Serves made-up reports; the newest day is two days before today, as on
/// GitHub, where reports lag.
#[derive(Clone, Debug)]
pub struct DemoSource {
    newest_day: NaiveDate,
}

impl Default for DemoSource {
    fn default() -> Self {
        Self::new(Utc::now().date_naive() - Duration::days(2))
    }
}

impl DemoSource {
    /// A source whose 28-day report ends on `newest_day`.
    pub fn new(newest_day: NaiveDate) -> Self {
        DemoSource { newest_day }
    }

    /// The newest day with data.
    pub fn newest_day(&self) -> NaiveDate {
        self.newest_day
    }

    /// The report as NDJSON text (`None`: no report for that day).
    pub fn report_text(
        &self,
        scope: &Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
    ) -> Option<String> {
        let rows: Vec<Value> = match (kind, day) {
            (ReportKind::Entity28Day, _) => {
                let start = self.newest_day - Duration::days(27);
                let days: Vec<Value> = (0..28)
                    .map(|i| day_totals(scope, start + Duration::days(i)))
                    .collect();
                let mut row = json!({
                    "day_totals": days,
                    "report_start_day": start.to_string(),
                    "report_end_day": self.newest_day.to_string(),
                    "etl_id": "demo",
                });
                row[id_field(scope)] = json!(scope_id(scope));
                vec![row]
            }
            (ReportKind::Entity1Day, Some(day)) if day <= self.newest_day => {
                vec![day_totals(scope, day)]
            }
            (ReportKind::Users1Day, Some(day)) if day <= self.newest_day => user_rows(scope, day),
            (ReportKind::UserTeams1Day, Some(day)) if day <= self.newest_day => {
                user_team_rows(scope, day)
            }
            (ReportKind::Repos1Day, Some(day)) if day <= self.newest_day => repo_rows(scope, day),
            _ => return None,
        };
        let mut text = String::new();
        for row in rows {
            text.push_str(&row.to_string());
            text.push('\n');
        }
        Some(text)
    }

    /// Feeds the report's rows to `sink` through the same reader and rules
    /// as a download.
    pub fn feed_report(
        &self,
        scope: &Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        sink: &mut dyn RowSink,
    ) -> Result<ReportOutcome, GithubError> {
        let Some(text) = self.report_text(scope, kind, day) else {
            return Ok(ReportOutcome::NoReport);
        };
        let what = format!("demo/{}", kind.name(scope.kind));
        let tally = read_bytes(&what, text.as_bytes(), usize::MAX / 2, sink)?;
        tally
            .check_threshold()
            .map_err(|message| GithubError::new(what, FailureKind::InvalidReport, None, message))?;
        Ok(ReportOutcome::Delivered {
            tally,
            end_day: Some(day.unwrap_or(self.newest_day)),
        })
    }
}
impl ReportSource for DemoSource {
    fn fetch_report<'a>(
        &'a self,
        scope: &'a Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        _max_report_bytes: u64,
        sink: &'a mut dyn RowSink,
    ) -> BoxFuture<'a, Result<ReportOutcome, GithubError>> {
        Box::pin(async move { self.feed_report(scope, kind, day, sink) })
    }

    fn get_json_page<'a>(
        &'a self,
        target: ApiTarget<'a>,
    ) -> BoxFuture<'a, Result<JsonPage, GithubError>> {
        Box::pin(async move { self.api(target) })
    }
}
