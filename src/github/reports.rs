//! The usage-metrics report endpoints: envelope → signed links → NDJSON lines.

use chrono::NaiveDate;
use serde::Deserialize;
use url::Url;

use super::client::GithubClient;
use super::error::{FailureKind, GithubError};
use super::ndjson::Line;
use crate::model::scope::{Scope, ScopeKind};

/// Which report of a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// `organization-28-day/latest` / `enterprise-28-day/latest`.
    Entity28Day,
    /// `organization-1-day` / `enterprise-1-day` for one day.
    Entity1Day,
    /// `users-1-day` for one day.
    Users1Day,
    /// `user-teams-1-day` for one day.
    UserTeams1Day,
    /// `repos-1-day` for one day.
    Repos1Day,
}

impl ReportKind {
    /// True for the reports that take `?day=`.
    pub fn needs_day(self) -> bool {
        self != ReportKind::Entity28Day
    }

    /// The report's name as used in logs and the `report` label.
    pub fn name(self, scope: ScopeKind) -> &'static str {
        match (self, scope) {
            (ReportKind::Entity28Day, ScopeKind::Organization) => "organization-28-day",
            (ReportKind::Entity28Day, ScopeKind::Enterprise) => "enterprise-28-day",
            (ReportKind::Entity1Day, ScopeKind::Organization) => "organization-1-day",
            (ReportKind::Entity1Day, ScopeKind::Enterprise) => "enterprise-1-day",
            (ReportKind::Users1Day, _) => "users-1-day",
            (ReportKind::UserTeams1Day, _) => "user-teams-1-day",
            (ReportKind::Repos1Day, _) => "repos-1-day",
        }
    }

    /// The REST path (with query) of this report for `scope`.
    pub fn path(self, scope: &Scope, day: Option<NaiveDate>) -> String {
        let base = format!(
            "{}/copilot/metrics/reports/{}",
            scope.api_prefix(),
            self.name(scope.kind)
        );
        match (self, day) {
            (ReportKind::Entity28Day, _) => format!("{base}/latest"),
            (_, Some(day)) => format!("{base}?day={}", day.format("%Y-%m-%d")),
            (_, None) => base,
        }
    }
}

/// The REST answer of a report endpoint (1-day and 28-day share it).
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// Signed links to the NDJSON files; all must be read.
    pub download_links: Vec<String>,
    /// 1-day reports: the day.
    #[serde(default)]
    pub report_day: Option<NaiveDate>,
    /// 28-day reports: first day of the window.
    #[serde(default)]
    pub report_start_day: Option<NaiveDate>,
    /// 28-day reports: last day of the window.
    #[serde(default)]
    pub report_end_day: Option<NaiveDate>,
}

/// What fetching a report produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// 204: GitHub has no report for that day (not an error).
    NoReport,
    /// Every file was read.
    Delivered {
        /// Files (shards) read.
        files: usize,
        /// Bytes read.
        bytes: u64,
        /// Lines read.
        lines: u64,
        /// Last day the report covers, as the envelope says.
        end_day: Option<NaiveDate>,
    },
}

/// Fetches a report: the envelope, then every signed link in order, each line
/// to `on_line`. When a link is refused (403: expired or revoked signature),
/// a fresh envelope is requested once and the download resumes with the
/// links not read yet; a second refusal fails the report.
pub async fn fetch_report(
    client: &GithubClient,
    scope: &Scope,
    kind: ReportKind,
    day: Option<NaiveDate>,
    max_report_bytes: u64,
    on_line: &mut (dyn FnMut(Line<'_>) + Send),
) -> Result<ReportOutcome, GithubError> {
    let path = kind.path(scope, day);
    let mut done_files = 0usize;
    let mut bytes = 0u64;
    let mut lines = 0u64;
    let mut refreshed = false;
    loop {
        let Some(envelope) = client.get_json::<Envelope>(&path).await? else {
            if done_files > 0 {
                // Part of the report was read already: half a report is no
                // report, and 204 is not an answer to "fresh links, please".
                return Err(GithubError {
                    what: path,
                    kind: FailureKind::InvalidResponse,
                    status: Some(204),
                    message: "the report vanished (204) while its files were being read".into(),
                    retry_after: None,
                });
            }
            return Ok(ReportOutcome::NoReport);
        };
        let links = parse_links(&path, &envelope)?;
        if done_files > links.len() {
            return Err(GithubError {
                what: path,
                kind: FailureKind::InvalidResponse,
                status: None,
                message: "a refreshed envelope lists fewer files than the first one".into(),
                retry_after: None,
            });
        }
        let mut refused = None;
        for link in &links[done_files..] {
            match client
                .download(link, max_report_bytes.saturating_sub(bytes), on_line)
                .await
            {
                Ok(got) => {
                    done_files += 1;
                    bytes += got.bytes;
                    lines += got.lines;
                }
                Err(e) if e.kind == FailureKind::Forbidden && !refreshed => {
                    refused = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        match refused {
            None => {
                return Ok(ReportOutcome::Delivered {
                    files: done_files,
                    bytes,
                    lines,
                    end_day: envelope.report_end_day.or(envelope.report_day),
                })
            }
            Some(e) => {
                tracing::warn!(report = %path, error = %e, "download link refused; asking GitHub for fresh links once");
                refreshed = true;
            }
        }
    }
}

fn parse_links(path: &str, envelope: &Envelope) -> Result<Vec<Url>, GithubError> {
    envelope
        .download_links
        .iter()
        .map(|raw| {
            Url::parse(raw).map_err(|e| GithubError {
                what: path.to_string(),
                kind: FailureKind::InvalidResponse,
                status: None,
                message: format!("download link is not a URL: {e}"),
                retry_after: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths() {
        let day = NaiveDate::from_ymd_opt(2026, 5, 7);
        assert_eq!(
            ReportKind::Entity28Day.path(&Scope::org("o"), None),
            "/orgs/o/copilot/metrics/reports/organization-28-day/latest"
        );
        assert_eq!(
            ReportKind::Entity1Day.path(&Scope::enterprise("e"), day),
            "/enterprises/e/copilot/metrics/reports/enterprise-1-day?day=2026-05-07"
        );
        assert_eq!(
            ReportKind::UserTeams1Day.path(&Scope::org("o"), day),
            "/orgs/o/copilot/metrics/reports/user-teams-1-day?day=2026-05-07"
        );
    }

    #[test]
    fn envelopes_parse() {
        let one: Envelope = serde_json::from_str(include_str!(
            "../../tests/fixtures/github/usage-metrics-report-1-day.json"
        ))
        .unwrap();
        assert_eq!(one.download_links.len(), 2);
        assert!(one.report_day.is_some());
        let many: Envelope = serde_json::from_str(include_str!(
            "../../tests/fixtures/github/usage-metrics-report-28-day.json"
        ))
        .unwrap();
        assert_eq!(many.report_end_day, NaiveDate::from_ymd_opt(2025, 7, 28));
    }
}
