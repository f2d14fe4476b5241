//! Pushgateway settings: the flags (each also an environment variable) and
//! the validated [`PushgatewayConfig`], with the grouping-key paths.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use crate::httputil::{parse_header_list, read_ca_bundle};
use crate::model::scope::{encode_path_segment, Scope};
use crate::secret::{Secret, SecretSource};
use crate::settings::{parse_base_url, ConfigError};
use crate::sinks::labels::ExternalLabels;

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

    /// Bearer token for the Pushgateway (e.g. behind an auth proxy).
    /// Prefer PUSHGATEWAY_BEARER_TOKEN_FILE.
    #[arg(
        long,
        env = "PUSHGATEWAY_BEARER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub pushgateway_bearer_token: Option<Secret>,

    /// File holding the bearer token (re-read before every push).
    #[arg(long, env = "PUSHGATEWAY_BEARER_TOKEN_FILE", value_name = "PATH")]
    pub pushgateway_bearer_token_file: Option<PathBuf>,

    /// Extra request headers, `Name=value,Name2=value`; Content-Type cannot
    /// be overridden, nor Authorization when auth is configured.
    #[arg(
        long,
        env = "PUSHGATEWAY_HEADERS",
        hide_env_values = true,
        value_name = "HEADERS"
    )]
    pub pushgateway_headers: Option<Secret>,

    /// Extra PEM CA bundle trusted for the Pushgateway (besides the
    /// built-in roots).
    #[arg(long, env = "PUSHGATEWAY_CA_FILE", value_name = "PATH")]
    pub pushgateway_ca_file: Option<PathBuf>,

    /// Timeout of one push request, in seconds.
    #[arg(
        long,
        env = "PUSHGATEWAY_TIMEOUT_SECONDS",
        default_value = "30",
        value_name = "SECONDS"
    )]
    pub pushgateway_timeout_seconds: u64,

    /// Attempts per push (transport errors, 5xx, 408 and 429 are retried,
    /// honouring Retry-After; other statuses never).
    #[arg(
        long,
        env = "PUSHGATEWAY_ATTEMPTS",
        default_value = "3",
        value_name = "N"
    )]
    pub pushgateway_attempts: u32,

    /// Delay before the first retry, in milliseconds; doubled for each
    /// further retry, less up to half of it as jitter.
    #[arg(
        long,
        env = "PUSHGATEWAY_RETRY_DELAY_MS",
        default_value = "1000",
        value_name = "MS"
    )]
    pub pushgateway_retry_delay_ms: u64,
}

/// How pushes authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushAuth {
    /// Basic auth.
    Basic {
        /// User name.
        username: String,
        /// Password (redacted in `Debug`).
        password: Secret,
    },
    /// `Authorization: Bearer …`, the value or a file re-read every push.
    Bearer(SecretSource),
}

/// Validated Pushgateway settings.
#[derive(Clone, Debug)]
pub struct PushgatewayConfig {
    /// Base URL, without trailing slash, query or credentials.
    pub url: Url,
    /// `job` of the grouping key.
    pub job: String,
    /// Basic or bearer auth, when configured.
    pub auth: Option<PushAuth>,
    /// Extra request headers (values marked sensitive).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Extra trusted CA certificates.
    pub ca_certs: Vec<reqwest::Certificate>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Attempts per push (at least 1).
    pub attempts: u32,
    /// Delay before the first retry (doubled each time).
    pub retry_delay: Duration,
    /// External labels (`EXTERNAL_LABELS`), added to the grouping key
    /// between `job` and the scope label.
    pub external_labels: ExternalLabels,
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
        let basic = match (username, password) {
            (Some(u), Some(p)) => {
                if u.contains(':') || u.chars().any(char::is_control) {
                    return Err(ConfigError::new("PUSHGATEWAY_USERNAME",
                        "PUSHGATEWAY_USERNAME must not contain `:` or control characters",
                    ));
                }
                Some(PushAuth::Basic {
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
        let bearer = bearer_source(args)?;
        let auth = match (basic, bearer) {
            (Some(_), Some(_)) => return Err(ConfigError::new(
                "PUSHGATEWAY_BEARER_TOKEN",
                "bearer auth and basic auth (PUSHGATEWAY_USERNAME/PASSWORD) are mutually exclusive",
            )),
            (basic, bearer) => basic.or(bearer.map(PushAuth::Bearer)),
        };
        let headers = match &args.pushgateway_headers {
            None => Vec::new(),
            Some(raw) => parse_header_list(
                "PUSHGATEWAY_HEADERS",
                raw.expose(),
                &[
                    "content-type",
                    "content-length",
                    "transfer-encoding",
                    "host",
                    "connection",
                ],
                auth.is_some()
                    .then_some("PUSHGATEWAY_USERNAME or PUSHGATEWAY_BEARER_TOKEN"),
            )?,
        };
        let ca_certs = match args
            .pushgateway_ca_file
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            None => Vec::new(),
            Some(path) => read_ca_bundle("PUSHGATEWAY_CA_FILE", path)?,
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
            headers,
            ca_certs,
            external_labels: ExternalLabels::default(),
        }))
    }

    /// The grouping-key path of a scope:
    /// `/metrics/job/<job>[/<external label>/<value>…]/{org|enterprise}/<name>`.
    pub fn group_path(&self, scope: &Scope) -> String {
        let mut path = format!("/metrics/{}", label_segments("job", &self.job));
        for (name, value) in self.external_labels.pairs() {
            path.push('/');
            path.push_str(&label_segments(name, value));
        }
        path.push('/');
        path.push_str(&label_segments(scope.label_name(), &scope.name));
        path
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

/// RFC 4648 §5 URL-safe base64, without padding (the Pushgateway's
/// `@base64` form).
pub fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The bearer token setting: the value or the file (read once here to fail
/// early, and again before every push).
fn bearer_source(args: &PushgatewayArgs) -> Result<Option<SecretSource>, ConfigError> {
    let file = args
        .pushgateway_bearer_token_file
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty());
    let value = args
        .pushgateway_bearer_token
        .as_ref()
        .filter(|t| !t.is_empty());
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            "PUSHGATEWAY_BEARER_TOKEN_FILE",
            "set either PUSHGATEWAY_BEARER_TOKEN or PUSHGATEWAY_BEARER_TOKEN_FILE, not both",
        )),
        (Some(token), None) => Ok(Some(SecretSource::Value(token.clone()))),
        (None, Some(path)) => {
            Secret::read_file(path)
                .map_err(|m| ConfigError::new("PUSHGATEWAY_BEARER_TOKEN_FILE", m))?;
            Ok(Some(SecretSource::File(path.clone())))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
