//! Settings of the GitHub client, built by `config` from the command line.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::auth::Credentials;

/// Settings of the GitHub client.
#[derive(Clone, Debug)]
pub struct GithubSettings {
    /// API base, without trailing slash.
    pub api_url: Url,
    /// How the client authenticates; `None` in demo mode. Taken by
    /// [`crate::github::GithubClient::new`], which keeps only the [`super::Auth`]
    /// it builds from them.
    pub credentials: Option<Credentials>,
    /// Extra root certificates (`GITHUB_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Longest accepted NDJSON line.
    pub max_line_bytes: usize,
    /// Largest accepted report (all shards).
    pub max_report_bytes: u64,
    /// Retry policy.
    pub retry: RetryPolicy,
}

/// How failed GitHub calls are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First delay.
    pub min: Duration,
    /// Longest delay of our own choosing.
    pub max: Duration,
}

impl RetryPolicy {
    /// The [`crate::retry::Policy`] of GitHub calls: `max_retries` retries
    /// after the first attempt, backoff from `min` doubling up to `max`
    /// with jitter. The caller adds the refresh deadline.
    pub fn policy(&self) -> crate::retry::Policy {
        crate::retry::Policy::new(self.min, self.max).with_max_retries(self.max_retries)
    }
}
