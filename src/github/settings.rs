//! Settings of the GitHub client, built by `config` from the command line.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::auth::AppCredentials;
use crate::secret::Secret;

/// Settings of the GitHub client.
#[derive(Clone, Debug)]
pub struct GithubSettings {
    /// API base, without trailing slash.
    pub api_url: Url,
    /// The token; `None` in demo mode or with a GitHub App.
    pub token: Option<Secret>,
    /// GitHub App credentials (exclusive with `token`).
    pub app: Option<AppCredentials>,
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
    /// The wait before retry number `attempt` (0-based) after `error`:
    /// GitHub's `retry-after` (or rate-limit reset) when it gave one, else
    /// exponential backoff with ±25 % jitter; rate limits without a hint wait
    /// at least 60 s (capped by `max`), as GitHub's guidelines ask.
    pub fn wait(&self, error: &super::GithubError, attempt: u32) -> Duration {
        if let Some(seconds) = error.retry_after {
            return Duration::from_secs(seconds);
        }
        let base = self
            .min
            .saturating_mul(2u32.saturating_pow(attempt.min(16)));
        let base = if error.kind == super::FailureKind::RateLimited {
            base.max(Duration::from_secs(60))
        } else {
            base
        };
        let capped = base.min(self.max);
        let jitter = 0.75 + 0.5 * pseudo_random_unit();
        capped.mul_f64(jitter).min(self.max)
    }
}

/// A number in [0, 1) that differs between calls (jitter does not need
/// cryptographic randomness).
fn pseudo_random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}
