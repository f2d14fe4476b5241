//! The usage-metrics report endpoints: envelope → signed links → rows, all
//! of a report's files or none.

use chrono::NaiveDate;
use serde::Deserialize;
use url::Url;

use std::collections::HashSet;

use super::client::GithubClient;
use super::download::file_identity;
use super::error::{FailureKind, GithubError};
use super::reading::{RowSink, Tally};
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
    /// Signed links to the report files; all must be read. Empty or
    /// `null`: no report yet.
    #[serde(default)]
    pub download_links: Option<Vec<String>>,
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
    /// GitHub has no report yet (204, an envelope without links, or a JSON
    /// string instead of an envelope): not an error.
    NoReport,
    /// Every file was read.
    Delivered {
        /// Files, bytes, valid and invalid rows read.
        tally: Tally,
        /// Last day the report covers, as the envelope says.
        end_day: Option<NaiveDate>,
    },
}

impl ReportOutcome {
    /// Invalid rows skipped (0 without a report).
    pub fn invalid_rows(&self) -> u64 {
        match self {
            ReportOutcome::NoReport => 0,
            ReportOutcome::Delivered { tally, .. } => tally.invalid,
        }
    }
}

/// An envelope's answer: its links, or why there is no report yet.
enum Answer {
    Links(Vec<Url>, Option<NaiveDate>),
    NotYet(&'static str),
}

/// Asks for the envelope at `path`.
async fn envelope(client: &GithubClient, path: &str) -> Result<Answer, GithubError> {
    let response = client.get(path).await?;
    let Some(body) = response.body else {
        return Ok(Answer::NotYet("204 No Content"));
    };
    parse_envelope(path, &body).map_err(|e| client.fail(e))
}

/// Parses an envelope body: an object with `download_links`, or a JSON
/// string (GitHub's "not generated yet" message).
fn parse_envelope(path: &str, body: &[u8]) -> Result<Answer, GithubError> {
    let invalid =
        |message: String| GithubError::new(path, FailureKind::InvalidResponse, Some(200), message);
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the envelope is not JSON: {e}")))?;
    if let serde_json::Value::String(text) = &value {
        let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
        tracing::info!(report = %path, message = %text, "GitHub answered with a message instead of a report envelope: no report yet");
        return Ok(Answer::NotYet("a message instead of an envelope"));
    }
    let envelope = Envelope::deserialize(&value)
        .map_err(|e| invalid(format!("not the documented report envelope: {e}")))?;
    let links = envelope.download_links.unwrap_or_default();
    if links.is_empty() {
        return Ok(Answer::NotYet("an envelope without download links"));
    }
    let links = links
        .iter()
        .map(|raw| Url::parse(raw).map_err(|e| invalid(format!("download link is not a URL: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Answer::Links(
        links,
        envelope.report_end_day.or(envelope.report_day),
    ))
}

/// Fetches a report: the envelope, then every file, each row to `sink`.
///
/// A report is all of its files or nothing: any failed file fails it, and
/// the caller must discard what `sink` took. A file's identity is its link
/// without the query ([`file_identity`]). When a link is refused
/// ([`FailureKind::LinkExpired`]), a fresh envelope is requested once: if it
/// lists the same files, only those not read yet are read (each exactly
/// once, in the new envelope's order); if it lists other files (GitHub
/// regenerated the report), `sink` is restarted and every file is read
/// again. A second refusal fails the report.
pub async fn fetch_report(
    client: &GithubClient,
    scope: &Scope,
    kind: ReportKind,
    day: Option<NaiveDate>,
    max_report_bytes: u64,
    sink: &mut dyn RowSink,
) -> Result<ReportOutcome, GithubError> {
    let path = kind.path(scope, day);
    let (mut links, end_day) = match envelope(client, &path).await? {
        Answer::Links(links, end_day) => (links, end_day),
        Answer::NotYet(why) => {
            tracing::info!(%scope, report = %path, why, "no report yet");
            return Ok(ReportOutcome::NoReport);
        }
    };
    let mut read: HashSet<String> = HashSet::new();
    let mut tally = Tally::default();
    let mut refreshed = false;
    'envelope: loop {
        for link in &links {
            let id = file_identity(link);
            if read.contains(&id) {
                continue;
            }
            let budget = max_report_bytes.saturating_sub(tally.bytes);
            match client.download(link, budget, sink).await {
                Ok(file) => {
                    tally.add(file);
                    read.insert(id);
                }
                Err(e) if e.kind == FailureKind::LinkExpired && !refreshed => {
                    tracing::warn!(%scope, report = %path, error = %e, "download link refused; asking GitHub for fresh links once");
                    refreshed = true;
                    let fresh = match envelope(client, &path).await? {
                        Answer::Links(fresh, _) => fresh,
                        Answer::NotYet(why) => {
                            return Err(client.fail(GithubError::new(
                                &path,
                                FailureKind::LinkExpired,
                                None,
                                format!("a download link expired and the report vanished while its files were being read ({why}): half a report is no report"),
                            )))
                        }
                    };
                    let before: HashSet<String> = links.iter().map(file_identity).collect();
                    let after: HashSet<String> = fresh.iter().map(file_identity).collect();
                    if before != after {
                        tracing::warn!(%scope, report = %path, files_before = before.len(), files_now = after.len(),
                            "GitHub regenerated the report while it was being read; reading it again from the start");
                        sink.restart();
                        read.clear();
                        tally = Tally::default();
                    }
                    links = fresh;
                    continue 'envelope;
                }
                Err(e) => return Err(e),
            }
        }
        break;
    }
    tally.check_threshold().map_err(|message| {
        client.fail(GithubError::new(
            &path,
            FailureKind::InvalidReport,
            None,
            message,
        ))
    })?;
    Ok(ReportOutcome::Delivered { tally, end_day })
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
        assert_eq!(one.download_links.map(|l| l.len()), Some(2));
        assert!(one.report_day.is_some());
        let many: Envelope = serde_json::from_str(include_str!(
            "../../tests/fixtures/github/usage-metrics-report-28-day.json"
        ))
        .unwrap();
        assert_eq!(many.report_end_day, NaiveDate::from_ymd_opt(2025, 7, 28));
    }

    #[test]
    fn no_report_yet_in_every_form() {
        let body = include_bytes!("../../tests/fixtures/cases/report-200-bare-string/body.txt");
        for body in [
            &body[..],
            br#"{"download_links": []}"#,
            br#"{"download_links": null, "report_day": "2026-05-07"}"#,
            br#"{}"#,
        ] {
            assert!(matches!(parse_envelope("p", body), Ok(Answer::NotYet(_))));
        }
        for body in [
            &br#"[1]"#[..],
            b"12",
            br#"{"download_links": ["not a url"]}"#,
            b"<html>",
        ] {
            let e = parse_envelope("p", body).err().expect("an error");
            assert_eq!(e.kind, FailureKind::InvalidResponse);
        }
        let Ok(Answer::Links(links, end)) = parse_envelope(
            "p",
            br#"{"download_links": ["https://h/a?sig=1"], "report_day": "2026-05-07"}"#,
        ) else {
            panic!("links")
        };
        assert_eq!(links.len(), 1);
        assert_eq!(end, NaiveDate::from_ymd_opt(2026, 5, 7));
    }
}
