//! Pushgateway HTTP: the client (extra CA certificates, headers, basic or
//! bearer auth), one push as `PUT` (replace the group) or `POST` (replace
//! only the pushed families), retried by [`crate::retry`].
//!
//! Retried: transport errors, 5xx, 408 and 429, waiting `max(Retry-After,
//! own backoff)`; every other status is final, its body quoted (truncated).

use std::time::Duration;

use prometheus::IntCounterVec;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder};
use url::Url;

use super::config::{PushAuth, PushgatewayConfig};
use super::encode::PROTOBUF_CONTENT_TYPE;
use crate::httputil::{read_error_body, with_causes, USER_AGENT};
use crate::model::scope::Scope;
use crate::retry;
use crate::sinks::probe::{with_tls_hint, ProbeFailure};

/// How long the retries of one push may take at most (a `Retry-After`
/// beyond it ends them at once).
pub const RETRY_BUDGET: Duration = Duration::from_secs(300);

/// Longest own backoff between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why a push attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushFailure {
    /// The Pushgateway answered with a non-success status.
    Status {
        /// HTTP status code.
        code: u16,
        /// The response body, truncated to about 1 KiB.
        body: String,
    },
    /// No answer: connection, TLS or timeout error.
    Transport(String),
    /// The metrics could not be encoded.
    Encode(String),
    /// Credentials could not be read (a token file vanished).
    Credentials(String),
}

impl PushFailure {
    /// The `status` label of `copilot_exporter_pushgateway_push_failures_total`.
    pub fn status_label(&self) -> String {
        match self {
            PushFailure::Status { code, .. } => code.to_string(),
            PushFailure::Transport(_) => "transport".into(),
            PushFailure::Encode(_) => "encode".into(),
            PushFailure::Credentials(_) => "credentials".into(),
        }
    }
}

impl std::fmt::Display for PushFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushFailure::Status { code, body } if body.is_empty() => write!(f, "HTTP {code}"),
            PushFailure::Status { code, body } => write!(f, "HTTP {code}: {body}"),
            PushFailure::Transport(e) | PushFailure::Encode(e) | PushFailure::Credentials(e) => {
                write!(f, "{e}")
            }
        }
    }
}

/// A failed push of one scope's group.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "pushing {scope} to the Pushgateway at {url} failed after {attempts} attempt(s): {failure}"
)]
pub struct PushError {
    /// The scope whose group was not replaced.
    pub scope: Scope,
    /// The group URL (never with credentials).
    pub url: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure (with why the retries ended, when they did).
    pub failure: PushFailure,
}

/// Sends encoded groups to one Pushgateway.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    auth: Option<PushAuth>,
    policy: retry::Policy,
}

impl Transport {
    /// Builds the HTTP client: timeout, extra CA certificates, the extra
    /// headers (sensitive) and the `User-Agent`.
    pub fn new(config: &PushgatewayConfig) -> Result<Transport, String> {
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            headers.insert(name.clone(), value.clone());
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)));
        if !config.ca_certs.is_empty() {
            builder = builder.tls_certs_merge(config.ca_certs.iter().cloned());
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the Pushgateway HTTP client: {e}"))?;
        let policy = retry::Policy::new(config.retry_delay, MAX_BACKOFF.max(config.retry_delay))
            .with_max_attempts(config.attempts)
            .with_budget(RETRY_BUDGET);
        Ok(Transport {
            client,
            auth: config.auth.clone(),
            policy,
        })
    }

    /// Sends `body` with `method` to `url` (a group URL), retrying per the
    /// policy; counts every failed attempt in `failures` by status. Returns
    /// the attempts made, or the attempts and the last failure.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        body: Vec<u8>,
        failures: &IntCounterVec,
    ) -> Result<u32, (u32, PushFailure)> {
        let observe = |r: &retry::Retrying<'_, PushFailure>| {
            tracing::warn!(
                %url,
                attempt = r.attempt,
                error = %r.error,
                retry_in_ms = r.delay.as_millis() as u64,
                "Pushgateway push failed; retrying"
            );
        };
        let outcome = retry::run_observed(&self.policy, observe, |attempt| {
            let (method, body) = (method.clone(), body.clone());
            async move {
                match self.attempt(method, url, body).await {
                    retry::Attempt::Done(()) => retry::Attempt::Done(attempt),
                    retry::Attempt::Retry { error, hint } => {
                        failures.with_label_values(&[&error.status_label()]).inc();
                        retry::Attempt::Retry { error, hint }
                    }
                    retry::Attempt::Fail(error) => {
                        failures.with_label_values(&[&error.status_label()]).inc();
                        retry::Attempt::Fail(error)
                    }
                }
            }
        })
        .await;
        outcome.map_err(|gave_up| {
            let attempts = gave_up.attempts;
            let failure = match (gave_up.reason, gave_up.error) {
                (retry::GiveUpReason::NotRetryable, failure) => failure,
                (reason, PushFailure::Status { code, body }) => PushFailure::Status {
                    code,
                    body: format!("{body} ({reason})"),
                },
                (reason, PushFailure::Transport(e)) => {
                    PushFailure::Transport(format!("{e} ({reason})"))
                }
                (_, failure) => failure,
            };
            (attempts, failure)
        })
    }

    async fn attempt(
        &self,
        method: Method,
        url: &str,
        body: Vec<u8>,
    ) -> retry::Attempt<(), PushFailure> {
        let request = self
            .client
            .request(method, url)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static(PROTOBUF_CONTENT_TYPE),
            )
            .body(body);
        let request = match self.authorize(request) {
            Ok(request) => request,
            Err(m) => return retry::Attempt::Fail(PushFailure::Credentials(m)),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return retry::Attempt::retry(PushFailure::Transport(describe_transport(&e))),
        };
        let status = response.status();
        if status.is_success() {
            return retry::Attempt::Done(());
        }
        let hint = retry::Hint::from_headers(response.headers());
        let failure = PushFailure::Status {
            code: status.as_u16(),
            body: read_error_body(response).await,
        };
        if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
            retry::Attempt::Retry {
                error: failure,
                hint,
            }
        } else {
            retry::Attempt::Fail(failure)
        }
    }
}

impl Transport {
    /// `request` with the configured credentials (the bearer token file is
    /// read here); an unreadable file is an error naming its setting.
    fn authorize(&self, request: RequestBuilder) -> Result<RequestBuilder, String> {
        Ok(match &self.auth {
            None => request,
            Some(PushAuth::Basic { username, password }) => {
                request.basic_auth(username, Some(password.expose()))
            }
            Some(PushAuth::Bearer(source)) => {
                let token = source
                    .resolve()
                    .map_err(|m| format!("PUSHGATEWAY_BEARER_TOKEN_FILE: {m}"))?;
                request.bearer_auth(token.expose())
            }
        })
    }

    /// `--check`: one `GET <base>/-/ready` with the push client (TLS
    /// settings, extra headers, credentials), not retried. Behind basic
    /// auth or an auth proxy the readiness endpoint checks the credentials
    /// too.
    pub async fn probe_ready(&self, base: &Url) -> Result<(), ProbeFailure> {
        let url = format!("{}/-/ready", base.as_str().trim_end_matches('/'));
        let request = self
            .authorize(self.client.get(url))
            .map_err(ProbeFailure::Credentials)?;
        let response = request
            .send()
            .await
            .map_err(|e| ProbeFailure::Unreachable(describe_transport(&e)))?;
        crate::sinks::probe::answer(response).await
    }
}

/// A transport error with its causes, without the URL (the caller adds
/// it); an untrusted certificate names `PUSHGATEWAY_CA_FILE`.
fn describe_transport(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    with_tls_hint(with_causes(kind.to_string(), e), "PUSHGATEWAY_CA_FILE")
}
