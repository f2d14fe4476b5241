//! The authenticated GitHub API client (the signed-link downloads are in
//! [`super::download`]): serial requests, the token only for the API
//! origin, GitHub App tokens, retries through [`crate::retry`].

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Response, StatusCode};
use url::Url;

use super::auth::Auth;
use super::error::{classify, error_message, FailureKind, GithubError};
use super::http::{
    bearer, body_error, download_client, header_u64, load_ca_file, read_capped, transport_error,
};
pub use super::http::{describe, next_link, user_agent};
use super::settings::GithubSettings;
use crate::retry::{self, Attempt, GaveUp, GiveUpReason, Hint, Policy, Retrying};
use crate::secret::Secret;
use crate::selfmetrics::SelfMetrics;

/// REST API version the exporter is written against.
pub const API_VERSION: &str = "2026-03-10";

/// Largest JSON answer accepted from the API (envelopes, billing, seat pages).
pub const MAX_API_BODY_BYTES: usize = 8 * 1024 * 1024;

/// An API answer: the body (`None` for 204) and the `Link: rel="next"` URL.
#[derive(Debug)]
pub struct ApiResponse {
    /// HTTP status (2xx).
    pub status: u16,
    /// The body, `None` for 204 No Content.
    pub body: Option<Bytes>,
    /// The next page, from the `Link` header.
    pub next: Option<Url>,
}

/// Client for the GitHub REST API plus the download client for signed links.
pub struct GithubClient {
    pub(super) api: reqwest::Client,
    pub(super) downloads: reqwest::Client,
    pub(super) base: Url,
    pub(super) auth: Auth,
    pub(super) settings: GithubSettings,
    pub(super) metrics: Arc<SelfMetrics>,
    // GitHub asks integrations to send API requests serially per credential.
    serial: tokio::sync::Mutex<()>,
    deadline: std::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .finish()
    }
}

impl GithubClient {
    /// Builds the client from `settings`, taking their credentials: it
    /// keeps the [`Auth`] it builds from them and no other copy of the
    /// secrets. Errors: no credentials, or a GitHub App key that does not
    /// parse.
    pub fn new(mut settings: GithubSettings, metrics: Arc<SelfMetrics>) -> Result<Self, String> {
        let credentials = settings.credentials.take().ok_or(
            "no GitHub credentials: set GHC_TOKEN / GHC_TOKEN_FILE or GITHUB_APP_ID and \
             GITHUB_APP_PRIVATE_KEY_FILE",
        )?;
        Self::with_auth(&settings, Auth::build(credentials)?, metrics)
    }

    /// Builds both clients with an authentication built elsewhere (a token
    /// ([`Secret`]), or a GitHub App ([`Auth::App`]) with, say, its own
    /// refresh margin); credentials in `settings` are not kept. The download
    /// client carries no default headers but `User-Agent`: signed links must
    /// never see the token. Both clients honour `HTTPS_PROXY` / `HTTP_PROXY`
    /// / `ALL_PROXY` / `NO_PROXY` (reqwest reads them) and trust the extra
    /// roots of `GITHUB_CA_FILE` besides the built-in ones.
    pub fn with_auth(
        settings: &GithubSettings,
        auth: impl Into<Auth>,
        metrics: Arc<SelfMetrics>,
    ) -> Result<Self, String> {
        let auth = auth.into();
        let roots = match &settings.ca_file {
            Some(path) => load_ca_file(path)?,
            None => Vec::new(),
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            "X-GitHub-Api-Version",
            HeaderValue::from_static(API_VERSION),
        );
        let api = reqwest::Client::builder()
            .user_agent(user_agent())
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .timeout(settings.timeout)
            .tls_certs_merge(roots.clone())
            .build()
            .map_err(|e| format!("cannot build the GitHub API client: {e}"))?;
        let downloads = download_client(settings.timeout, roots)?;
        Ok(GithubClient {
            api,
            downloads,
            base: settings.api_url.clone(),
            auth,
            settings: GithubSettings {
                credentials: None,
                ..settings.clone()
            },
            metrics,
            serial: tokio::sync::Mutex::new(()),
            deadline: std::sync::Mutex::new(None),
        })
    }

    /// The API base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `GET` an API path (`/orgs/x/...?...`), relative to the base URL.
    pub async fn get(&self, path_and_query: &str) -> Result<ApiResponse, GithubError> {
        let url = self.api_url(path_and_query)?;
        self.get_url(&url).await
    }

    /// `GET` an absolute API URL (a pagination link). The token is sent only
    /// when the URL has the API base's scheme, host and port.
    ///
    /// Rate limits, 5xx, timeouts and connection failures are retried: a
    /// rate limit waits for `retry-after`, else until `x-ratelimit-reset`,
    /// else backs off exponentially (at least 60 s, capped by
    /// `GITHUB_RETRY_MAX_MS`); other failures back off exponentially with
    /// jitter. No wait runs past the refresh deadline: the call fails at once
    /// with the reason instead.
    pub async fn get_url(&self, url: &Url) -> Result<ApiResponse, GithubError> {
        let this = self;
        let attempt = move |_| async move {
            match this.attempt(url).await {
                Ok(answer) => Attempt::Done(answer),
                Err(error) if error.is_retryable() => Attempt::Retry {
                    hint: hint(&error),
                    error,
                },
                Err(error) => Attempt::Fail(error),
            }
        };
        retry::run_observed(&self.retry_policy(), |r| self.count_retry(r), attempt)
            .await
            .map_err(gave_up)
    }

    /// The retry policy of GitHub calls (`GITHUB_MAX_RETRIES`,
    /// `GITHUB_RETRY_MIN_MS` / `_MAX_MS`), bounded by the refresh deadline.
    pub(super) fn retry_policy(&self) -> Policy {
        let deadline = *self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        self.settings.retry.policy().with_deadline(deadline)
    }

    /// Counts and logs a retry about to wait.
    pub(super) fn count_retry(&self, retrying: &Retrying<'_, GithubError>) {
        let error = retrying.error;
        self.metrics
            .github_retries
            .with_label_values(&[error.kind.as_str()])
            .inc();
        tracing::warn!(endpoint = %error.what, reason = %error.kind, status = ?error.status,
            wait_seconds = retrying.delay.as_secs_f64(), attempt = retrying.attempt, "GitHub call failed; retrying");
    }

    /// The absolute URL of an API path (`/orgs/x/...?...`) under the base URL.
    pub(super) fn api_url(&self, path_and_query: &str) -> Result<Url, GithubError> {
        let url = format!(
            "{}{}",
            self.base.as_str().trim_end_matches('/'),
            path_and_query
        );
        Url::parse(&url).map_err(|e| GithubError {
            what: path_and_query.to_string(),
            kind: FailureKind::InvalidResponse,
            status: None,
            message: format!("cannot build URL: {e}"),
            retry_after: None,
        })
    }

    /// Sets the instant after which no retry may still be waiting (the end
    /// of the current refresh); `None` removes it.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner()) = deadline;
    }

    async fn attempt(&self, url: &Url) -> Result<ApiResponse, GithubError> {
        let what = describe(url);
        if url.origin() != self.base.origin() {
            return Err(self.fail(GithubError {
                what,
                kind: FailureKind::InvalidResponse,
                status: None,
                message: format!(
                    "refusing to send the token to {} (not the API host {})",
                    url.origin().ascii_serialization(),
                    self.base.origin().ascii_serialization()
                ),
                retry_after: None,
            }));
        }
        let _turn = self.serial.lock().await;
        let mut retried = false;
        let response = loop {
            let (credential, installation) = self.credential(url).await?;
            tracing::debug!(endpoint = %what, "GitHub API request");
            let response = self
                .send(self.api.get(url.clone()), &credential, &what)
                .await?;
            if response.status() == StatusCode::UNAUTHORIZED && !retried {
                if let (Auth::App(app), Some(id)) = (&self.auth, installation) {
                    tracing::info!(endpoint = %what, installation = id, "installation token refused (401); minting a new one and retrying once");
                    app.invalidate(id);
                    retried = true;
                    continue;
                }
            }
            break response;
        };
        self.record_rate_limit(&response);
        let status = response.status();
        let next = next_link(response.headers());
        if status == StatusCode::NO_CONTENT {
            return Ok(ApiResponse {
                status: 204,
                body: None,
                next,
            });
        }
        let remaining = header_u64(response.headers(), "x-ratelimit-remaining");
        let reset = header_u64(response.headers(), "x-ratelimit-reset");
        let retry_after = retry::retry_after(response.headers());
        let accepted = response
            .headers()
            .get("x-accepted-github-permissions")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_capped(response, MAX_API_BODY_BYTES)
            .await
            .map_err(|e| self.fail(body_error(what.clone(), status, e)))?;
        if status.is_success() {
            return Ok(ApiResponse {
                status: status.as_u16(),
                body: Some(body),
                next,
            });
        }
        let mut message = error_message(&body);
        if let Some(perms) = accepted.filter(|p| !p.is_empty()) {
            message.push_str(&format!(" [needs: {perms}]"));
        }
        Err(self.refused(what, status, message, remaining, |kind| {
            // Primary limit: wait until the window resets too.
            let reset = (kind == FailureKind::RateLimited && remaining == Some(0))
                .then_some(reset)
                .flatten()
                .map(|reset| retry::until_unix_time(reset, SystemTime::now()));
            retry_after.into_iter().chain(reset).max()
        }))
    }

    /// `GET` a JSON document; `Ok(None)` for 204 No Content.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<Option<T>, GithubError> {
        let response = self.get(path_and_query).await?;
        match response.body {
            None => Ok(None),
            Some(body) => serde_json::from_slice(&body).map(Some).map_err(|e| {
                self.fail(GithubError {
                    what: path_and_query.to_string(),
                    kind: FailureKind::InvalidResponse,
                    status: Some(response.status),
                    message: format!("not the documented JSON: {e}"),
                    retry_after: None,
                })
            }),
        }
    }

    /// Counts a failed call (by HTTP status and by reason) and returns it.
    pub(super) fn fail(&self, error: GithubError) -> GithubError {
        self.metrics
            .requests_failed
            .with_label_values(&[&error.status_label()])
            .inc();
        self.metrics
            .github_failures
            .with_label_values(&[error.kind.as_str()])
            .inc();
        error
    }

    /// A non-2xx answer as a recorded error, classified from its status,
    /// message and remaining rate limit; `wait` gives the retry hint of the
    /// kind.
    pub(super) fn refused(
        &self,
        what: String,
        status: StatusCode,
        message: String,
        remaining: Option<u64>,
        wait: impl FnOnce(FailureKind) -> Option<Duration>,
    ) -> GithubError {
        let kind = classify(status.as_u16(), &message, remaining);
        self.fail(GithubError {
            what,
            kind,
            status: Some(status.as_u16()),
            message,
            retry_after: wait(kind),
        })
    }

    /// Sends one API request with `credential` as its bearer token
    /// (counted in `github_api_requests`); a transport failure is recorded
    /// and returned.
    pub(super) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        credential: &Secret,
        what: &str,
    ) -> Result<Response, GithubError> {
        self.metrics.github_api_requests.inc();
        request
            .header(AUTHORIZATION, bearer(credential))
            .send()
            .await
            .map_err(|e| self.fail(transport_error(what.to_string(), e)))
    }

    pub(super) fn record_rate_limit(&self, response: &Response) {
        self.metrics.record_rate_limit(
            header_u64(response.headers(), "x-ratelimit-remaining"),
            header_u64(response.headers(), "x-ratelimit-reset"),
        );
    }
}

/// The server hints of a retryable failure: GitHub's wait, and at least 60 s
/// after a rate limit without one (GitHub's guidelines; capped by
/// `GITHUB_RETRY_MAX_MS`).
fn hint(error: &GithubError) -> Hint {
    Hint {
        retry_after: error.retry_after,
        not_before: None,
        min_backoff: (error.kind == FailureKind::RateLimited).then_some(Duration::from_secs(60)),
    }
}

/// The last error of a call that was given up, saying why no retry
/// followed when it was the deadline.
pub(super) fn gave_up(gave_up: GaveUp<GithubError>) -> GithubError {
    let mut error = gave_up.error;
    let seconds = |d: Duration| d.as_secs_f64().ceil();
    match gave_up.reason {
        GiveUpReason::NotRetryable | GiveUpReason::Attempts { .. } => {}
        GiveUpReason::HintBeyondBudget { hint, remaining } => error.message.push_str(&format!(
            "; GitHub asks to wait {:.0} s, more than the {:.0} s left before this refresh's deadline, so the scope fails for now and the next refresh retries",
            seconds(hint),
            seconds(remaining)
        )),
        GiveUpReason::OutOfTime { wait, .. } => error.message.push_str(&format!(
            "; waiting {:.0} s more would pass this refresh's deadline, so the scope fails for now and the next refresh retries",
            seconds(wait)
        )),
    }
    error
}
