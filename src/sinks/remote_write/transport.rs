//! Request building (headers, auth) and delivery (reqwest + retry).
//!
//! Retry rules (RW1-16): transport errors, 5xx and 429 are retried with
//! exponential backoff and jitter, honouring `Retry-After`, until the
//! policy's deadline; every other non-2xx status is final. Response bodies are
//! never interpreted (RW1-08/14), only logged, truncated to 1 KiB
//! ([`read_error_body`]).

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use url::Url;

use super::auth::AuthError;
pub(crate) use super::auth::ResolvedAuth;
use super::config::{display_url, Auth, RemoteWriteConfig, RetryPolicy};
use crate::httputil::{error_chain, read_error_body, USER_AGENT};

/// `X-Prometheus-Remote-Write-Version` sent with every request (RW1-04, RW1-09).
pub const REMOTE_WRITE_VERSION: &str = "0.1.0";

/// Why a request was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The receiver refused the request with a status that is not retried
    /// (4xx except 429, or an unexpected 1xx/3xx): the data is dropped.
    #[error("{url} rejected the request: HTTP {status}: {body}")]
    Rejected {
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

    /// POSTs `body`, retrying per the policy. `samples` is only used in logs.
    pub(crate) async fn send(
        &self,
        body: Bytes,
        samples: usize,
        auth: &ResolvedAuth,
        observer: &(dyn AttemptObserver + Sync),
    ) -> Result<Delivered, SendError> {
        let started = Instant::now();
        let deadline = started + self.retry.max_duration;
        let mut attempt: u32 = 0;
        let mut rng = Jitter::seeded();
        loop {
            attempt += 1;
            let mut request = self
                .client
                .post(self.url.clone())
                .headers(self.headers.clone())
                .timeout(self.timeout)
                .body(body.clone());
            if attempt > 1 {
                request = request.header("Retry-Attempt", (attempt - 1).to_string());
            }
            let sent = match auth.authorize(request).await {
                Ok(request) => self.client.execute(request).await,
                Err(AuthError::Build(e)) => Err(e),
                Err(AuthError::Credentials(message)) => {
                    return Err(SendError::Credentials {
                        url: self.display_url.clone(),
                        message,
                    })
                }
            };

            let (last, retry_after) = match sent {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        // RW1-08: the body is ignored.
                        return Ok(Delivered { attempts: attempt });
                    }
                    let retry_after = parse_retry_after(response.headers(), SystemTime::now());
                    let body = read_error_body(response).await;
                    if !is_retryable(status) {
                        return Err(SendError::Rejected {
                            url: self.display_url.clone(),
                            status: status.as_u16(),
                            body,
                        });
                    }
                    (format!("HTTP {}: {body}", status.as_u16()), retry_after)
                }
                Err(e) => (error_chain(e), None),
            };

            let backoff = backoff_delay(&self.retry, attempt, &mut rng);
            // Retry-After wins over the computed backoff (Prometheus does the same).
            let delay = retry_after.unwrap_or(backoff);
            let now = Instant::now();
            if now + delay > deadline {
                return Err(SendError::Failed {
                    url: self.display_url.clone(),
                    attempts: attempt,
                    last,
                });
            }
            tracing::warn!(
                url = %self.display_url,
                attempt,
                samples,
                delay_ms = delay.as_millis() as u64,
                error = %last,
                "remote-write attempt failed; retrying"
            );
            observer.retrying();
            tokio::time::sleep(delay).await;
        }
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

/// 5xx and 429 are retried (RW1-16); everything else that is not 2xx is final.
pub fn is_retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date. Capped at one hour.
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let delay = if let Ok(secs) = raw.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
        let when =
            SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(when.timestamp()).ok()?);
        when.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(Duration::from_secs(3600)))
}

/// Exponential backoff (`initial · 2^(attempt-1)`, capped) with jitter: a
/// uniformly random delay between half and all of it.
pub fn backoff_delay(policy: &RetryPolicy, attempt: u32, jitter: &mut Jitter) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let base = policy
        .initial_backoff
        .saturating_mul(1u32 << exp)
        .min(policy.max_backoff);
    let half = base / 2;
    half + Duration::from_nanos(jitter.below(half.as_nanos().min(u64::MAX as u128) as u64 + 1))
}

/// A small xorshift generator for backoff jitter (no crypto needed).
#[derive(Clone, Debug)]
pub struct Jitter(u64);

impl Jitter {
    /// Seeded from the clock and the address of the stack.
    pub fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let local = 0u8;
        let addr = &local as *const u8 as u64;
        Jitter((nanos ^ addr.rotate_left(32)) | 1)
    }

    /// A value in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rw1_16_status_classification() {
        for s in [500, 502, 503, 504, 429] {
            assert!(is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 413, 415, 301, 302] {
            assert!(!is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            parse_retry_after(&h, SystemTime::now()),
            Some(Duration::from_secs(7))
        );
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_767);
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(10)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("soon"),
        );
        assert_eq!(parse_retry_after(&h, now), None);
    }

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_duration: Duration::from_secs(10),
        };
        let mut j = Jitter::seeded();
        for (attempt, base) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let d = backoff_delay(&policy, attempt, &mut j);
            assert!(d >= Duration::from_millis(base / 2), "{attempt}: {d:?}");
            assert!(d <= Duration::from_millis(base), "{attempt}: {d:?}");
        }
        let samples: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| backoff_delay(&policy, 3, &mut j)).collect();
        assert!(samples.len() > 1, "jitter varies the delay");
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
