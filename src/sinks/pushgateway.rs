//! The Pushgateway sink: one group per scope, replaced with `PUT` after
//! every refresh.
//!
//! Group: `/metrics/job/<job>/org/<login>` or
//! `/metrics/job/<job>/enterprise/<slug>`. Body: delimited protobuf
//! `MetricFamily` without timestamps (the Pushgateway rejects them): the
//! scope's newest report day, its current values, and the batch-job gauges
//! `copilot_exporter_last_success_timestamp_seconds` and
//! `copilot_exporter_collect_duration_seconds`. `PUT` replaces the whole
//! group, so a series that vanished from the data vanishes from the group.
//!
//! The client is our own, async, on reqwest: the `prometheus` crate's push
//! helper is blocking and panics inside a tokio runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prometheus::proto::MetricFamily;
use prometheus::{Encoder, IntCounterVec, Opts, ProtobufEncoder, Registry};
use url::Url;

use crate::httputil::{read_error_body, with_causes, USER_AGENT};
use crate::model::scope::{encode_path_segment, Scope};
use crate::model::snapshot::ScopeState;
use crate::model::ScopeData;
use crate::secret::Secret;
use crate::settings::{parse_base_url, ConfigError};
use crate::sinks::exposition::{add_scope_data, add_scope_health, FamilyBuilder};

/// `Content-Type` of a delimited-protobuf push.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Default `job` of the grouping key.
pub const DEFAULT_JOB: &str = "copilot-metrics-exporter";

/// Pushgateway flags, flattened into the command line by `config`.
#[derive(clap::Args, Clone, Debug)]
pub struct PushgatewayArgs {
    /// Pushgateway base URL (e.g. http://pushgateway:9091); setting it
    /// enables the push sink.
    #[arg(long, env = "PUSHGATEWAY_URL", value_name = "URL")]
    pub pushgateway_url: Option<String>,

    /// `job` label of the grouping key.
    #[arg(long, env = "PUSHGATEWAY_JOB", default_value = DEFAULT_JOB, value_name = "JOB")]
    pub pushgateway_job: String,

    /// Basic-auth user name for the Pushgateway.
    #[arg(long, env = "PUSHGATEWAY_USERNAME", value_name = "USER")]
    pub pushgateway_username: Option<String>,

    /// Basic-auth password for the Pushgateway. Prefer PUSHGATEWAY_PASSWORD_FILE.
    #[arg(
        long,
        env = "PUSHGATEWAY_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub pushgateway_password: Option<Secret>,

    /// File holding the Pushgateway basic-auth password.
    #[arg(long, env = "PUSHGATEWAY_PASSWORD_FILE", value_name = "PATH")]
    pub pushgateway_password_file: Option<PathBuf>,

    /// Timeout of one push request, in seconds.
    #[arg(
        long,
        env = "PUSHGATEWAY_TIMEOUT_SECONDS",
        default_value = "30",
        value_name = "SECONDS"
    )]
    pub pushgateway_timeout_seconds: u64,

    /// Attempts per push (transport errors and 5xx are retried; 4xx never).
    #[arg(
        long,
        env = "PUSHGATEWAY_ATTEMPTS",
        default_value = "3",
        value_name = "N"
    )]
    pub pushgateway_attempts: u32,

    /// Delay before the first retry, in milliseconds; doubled for each
    /// further retry.
    #[arg(
        long,
        env = "PUSHGATEWAY_RETRY_DELAY_MS",
        default_value = "1000",
        value_name = "MS"
    )]
    pub pushgateway_retry_delay_ms: u64,
}

/// Basic-auth credentials.
#[derive(Clone, Debug)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password (redacted in `Debug`).
    pub password: Secret,
}

/// Validated Pushgateway settings.
#[derive(Clone, Debug)]
pub struct PushgatewayConfig {
    /// Base URL, without trailing slash, query or credentials.
    pub url: Url,
    /// `job` of the grouping key.
    pub job: String,
    /// Basic auth, when configured.
    pub auth: Option<BasicAuth>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Attempts per push (at least 1).
    pub attempts: u32,
    /// Delay before the first retry (doubled each time).
    pub retry_delay: Duration,
}

impl PushgatewayConfig {
    /// Validates the flags; `None` when `PUSHGATEWAY_URL` is unset or empty.
    /// Errors name the variable at fault.
    pub fn from_args(args: &PushgatewayArgs) -> Result<Option<PushgatewayConfig>, ConfigError> {
        let Some(raw) = args
            .pushgateway_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        let url = parse_base_url("PUSHGATEWAY_URL", raw)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::new("PUSHGATEWAY_URL",
                "PUSHGATEWAY_URL: must not have a query or fragment (the group path is appended to it)",
            ));
        }
        let job = args.pushgateway_job.trim().to_string();
        if job.is_empty() {
            return Err(ConfigError::new(
                "PUSHGATEWAY_JOB",
                "PUSHGATEWAY_JOB must not be empty",
            ));
        }
        if job.chars().any(char::is_control) {
            return Err(ConfigError::new(
                "PUSHGATEWAY_JOB",
                "PUSHGATEWAY_JOB must not contain control characters",
            ));
        }
        let password = Secret::from_value_or_file(
            "PUSHGATEWAY_PASSWORD",
            args.pushgateway_password.as_ref().map(Secret::expose),
            args.pushgateway_password_file.as_deref(),
        )
        .map_err(|e| ConfigError::new("PUSHGATEWAY_PASSWORD_FILE", e))?;
        let username = args
            .pushgateway_username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let auth = match (username, password) {
            (Some(u), Some(p)) => {
                if u.contains(':') || u.chars().any(char::is_control) {
                    return Err(ConfigError::new("PUSHGATEWAY_USERNAME",
                        "PUSHGATEWAY_USERNAME must not contain `:` or control characters",
                    ));
                }
                Some(BasicAuth {
                    username: u.to_string(),
                    password: p,
                })
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::new("PUSHGATEWAY_USERNAME",
                    "PUSHGATEWAY_USERNAME is set: set PUSHGATEWAY_PASSWORD or PUSHGATEWAY_PASSWORD_FILE too",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new("PUSHGATEWAY_PASSWORD",
                    "PUSHGATEWAY_PASSWORD is set: set PUSHGATEWAY_USERNAME too",
                ))
            }
        };
        if args.pushgateway_timeout_seconds == 0 {
            return Err(ConfigError::new(
                "PUSHGATEWAY_TIMEOUT_SECONDS",
                "PUSHGATEWAY_TIMEOUT_SECONDS must be at least 1",
            ));
        }
        if !(1..=10).contains(&args.pushgateway_attempts) {
            return Err(ConfigError::new(
                "PUSHGATEWAY_ATTEMPTS",
                "PUSHGATEWAY_ATTEMPTS must be between 1 and 10",
            ));
        }
        if args.pushgateway_retry_delay_ms > 600_000 {
            return Err(ConfigError::new(
                "PUSHGATEWAY_RETRY_DELAY_MS",
                "PUSHGATEWAY_RETRY_DELAY_MS must be at most 600000 (10 minutes)",
            ));
        }
        Ok(Some(PushgatewayConfig {
            url,
            job,
            auth,
            timeout: Duration::from_secs(args.pushgateway_timeout_seconds),
            attempts: args.pushgateway_attempts,
            retry_delay: Duration::from_millis(args.pushgateway_retry_delay_ms),
        }))
    }

    /// The grouping-key path of a scope:
    /// `/metrics/job/<job>/{org|enterprise}/<name>`.
    pub fn group_path(&self, scope: &Scope) -> String {
        format!(
            "/metrics/{}/{}",
            label_segments("job", &self.job),
            label_segments(scope.label_name(), &scope.name)
        )
    }

    /// The full URL of a scope's group (no credentials: they travel in a
    /// header).
    pub fn group_url(&self, scope: &Scope) -> String {
        format!(
            "{}{}",
            self.url.as_str().trim_end_matches('/'),
            self.group_path(scope)
        )
    }
}

/// One `<name>/<value>` pair of a grouping-key path. A value that is empty,
/// contains `/`, or is a dot segment (`.` / `..`) uses the `<name>@base64`
/// form with URL-safe base64; other values are percent-encoded.
pub fn label_segments(name: &str, value: &str) -> String {
    if value.is_empty() {
        format!("{name}@base64/=")
    } else if value.contains('/') || value == "." || value == ".." {
        format!("{name}@base64/{}", base64_url(value.as_bytes()))
    } else {
        format!("{name}/{}", encode_path_segment(value))
    }
}

/// RFC 4648 §5 URL-safe base64, without padding.
pub fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The metric families of one scope's group: newest day, current values,
/// last-success time and collection duration.
pub fn scope_families(data: &ScopeData) -> Vec<MetricFamily> {
    let mut builder = FamilyBuilder::new();
    add_scope_data(&mut builder, data);
    let health = ScopeState {
        last_success: Some(data.collected_at),
        last_duration: Some(data.duration),
        ..ScopeState::default()
    };
    add_scope_health(&mut builder, &[(data.scope.clone(), health)]);
    builder.build()
}

/// Encodes families as delimited protobuf.
pub fn encode_protobuf(families: &[MetricFamily]) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    ProtobufEncoder::new()
        .encode(families, &mut buf)
        .map_err(|e| format!("cannot encode metrics: {e}"))?;
    Ok(buf)
}

/// Why a push failed.
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
}

impl PushFailure {
    fn retryable(&self) -> bool {
        match self {
            PushFailure::Status { code, .. } => *code >= 500,
            PushFailure::Transport(_) => true,
            PushFailure::Encode(_) => false,
        }
    }

    fn status_label(&self) -> String {
        match self {
            PushFailure::Status { code, .. } => code.to_string(),
            PushFailure::Transport(_) => "transport".into(),
            PushFailure::Encode(_) => "encode".into(),
        }
    }
}

impl std::fmt::Display for PushFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushFailure::Status { code, body } if body.is_empty() => write!(f, "HTTP {code}"),
            PushFailure::Status { code, body } => write!(f, "HTTP {code}: {body}"),
            PushFailure::Transport(e) => write!(f, "{e}"),
            PushFailure::Encode(e) => write!(f, "{e}"),
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
    /// The last failure.
    pub failure: PushFailure,
}

/// The sink's self-metrics.
#[derive(Clone)]
struct PushMetrics {
    pushes: IntCounterVec,
    failures: IntCounterVec,
}

impl PushMetrics {
    fn register(registry: &Registry) -> Result<PushMetrics, String> {
        let pushes = IntCounterVec::new(
            Opts::new(
                "copilot_exporter_pushgateway_pushes_total",
                "Pushes of a scope's group to the Pushgateway, by final result (success, failure).",
            ),
            &["result"],
        )
        .map_err(|e| e.to_string())?;
        let failures = IntCounterVec::new(
            Opts::new(
                "copilot_exporter_pushgateway_push_failures_total",
                "Failed Pushgateway push attempts (retries included), by HTTP status or `transport`.",
            ),
            &["status"],
        )
        .map_err(|e| e.to_string())?;
        registry
            .register(Box::new(pushes.clone()))
            .map_err(|e| e.to_string())?;
        registry
            .register(Box::new(failures.clone()))
            .map_err(|e| e.to_string())?;
        // Show both results from the start.
        pushes.with_label_values(&["success"]);
        pushes.with_label_values(&["failure"]);
        Ok(PushMetrics { pushes, failures })
    }
}

/// Pushes every collected scope to its Pushgateway group.
#[derive(Clone)]
pub struct PushgatewaySink {
    config: Arc<PushgatewayConfig>,
    client: reqwest::Client,
    metrics: PushMetrics,
}

impl PushgatewaySink {
    /// Builds the HTTP client and registers the sink's self-metrics in
    /// `registry`.
    pub fn new(config: PushgatewayConfig, registry: &Registry) -> Result<PushgatewaySink, String> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("cannot build the Pushgateway HTTP client: {e}"))?;
        Ok(PushgatewaySink {
            config: Arc::new(config),
            client,
            metrics: PushMetrics::register(registry)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &PushgatewayConfig {
        &self.config
    }

    /// The base URL, for messages.
    pub fn url(&self) -> &str {
        self.config.url.as_str()
    }

    /// Pushes every scope in turn; returns the failures (empty when every
    /// group was replaced). A failed group keeps its previous metrics.
    pub async fn publish(&self, scopes: &[Arc<ScopeData>]) -> Vec<PushError> {
        let mut failed = Vec::new();
        for data in scopes {
            if let Err(e) = self.push_scope(data).await {
                failed.push(e);
            }
        }
        failed
    }

    /// Replaces the group of one scope (`PUT`), retrying transport errors
    /// and 5xx with exponential backoff.
    pub async fn push_scope(&self, data: &ScopeData) -> Result<(), PushError> {
        let url = self.config.group_url(&data.scope);
        let result = self.push_with_retries(&url, data).await;
        match &result {
            Ok(attempts) => {
                self.metrics.pushes.with_label_values(&["success"]).inc();
                tracing::info!(scope = %data.scope, url = %url, attempts, "pushed to the Pushgateway");
            }
            Err(_) => {
                // The caller logs the error (once, with the other sinks').
                self.metrics.pushes.with_label_values(&["failure"]).inc();
            }
        }
        result.map(|_| ())
    }

    async fn push_with_retries(&self, url: &str, data: &ScopeData) -> Result<u32, PushError> {
        let fail = |attempts, failure| PushError {
            scope: data.scope.clone(),
            url: url.to_string(),
            attempts,
            failure,
        };
        let body =
            encode_protobuf(&scope_families(data)).map_err(|e| fail(0, PushFailure::Encode(e)))?;
        let mut delay = self.config.retry_delay;
        let mut attempt = 1;
        loop {
            match self.put_once(url, body.clone()).await {
                Ok(()) => return Ok(attempt),
                Err(failure) => {
                    self.metrics
                        .failures
                        .with_label_values(&[&failure.status_label()])
                        .inc();
                    if !failure.retryable() || attempt >= self.config.attempts {
                        return Err(fail(attempt, failure));
                    }
                    tracing::warn!(
                        scope = %data.scope,
                        %url,
                        attempt,
                        error = %failure,
                        retry_in_ms = delay.as_millis() as u64,
                        "Pushgateway push failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
            }
        }
    }

    async fn put_once(&self, url: &str, body: Vec<u8>) -> Result<(), PushFailure> {
        let mut request = self
            .client
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, PROTOBUF_CONTENT_TYPE)
            .body(body);
        if let Some(auth) = &self.config.auth {
            request = request.basic_auth(&auth.username, Some(auth.password.expose()));
        }
        let response = request
            .send()
            .await
            .map_err(|e| PushFailure::Transport(describe_transport(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(PushFailure::Status {
            code: status.as_u16(),
            body: read_error_body(response).await,
        })
    }
}

/// A transport error with its causes, without the URL (the caller adds it).
fn describe_transport(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    with_causes(kind.to_string(), e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct TestCli {
        #[command(flatten)]
        args: PushgatewayArgs,
    }

    fn config(args: &[&str]) -> Result<Option<PushgatewayConfig>, ConfigError> {
        let mut full = vec!["x"];
        full.extend_from_slice(args);
        PushgatewayConfig::from_args(&TestCli::try_parse_from(full).unwrap().args)
    }

    #[test]
    fn base64_matches_rfc4648_url_safe() {
        assert_eq!(base64_url(b""), "");
        assert_eq!(base64_url(b"f"), "Zg");
        assert_eq!(base64_url(b"fo"), "Zm8");
        assert_eq!(base64_url(b"foo"), "Zm9v");
        assert_eq!(base64_url(b"foob"), "Zm9vYg");
        assert_eq!(base64_url(b"\xfb\xff"), "-_8");
        assert_eq!(base64_url(b"a/b"), "YS9i");
    }

    #[test]
    fn group_paths() {
        let c = config(&["--pushgateway-url", "http://pgw:9091/prefix/"])
            .unwrap()
            .unwrap();
        assert_eq!(
            c.group_url(&Scope::org("octo-org")),
            "http://pgw:9091/prefix/metrics/job/copilot-metrics-exporter/org/octo-org"
        );
        assert_eq!(
            c.group_path(&Scope::enterprise("a/b")),
            "/metrics/job/copilot-metrics-exporter/enterprise@base64/YS9i"
        );
        assert_eq!(
            c.group_path(&Scope::org("a b?#%")),
            "/metrics/job/copilot-metrics-exporter/org/a%20b%3F%23%25"
        );
        assert_eq!(label_segments("org", ""), "org@base64/=");
        assert_eq!(label_segments("org", ".."), "org@base64/Li4");
        let c = config(&[
            "--pushgateway-url",
            "http://pgw",
            "--pushgateway-job",
            "team/x",
        ])
        .unwrap()
        .unwrap();
        assert!(c
            .group_path(&Scope::org("o"))
            .starts_with("/metrics/job@base64/dGVhbS94/org/o"));
    }

    #[test]
    fn validation_names_the_variables() {
        assert!(config(&[]).unwrap().is_none());
        let err = |args: &[&str]| config(args).unwrap_err().to_string();
        assert!(err(&["--pushgateway-url", "nope"]).contains("PUSHGATEWAY_URL"));
        assert!(err(&["--pushgateway-url", "http://u:p@h"]).contains("PUSHGATEWAY_URL"));
        assert!(err(&["--pushgateway-url", "http://h?x=1"]).contains("PUSHGATEWAY_URL"));
        assert!(
            err(&["--pushgateway-url", "http://h", "--pushgateway-job", " "])
                .contains("PUSHGATEWAY_JOB")
        );
        assert!(err(&[
            "--pushgateway-url",
            "http://h",
            "--pushgateway-username",
            "u"
        ])
        .contains("PUSHGATEWAY_PASSWORD"));
        assert!(err(&[
            "--pushgateway-url",
            "http://h",
            "--pushgateway-password",
            "p"
        ])
        .contains("PUSHGATEWAY_USERNAME"));
        assert!(err(&[
            "--pushgateway-url",
            "http://h",
            "--pushgateway-attempts",
            "0"
        ])
        .contains("PUSHGATEWAY_ATTEMPTS"));
        let c = config(&[
            "--pushgateway-url",
            "https://h",
            "--pushgateway-username",
            "u",
            "--pushgateway-password",
            "hunter2-secret",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.auth.as_ref().unwrap().password.expose(), "hunter2-secret");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn families_carry_no_timestamps_and_the_batch_job_gauges() {
        let mut data = ScopeData::new(Scope::org("o"));
        data.current.insert(
            crate::model::SeriesKey::new("copilot_seats_total", vec![("org".into(), "o".into())]),
            5.0,
            "Seats.",
        );
        data.duration = Duration::from_millis(1500);
        let families = scope_families(&data);
        let names: Vec<_> = families.iter().map(|f| f.name().to_string()).collect();
        assert_eq!(
            names,
            [
                "copilot_exporter_collect_duration_seconds",
                "copilot_exporter_last_success_timestamp_seconds",
                "copilot_seats_total"
            ]
        );
        assert!(families
            .iter()
            .flat_map(|f| f.get_metric())
            .all(|m| m.timestamp_ms() == 0));
        assert!(!encode_protobuf(&families).unwrap().is_empty());
    }
}
