//! Where reports come from: the [`ReportSource`] trait, implemented by the
//! GitHub client (REST API plus signed links) and by the built-in demo.
//!
//! The collector asks a source for a report's lines or a JSON API page and
//! never knows which source answers.

use chrono::NaiveDate;
use futures_util::future::BoxFuture;
use serde_json::Value;
use url::Url;

use crate::github::reading::RowSink;
use crate::github::reports::{fetch_report, ReportKind, ReportOutcome};
use crate::github::{FailureKind, GithubClient, GithubError};
use crate::model::scope::Scope;

/// What a JSON API request asks for: a path relative to the API base, or
/// an absolute pagination link from a `Link` header.
#[derive(Clone, Copy, Debug)]
pub enum ApiTarget<'a> {
    /// `/orgs/x/copilot/billing/seats?per_page=100`.
    Path(&'a str),
    /// A `rel="next"` link.
    Url(&'a Url),
}

/// One JSON page: the document (`None` for 204) and the next page's link.
#[derive(Debug)]
pub struct JsonPage {
    /// The parsed body.
    pub body: Option<Value>,
    /// `Link: rel="next"`.
    pub next: Option<Url>,
}

/// A source of usage-metrics reports and of the JSON API pages the optional
/// collections read (billing, seats).
pub trait ReportSource: Send + Sync {
    /// Fetches one report of `scope` (`day` for the 1-day reports), feeding
    /// every row of every file to `sink`. At most `max_report_bytes` over
    /// all files.
    ///
    /// Errors: the report could not be read completely; what `sink` took
    /// must be discarded by the caller.
    fn fetch_report<'a>(
        &'a self,
        scope: &'a Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        max_report_bytes: u64,
        sink: &'a mut dyn RowSink,
    ) -> BoxFuture<'a, Result<ReportOutcome, GithubError>>;

    /// Fetches one JSON API page.
    fn get_json_page<'a>(
        &'a self,
        target: ApiTarget<'a>,
    ) -> BoxFuture<'a, Result<JsonPage, GithubError>>;

    /// Bounds every retry of the calls that follow: none waits past
    /// `deadline`. Sources that never retry ignore it.
    fn set_deadline(&self, _deadline: Option<std::time::Instant>) {}
}

impl ReportSource for GithubClient {
    fn fetch_report<'a>(
        &'a self,
        scope: &'a Scope,
        kind: ReportKind,
        day: Option<NaiveDate>,
        max_report_bytes: u64,
        sink: &'a mut dyn RowSink,
    ) -> BoxFuture<'a, Result<ReportOutcome, GithubError>> {
        Box::pin(fetch_report(self, scope, kind, day, max_report_bytes, sink))
    }

    fn get_json_page<'a>(
        &'a self,
        target: ApiTarget<'a>,
    ) -> BoxFuture<'a, Result<JsonPage, GithubError>> {
        Box::pin(async move {
            let response = match target {
                ApiTarget::Path(path) => self.get(path).await?,
                ApiTarget::Url(url) => self.get_url(url).await?,
            };
            let body = match response.body {
                None => None,
                Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| GithubError {
                    what: match target {
                        ApiTarget::Path(p) => p.to_string(),
                        ApiTarget::Url(u) => crate::github::client::describe(u),
                    },
                    kind: FailureKind::InvalidResponse,
                    status: Some(response.status),
                    message: format!("not JSON: {e}"),
                    retry_after: None,
                })?),
            };
            Ok(JsonPage {
                body,
                next: response.next,
            })
        })
    }

    fn set_deadline(&self, deadline: Option<std::time::Instant>) {
        GithubClient::set_deadline(self, deadline);
    }
}
