//! The demo's JSON API: report envelopes (for `--check`), organization
//! billing and the paginated seat lists.

use serde_json::{json, Value};
use url::Url;

use super::data::{billing, distinct_seats, seat_list};
use super::{DemoSource, DEMO_API_BASE, DEMO_SEAT_PAGE};
use crate::collect::source::{ApiTarget, JsonPage};
use crate::github::{FailureKind, GithubError};
use crate::model::scope::{Scope, ScopeKind};

impl DemoSource {
    /// Answers the JSON API endpoints the collector uses: organization
    /// billing, the paginated seat lists (pages of [`DEMO_SEAT_PAGE`],
    /// `next` links under [`DEMO_API_BASE`]) and report envelopes (for
    /// `--check`). Anything else is a 404.
    pub fn api(&self, target: ApiTarget<'_>) -> Result<JsonPage, GithubError> {
        let (path, page) = match target {
            ApiTarget::Path(p) => {
                let (path, query) = p.split_once('?').unwrap_or((p, ""));
                let page = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("page="))
                    .and_then(|v| v.parse().ok());
                (path.to_string(), page)
            }
            ApiTarget::Url(u) => (
                u.path().to_string(),
                u.query_pairs()
                    .find(|(k, _)| k == "page")
                    .and_then(|(_, v)| v.parse().ok()),
            ),
        };
        let not_found = || GithubError {
            what: path.clone(),
            kind: FailureKind::NotFound,
            status: Some(404),
            message: "Not Found (demo)".into(),
            retry_after: None,
        };
        let mut parts = path.trim_start_matches('/').splitn(3, '/');
        let scope = match (parts.next(), parts.next()) {
            (Some("orgs"), Some(name)) => Scope::org(name),
            (Some("enterprises"), Some(name)) => Scope::enterprise(name),
            _ => return Err(not_found()),
        };
        match parts.next() {
            Some(rest) if rest.starts_with("copilot/metrics/reports/") => Ok(JsonPage {
                body: Some(json!({
                    "download_links": [format!("{DEMO_API_BASE}/demo-report.ndjson")],
                    "report_day": self.newest_day.to_string(),
                })),
                next: None,
            }),
            Some("copilot/billing") if scope.kind == ScopeKind::Organization => Ok(JsonPage {
                body: Some(billing(&scope)),
                next: None,
            }),
            Some("copilot/billing/seats") => {
                let seats = seat_list(&scope);
                let page: usize = page.unwrap_or(1).max(1);
                let start = (page - 1) * DEMO_SEAT_PAGE;
                let chunk: Vec<Value> = seats
                    .iter()
                    .skip(start)
                    .take(DEMO_SEAT_PAGE)
                    .cloned()
                    .collect();
                let next = (start + DEMO_SEAT_PAGE < seats.len())
                    .then(|| {
                        Url::parse(&format!(
                            "{DEMO_API_BASE}{path}?per_page={DEMO_SEAT_PAGE}&page={}",
                            page + 1
                        ))
                        .ok()
                    })
                    .flatten();
                Ok(JsonPage {
                    body: Some(json!({"total_seats": distinct_seats(&scope), "seats": chunk})),
                    next,
                })
            }
            _ => Err(not_found()),
        }
    }
}
