//! What a remote-write publish did (per scope and day) and how it failed.

use std::fmt;

use chrono::NaiveDate;

use super::state::StateError;
use super::transport::SendError;
use crate::model::scope::Scope;

/// What one publish did for one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeSummary {
    /// The scope.
    pub scope: Scope,
    /// Requests accepted (2xx).
    pub requests_sent: u64,
    /// Samples accepted.
    pub samples_sent: u64,
    /// Samples refused with a non-retryable status (dropped).
    pub samples_rejected: u64,
    /// Samples not delivered before the retry deadline (sent again later in
    /// `report-day` mode, since the mark did not move).
    pub samples_failed: u64,
    /// Stale markers sent for series that disappeared (`now`-stamped part).
    pub stale_markers: u64,
    /// Series skipped because of invalid metric or label names.
    pub series_skipped: u64,
    /// Series dropped because an earlier set of the same publish had them
    /// (the first set wins; see [`super::stream`]).
    pub series_duplicate: u64,
    /// `report-day`: days accepted, oldest first.
    pub days_sent: Vec<NaiveDate>,
    /// `report-day`: days rejected by the receiver and skipped.
    pub days_rejected: Vec<NaiveDate>,
}

impl ScopeSummary {
    /// An empty summary for `scope`.
    pub fn new(scope: Scope) -> Self {
        ScopeSummary {
            scope,
            requests_sent: 0,
            samples_sent: 0,
            samples_rejected: 0,
            samples_failed: 0,
            stale_markers: 0,
            series_skipped: 0,
            series_duplicate: 0,
            days_sent: Vec::new(),
            days_rejected: Vec::new(),
        }
    }
}

/// What one publish did, per scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishSummary {
    /// One entry per scope, in the order given.
    pub scopes: Vec<ScopeSummary>,
}

impl PublishSummary {
    /// Samples accepted over all scopes.
    pub fn samples_sent(&self) -> u64 {
        self.scopes.iter().map(|s| s.samples_sent).sum()
    }

    /// Samples rejected over all scopes.
    pub fn samples_rejected(&self) -> u64 {
        self.scopes.iter().map(|s| s.samples_rejected).sum()
    }

    /// Samples that failed over all scopes.
    pub fn samples_failed(&self) -> u64 {
        self.scopes.iter().map(|s| s.samples_failed).sum()
    }

    /// The summary of one scope.
    pub fn scope(&self, scope: &Scope) -> Option<&ScopeSummary> {
        self.scopes.iter().find(|s| s.scope == *scope)
    }
}

/// Why part of one scope's data was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum FailureCause {
    /// The receiver rejected it, or retries ran out.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The high-water mark could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One failure within a publish.
#[derive(Debug)]
pub struct ScopeFailure {
    /// The scope.
    pub scope: Scope,
    /// `report-day`: the day concerned; `None` for the `now`-stamped part.
    pub day: Option<NaiveDate>,
    /// What went wrong.
    pub cause: FailureCause,
}

impl fmt::Display for ScopeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.day {
            Some(day) => write!(f, "{} day {day}: {}", self.scope, self.cause),
            None => write!(f, "{}: {}", self.scope, self.cause),
        }
    }
}

/// Remote-write errors. Messages name the URL without credentials or query
/// and quote the receiver's status and (truncated) body.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    /// The HTTP client could not be built (e.g. TLS setup).
    #[error("remote-write: cannot build the HTTP client: {0}")]
    Client(String),
    /// The self-metrics could not be registered.
    #[error("remote-write: cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The state directory is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// Some data was not delivered; every scope was still attempted.
    #[error("remote-write to {url}: {} failure(s): {}", failures.len(), join(failures))]
    Publish {
        /// Receiver URL without credentials or query.
        url: String,
        /// What was delivered.
        summary: PublishSummary,
        /// What was not, per scope (and day).
        failures: Vec<ScopeFailure>,
    },
}

fn join(failures: &[ScopeFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl RemoteWriteError {
    /// For [`RemoteWriteError::Publish`]: what was delivered nevertheless.
    pub fn summary(&self) -> Option<&PublishSummary> {
        match self {
            RemoteWriteError::Publish { summary, .. } => Some(summary),
            _ => None,
        }
    }
}
