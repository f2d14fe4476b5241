//! Request building (headers, auth) and delivery (reqwest + retry).
//!
//! Retry rules (RW1-16): transport errors, 5xx, 408 and 429 are retried by
//! [`crate::retry`] (exponential backoff with jitter, `max(Retry-After,
//! backoff)`, within the retry budget); every other non-2xx status is final
//! and [`classify`] tells whether it judged the data. Response bodies are
//! never interpreted (RW1-08/14), only logged, truncated to 1 KiB
//! ([`read_error_body`]).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use url::Url;

use super::auth::AuthError;
pub(crate) use super::auth::ResolvedAuth;
use super::config::{display_url, Auth, RemoteWriteConfig, RetryPolicy};
use crate::httputil::{error_chain, read_error_body, USER_AGENT};
use crate::retry;
use crate::sinks::probe::{with_tls_hint, ProbeFailure};

/// `X-Prometheus-Remote-Write-Version` sent with every request (RW1-04, RW1-09).
pub const REMOTE_WRITE_VERSION: &str = "0.1.0";

/// Why a request was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The receiver judged the data and refused it (400, 409, 413, 422):
    /// resending cannot help, so `report-day` mode skips the day.
    #[error("{url} rejected the data: HTTP {status}: {body}")]
    Rejected {
        /// Receiver URL without credentials or query.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Start of the response body (at most 1 KiB).
        body: String,
    },
    /// The receiver answered without judging the data (401, 403, 404, 405,
    /// 407, 3xx, any status not classified): wrong URL, credentials, tenant
    /// or method. Nothing is skipped; the run fails and the data is sent
    /// again after the fix.
    #[error(
        "{url} refused the request without judging the data: HTTP {status}: {body} \
         (check REMOTE_WRITE_URL, the credentials and REMOTE_WRITE_HEADERS; nothing was \
         skipped, the next run sends it again)"
    )]
    Refused {
        /// Receiver URL without credentials or query.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Start of the response body (at most 1 KiB).
        body: String,
    },
    /// Retries did not succeed before the deadline.
    #[error("{url}: gave up after {attempts} attempt(s): {last}")]
    Failed {
        /// Receiver URL without credentials or query.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last error: a status and body, or a transport error.
        last: String,
    },
    /// Credentials could not be read (e.g. a token file vanished).
    #[error("{url}: credentials: {message}")]
    Credentials {
        /// Receiver URL without credentials or query.
        url: String,
        /// What went wrong (never the secret).
        message: String,
    },
}

/// The outcome of one delivered request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Attempts it took (1 = no retry).
    pub attempts: u32,
}

/// Observes each attempt, for the self-metrics.
pub trait AttemptObserver {
    /// An attempt failed and will be retried.
    fn retrying(&self);
}

impl AttemptObserver for () {
    fn retrying(&self) {}
}

/// Sends encoded bodies to one receiver. `Debug` prints the URL as
/// [`Transport::display_url`] (its query may hold an API key) and only the
/// names of the extra headers.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    url: Url,
    display_url: String,
    headers: HeaderMap,
    auth: Option<Auth>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.keys().map(HeaderName::as_str).collect();
        f.debug_struct("Transport")
            .field("url", &self.display_url)
            .field("headers", &header_names)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Builds the HTTP client (extra CA certificates, no redirects: a POST
    /// must not silently turn into a GET) and the fixed headers.
    pub fn new(config: &RemoteWriteConfig) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.timeout.min(Duration::from_secs(10)));
        if !config.ca_certs.is_empty() {
            builder = builder.tls_certs_merge(config.ca_certs.iter().cloned());
        }
        if let Some(identity) = &config.client_identity {
            builder = identity.apply(builder);
        }
        let client = builder.build()?;
        Ok(Transport {
            client,
            url: config.url.clone(),
            display_url: display_url(&config.url),
            headers: request_headers(&config.headers),
            auth: config.auth.clone(),
            timeout: config.timeout,
            retry: config.retry,
        })
    }

    /// The receiver URL as it may be printed.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Reads the credentials (token / password files are re-read here). An
    /// error names the file's setting.
    pub(crate) fn resolve_auth(&self) -> Result<ResolvedAuth, SendError> {
        let cred = |var: &str, m: String| SendError::Credentials {
            url: self.display_url.clone(),
            message: format!("{var}: {m}"),
        };
        Ok(match &self.auth {
            None => ResolvedAuth::None,
            Some(Auth::Bearer(src)) => ResolvedAuth::Bearer(
                src.resolve()
                    .map_err(|m| cred("REMOTE_WRITE_BEARER_TOKEN_FILE", m))?,
            ),
            Some(Auth::Basic { username, password }) => {
                let password = match password {
                    None => None,
                    Some(src) => Some(
                        src.resolve()
                            .map_err(|m| cred("REMOTE_WRITE_PASSWORD_FILE", m))?,
                    ),
                };
                ResolvedAuth::Basic(username.clone(), password)
            }
            Some(Auth::SigV4(signer)) => ResolvedAuth::SigV4(signer.clone()),
        })
    }

    /// POSTs `body`, retrying per the policy with [`crate::retry`]: 5xx,
    /// 408, 429 and transport errors are retried, waiting
    /// `max(Retry-After, own backoff)` within `REMOTE_WRITE_MAX_RETRY_SECONDS`;
    /// every other status is final ([`classify`]). `samples` is only used in
    /// logs.
    pub(crate) async fn send(
        &self,
        body: Bytes,
        samples: usize,
        auth: &ResolvedAuth,
        observer: &(dyn AttemptObserver + Sync),
    ) -> Result<Delivered, SendError> {
        self.send_within(body, samples, auth, observer, self.retry.max_duration)
            .await
    }

    /// [`Transport::send`] with its own retry budget (the periodic re-send
    /// of the snapshot uses its interval).
    pub(crate) async fn send_within(
        &self,
        body: Bytes,
        samples: usize,
        auth: &ResolvedAuth,
        observer: &(dyn AttemptObserver + Sync),
        budget: Duration,
    ) -> Result<Delivered, SendError> {
        let policy = retry::Policy::new(self.retry.initial_backoff, self.retry.max_backoff)
            .with_budget(budget);
        let observe = |r: &retry::Retrying<'_, SendError>| {
            // One attempt failed: its own error, not a "gave up" sentence.
            let error = match r.error {
                SendError::Failed { last, .. } => last.clone(),
                other => other.to_string(),
            };
            tracing::warn!(
                url = %self.display_url,
                attempt = r.attempt,
                samples,
                delay_ms = r.delay.as_millis() as u64,
                error = %error,
                "remote-write attempt failed; retrying"
            );
            observer.retrying();
        };
        let outcome = retry::run_observed(&policy, observe, |attempt| {
            let body = body.clone();
            async move { self.attempt(attempt, body, auth).await }
        })
        .await;
        outcome.map_err(|gave_up| match gave_up.error {
            SendError::Failed { url, last, .. } => SendError::Failed {
                url,
                attempts: gave_up.attempts,
                last: format!("{last} ({})", gave_up.reason),
            },
            final_error => final_error,
        })
    }

    /// A POST of `body` with the protocol and extra headers, before auth.
    fn post(&self, body: Bytes) -> reqwest::RequestBuilder {
        self.client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .timeout(self.timeout)
            .body(body)
    }

    /// `--check`: one POST of an empty `WriteRequest` (snappy protobuf,
    /// no series) with everything a publish uses — client, CA and client
    /// certificate, extra headers (tenant), bearer / basic / SigV4 — not
    /// retried. A receiver that accepts it (2xx) accepts the exporter's
    /// requests; it stores nothing.
    pub async fn probe(&self) -> Result<(), ProbeFailure> {
        let auth = self.resolve_auth().map_err(|e| match e {
            SendError::Credentials { message, .. } => ProbeFailure::Credentials(message),
            other => ProbeFailure::Credentials(other.to_string()),
        })?;
        let empty = super::encode::encode(&super::proto::WriteRequest::default());
        let request = match auth.authorize(self.post(Bytes::from(empty))).await {
            Ok(request) => request,
            Err(AuthError::Build(e)) => return Err(ProbeFailure::Unreachable(error_chain(e))),
            Err(AuthError::Credentials(message)) => return Err(ProbeFailure::Credentials(message)),
        };
        let response = self.client.execute(request).await.map_err(|e| {
            ProbeFailure::Unreachable(with_tls_hint(error_chain(e), "REMOTE_WRITE_CA_FILE"))
        })?;
        crate::sinks::probe::answer(response).await
    }

    /// One POST, classified for [`retry::run`].
    async fn attempt(
        &self,
        attempt: u32,
        body: Bytes,
        auth: &ResolvedAuth,
    ) -> retry::Attempt<Delivered, SendError> {
        let mut request = self.post(body);
        if attempt > 1 {
            request = request.header("Retry-Attempt", (attempt - 1).to_string());
        }
        let failed = |last: String| SendError::Failed {
            url: self.display_url.clone(),
            attempts: attempt,
            last,
        };
        let sent = match auth.authorize(request).await {
            Ok(request) => self.client.execute(request).await,
            Err(AuthError::Build(e)) => Err(e),
            Err(AuthError::Credentials(message)) => {
                return retry::Attempt::Fail(SendError::Credentials {
                    url: self.display_url.clone(),
                    message,
                })
            }
        };
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let text = with_tls_hint(error_chain(e), "REMOTE_WRITE_CA_FILE");
                return retry::Attempt::retry(failed(text));
            }
        };
        let status = response.status();
        let class = classify(status);
        if class == StatusClass::Accepted {
            // RW1-08: the body is ignored.
            return retry::Attempt::Done(Delivered { attempts: attempt });
        }
        let hint = retry::Hint::from_headers(response.headers());
        let body = read_error_body(response).await;
        let (url, code) = (self.display_url.clone(), status.as_u16());
        match class {
            StatusClass::Accepted | StatusClass::Retry => retry::Attempt::Retry {
                error: failed(format!("HTTP {code}: {body}")),
                hint,
            },
            StatusClass::DataRejected => retry::Attempt::Fail(SendError::Rejected {
                url,
                status: code,
                body,
            }),
            StatusClass::NotJudged => retry::Attempt::Fail(SendError::Refused {
                url,
                status: code,
                body,
            }),
        }
    }
}

/// What a receiver's status means for the data (see the failure table in
/// the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx: delivered.
    Accepted,
    /// 5xx, 408, 429: worth another attempt.
    Retry,
    /// 400, 409, 413 (after splitting), 422: the receiver judged the data
    /// and refused it; resending it cannot help.
    DataRejected,
    /// Anything else (401, 403, 404, 405, 407, 3xx, 1xx, other 4xx): the
    /// receiver never judged the data (wrong URL, auth, tenant, method);
    /// nothing may be skipped.
    NotJudged,
}

/// Classifies a receiver's status (RW1-16 plus the data/request split).
pub fn classify(status: StatusCode) -> StatusClass {
    match status.as_u16() {
        200..=299 => StatusClass::Accepted,
        408 | 429 | 500..=599 => StatusClass::Retry,
        400 | 409 | 413 | 422 => StatusClass::DataRejected,
        _ => StatusClass::NotJudged,
    }
}

/// The protocol headers (RW1-04) after the user's (RW1-05: the protocol
/// headers are inserted last, so they always win; config validation already
/// refuses user headers with these names).
pub fn request_headers(user: &[(HeaderName, HeaderValue)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in user {
        headers.insert(name.clone(), value.clone());
    }
    headers.insert(
        reqwest::header::CONTENT_ENCODING,
        HeaderValue::from_static("snappy"),
    );
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    headers.insert(
        HeaderName::from_static("x-prometheus-remote-write-version"),
        HeaderValue::from_static(REMOTE_WRITE_VERSION),
    );
    headers.insert(
        reqwest::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rw1_16_status_classification() {
        for s in [500, 502, 503, 504, 429, 408] {
            assert_eq!(
                classify(StatusCode::from_u16(s).unwrap()),
                StatusClass::Retry,
                "{s}"
            );
        }
        for s in [400, 409, 413, 422] {
            assert_eq!(
                classify(StatusCode::from_u16(s).unwrap()),
                StatusClass::DataRejected,
                "{s}"
            );
        }
        for s in [
            401, 403, 404, 405, 407, 410, 418, 301, 302, 307, 308, 100, 199,
        ] {
            assert_eq!(
                classify(StatusCode::from_u16(s).unwrap()),
                StatusClass::NotJudged,
                "{s}"
            );
        }
        for s in [200, 204, 299] {
            assert_eq!(
                classify(StatusCode::from_u16(s).unwrap()),
                StatusClass::Accepted,
                "{s}"
            );
        }
    }

    #[test]
    fn debug_shows_no_query_token_or_header_value() {
        use super::super::config::{Secret, SecretSource};
        let mut config = RemoteWriteConfig::new(
            Url::parse("https://r.example/push?api_key=QUERYSECRET").unwrap(),
        );
        config.auth = Some(Auth::Bearer(SecretSource::Value(Secret::new(
            "TOKENSECRET",
        ))));
        let mut value = HeaderValue::from_static("HEADERSECRET");
        value.set_sensitive(true);
        config.headers = vec![(HeaderName::from_static("x-scope-orgid"), value)];
        let dbg = format!("{:?}", Transport::new(&config).unwrap());
        for secret in ["QUERYSECRET", "TOKENSECRET", "HEADERSECRET"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        assert!(
            dbg.contains("https://r.example/push?…") && dbg.contains("x-scope-orgid"),
            "{dbg}"
        );
    }

    #[test]
    fn rw1_04_protocol_headers_win() {
        let user = vec![(
            HeaderName::from_static("x-scope-orgid"),
            HeaderValue::from_static("team-a"),
        )];
        let h = request_headers(&user);
        assert_eq!(h["content-encoding"], "snappy");
        assert_eq!(h["content-type"], "application/x-protobuf");
        assert_eq!(h["x-prometheus-remote-write-version"], "0.1.0");
        assert!(h["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("copilot-metrics-exporter/"));
        assert_eq!(h["x-scope-orgid"], "team-a");
    }
}
