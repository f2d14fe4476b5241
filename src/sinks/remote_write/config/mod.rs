//! Remote-write configuration: the clap arguments (all settable from the
//! environment) and the validated [`RemoteWriteConfig`] built from them;
//! credentials and extra headers in `credentials.rs`.
//!
//! Secrets (tokens, passwords, custom header values) are held in [`Secret`],
//! whose `Debug`/`Display` print `[redacted]`, and `--help` never shows env values.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use super::sigv4::{AwsEnv, DEFAULT_SERVICE};
use super::tls::ClientIdentity;
pub use crate::secret::Secret;
use crate::settings::ConfigError;
use credentials::{parse_auth, parse_headers};
pub use credentials::{Auth, SecretSource};

mod credentials;

/// Default cap on samples per remote-write request (Prometheus sends at most
/// 2000 by default, vmagent 10000; a day of Copilot data is far below this).
pub const DEFAULT_MAX_SAMPLES_PER_REQUEST: usize = 5000;
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// Default bound on the time spent retrying one request.
pub const DEFAULT_MAX_RETRY_SECONDS: u64 = 300;
/// Default re-send interval of the snapshot (like a scrape interval).
pub const DEFAULT_INTERVAL_SECONDS: u64 = 60;
/// Default first retry delay.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Default longest retry delay.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Which timestamps remote-write samples carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TimestampMode {
    /// Each scope's newest report day, stamped at send time (works on any
    /// receiver with its default settings).
    Now,
    /// Every settled report day once, stamped at 12:00:00 UTC of that day
    /// (needs an out-of-order window, or VictoriaMetrics).
    ReportDay,
}

impl fmt::Display for TimestampMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampMode::Now => "now",
            TimestampMode::ReportDay => "report-day",
        })
    }
}

/// Remote-write command-line arguments, each also read from its environment
/// variable. Flatten into the CLI with `#[command(flatten)]`.
#[derive(Clone, Debug, clap::Args)]
#[command(next_help_heading = "Remote-write sink")]
pub struct RemoteWriteArgs {
    /// Remote-write receiver URL (e.g. http://prometheus:9090/api/v1/write);
    /// setting it enables the sink.
    #[arg(long, env = "REMOTE_WRITE_URL", hide_env_values = true)]
    pub remote_write_url: Option<Secret>,

    /// Bearer token for the receiver.
    #[arg(long, env = "REMOTE_WRITE_BEARER_TOKEN", hide_env_values = true)]
    pub remote_write_bearer_token: Option<Secret>,

    /// File holding the bearer token (re-read before every publish).
    #[arg(long, env = "REMOTE_WRITE_BEARER_TOKEN_FILE", hide_env_values = true)]
    pub remote_write_bearer_token_file: Option<PathBuf>,

    /// Basic-auth user name.
    #[arg(long, env = "REMOTE_WRITE_USERNAME", hide_env_values = true)]
    pub remote_write_username: Option<Secret>,

    /// Basic-auth password.
    #[arg(long, env = "REMOTE_WRITE_PASSWORD", hide_env_values = true)]
    pub remote_write_password: Option<Secret>,

    /// File holding the basic-auth password (re-read before every publish).
    #[arg(long, env = "REMOTE_WRITE_PASSWORD_FILE", hide_env_values = true)]
    pub remote_write_password_file: Option<PathBuf>,

    /// Extra request headers, `Name=value,Name2=value` (e.g.
    /// `X-Scope-OrgID=team-a` for Mimir). Protocol headers cannot be
    /// overridden, nor Authorization when auth is configured.
    #[arg(long, env = "REMOTE_WRITE_HEADERS", hide_env_values = true)]
    pub remote_write_headers: Option<Secret>,

    /// Extra PEM CA bundle trusted for the receiver (besides the built-in roots).
    #[arg(long, env = "REMOTE_WRITE_CA_FILE", hide_env_values = true)]
    pub remote_write_ca_file: Option<PathBuf>,

    /// PEM client certificate (chain) for receivers that require mutual TLS;
    /// needs REMOTE_WRITE_CLIENT_KEY_FILE.
    #[arg(long, env = "REMOTE_WRITE_CLIENT_CERT_FILE", hide_env_values = true)]
    pub remote_write_client_cert_file: Option<PathBuf>,

    /// PEM private key of REMOTE_WRITE_CLIENT_CERT_FILE.
    #[arg(long, env = "REMOTE_WRITE_CLIENT_KEY_FILE", hide_env_values = true)]
    pub remote_write_client_key_file: Option<PathBuf>,

    /// Sign requests with AWS SigV4 for this region (Amazon Managed Service
    /// for Prometheus); credentials come from the standard AWS environment
    /// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE,
    /// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, container credentials).
    #[arg(long, env = "REMOTE_WRITE_SIGV4_REGION")]
    pub remote_write_sigv4_region: Option<String>,

    /// SigV4 signing name.
    #[arg(long, env = "REMOTE_WRITE_SIGV4_SERVICE", default_value = DEFAULT_SERVICE)]
    pub remote_write_sigv4_service: String,

    /// Sample timestamps: `now` (newest day, stamped at send time) or
    /// `report-day` (every settled day once, at 12:00 UTC of that day).
    #[arg(
        long,
        env = "REMOTE_WRITE_TIMESTAMPS",
        value_enum,
        default_value_t = TimestampMode::Now
    )]
    pub remote_write_timestamps: TimestampMode,

    /// `report-day`: a day is sent once it is this many days old (GitHub
    /// revises recent days).
    #[arg(long, env = "REMOTE_WRITE_SETTLE_DAYS", default_value_t = 3)]
    pub remote_write_settle_days: u32,

    /// `report-day`: how many days back the first run reaches (1..=365).
    #[arg(long, env = "BACKFILL_DAYS", default_value_t = 28)]
    pub backfill_days: u32,

    /// Directory for the per-scope "last day sent" marks of `report-day`
    /// mode; without it they live in memory only.
    #[arg(long, env = "STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// Timeout of one remote-write HTTP request, in seconds.
    #[arg(long, env = "REMOTE_WRITE_TIMEOUT_SECONDS", default_value_t = DEFAULT_TIMEOUT_SECONDS)]
    pub remote_write_timeout_seconds: u64,

    /// How long one request may be retried (5xx, 429, transport errors)
    /// before it counts as failed, in seconds.
    #[arg(long, env = "REMOTE_WRITE_MAX_RETRY_SECONDS", default_value_t = DEFAULT_MAX_RETRY_SECONDS)]
    pub remote_write_max_retry_seconds: u64,

    /// Most samples in one remote-write request.
    #[arg(long, env = "REMOTE_WRITE_MAX_SAMPLES_PER_REQUEST", default_value_t = DEFAULT_MAX_SAMPLES_PER_REQUEST)]
    pub remote_write_max_samples_per_request: usize,

    /// Long-running mode: re-send the `now`-stamped snapshot every this many
    /// seconds between refreshes, so instant queries always see it; 0 turns
    /// it off.
    #[arg(long, env = "REMOTE_WRITE_INTERVAL_SECONDS", default_value_t = DEFAULT_INTERVAL_SECONDS)]
    pub remote_write_interval_seconds: u64,
}

impl Default for RemoteWriteArgs {
    fn default() -> Self {
        RemoteWriteArgs {
            remote_write_url: None,
            remote_write_bearer_token: None,
            remote_write_bearer_token_file: None,
            remote_write_username: None,
            remote_write_password: None,
            remote_write_password_file: None,
            remote_write_headers: None,
            remote_write_ca_file: None,
            remote_write_client_cert_file: None,
            remote_write_client_key_file: None,
            remote_write_sigv4_region: None,
            remote_write_sigv4_service: DEFAULT_SERVICE.to_string(),
            remote_write_timestamps: TimestampMode::Now,
            remote_write_settle_days: 3,
            backfill_days: 28,
            state_dir: None,
            remote_write_timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            remote_write_max_retry_seconds: DEFAULT_MAX_RETRY_SECONDS,
            remote_write_max_samples_per_request: DEFAULT_MAX_SAMPLES_PER_REQUEST,
            remote_write_interval_seconds: DEFAULT_INTERVAL_SECONDS,
        }
    }
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(var, message)
}

/// Retry schedule for one request: exponential backoff with jitter from
/// `initial_backoff` up to `max_backoff`, given up after `max_duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry (before jitter).
    pub initial_backoff: Duration,
    /// Longest delay between two attempts (before jitter; a longer
    /// `Retry-After` is honoured up to the deadline).
    pub max_backoff: Duration,
    /// Total time one request may take, retries included.
    pub max_duration: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_duration: Duration::from_secs(DEFAULT_MAX_RETRY_SECONDS),
        }
    }
}

/// Validated remote-write settings. `Debug` prints the URL without query
/// or credentials and no secret.
#[derive(Clone)]
pub struct RemoteWriteConfig {
    /// Receiver URL (may hold a secret in its query: print [`Self::display_url`]).
    pub url: Url,
    /// Authentication, if any.
    pub auth: Option<Auth>,
    /// Extra headers, validated against the reserved protocol headers.
    /// Values are marked sensitive and print as `Sensitive`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Extra trusted CA certificates.
    pub ca_certs: Vec<reqwest::Certificate>,
    /// TLS client certificate, for receivers that require mutual TLS.
    pub client_identity: Option<ClientIdentity>,
    /// Which timestamps samples carry.
    pub mode: TimestampMode,
    /// `report-day`: days younger than this are not sent yet.
    pub settle_days: u32,
    /// `report-day`: how far back the first run reaches.
    pub backfill_days: u32,
    /// Where the per-scope high-water marks are stored (`None`: memory).
    pub state_dir: Option<PathBuf>,
    /// Timeout of one HTTP attempt.
    pub timeout: Duration,
    /// Retry schedule of one request.
    pub retry: RetryPolicy,
    /// Most samples per request.
    pub max_samples_per_request: usize,
    /// Re-send interval of the snapshot in the long-running mode (`None`:
    /// only after refreshes).
    pub resend_interval: Option<Duration>,
}

impl fmt::Debug for RemoteWriteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RemoteWriteConfig")
            .field("url", &self.display_url())
            .field("auth", &self.auth)
            .field("headers", &header_names)
            .field("ca_certs", &self.ca_certs.len())
            .field("client_identity", &self.client_identity)
            .field("mode", &self.mode)
            .field("settle_days", &self.settle_days)
            .field("backfill_days", &self.backfill_days)
            .field("state_dir", &self.state_dir)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_samples_per_request", &self.max_samples_per_request)
            .field("resend_interval", &self.resend_interval)
            .finish()
    }
}

impl RemoteWriteConfig {
    /// A configuration with defaults for everything but the URL (for tests
    /// and programmatic use).
    pub fn new(url: Url) -> Self {
        RemoteWriteConfig {
            url,
            auth: None,
            headers: Vec::new(),
            ca_certs: Vec::new(),
            client_identity: None,
            mode: TimestampMode::Now,
            settle_days: 3,
            backfill_days: 28,
            state_dir: None,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECONDS),
            retry: RetryPolicy::default(),
            max_samples_per_request: DEFAULT_MAX_SAMPLES_PER_REQUEST,
            resend_interval: Some(Duration::from_secs(DEFAULT_INTERVAL_SECONDS)),
        }
    }

    /// Validates the arguments. `Ok(None)` when `REMOTE_WRITE_URL` is unset
    /// (the sink is off). Secret files are read once here to fail early.
    /// SigV4 credentials come from this process's `AWS_*` environment.
    pub fn from_args(args: &RemoteWriteArgs) -> Result<Option<Self>, ConfigError> {
        Self::from_args_with_aws_env(args, &AwsEnv::from_os())
    }

    /// [`Self::from_args`] with the AWS environment given.
    pub fn from_args_with_aws_env(
        args: &RemoteWriteArgs,
        aws_env: &AwsEnv,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(raw_url) = args.remote_write_url.as_ref() else {
            return Ok(None);
        };
        let url = parse_url(raw_url.expose())?;
        let auth = parse_auth(args, aws_env)?;
        let sigv4 = matches!(auth, Some(Auth::SigV4(_)));
        let headers = parse_headers(args.remote_write_headers.as_ref(), auth.is_some(), sigv4)?;
        let client_identity = ClientIdentity::from_files(
            args.remote_write_client_cert_file.as_deref(),
            args.remote_write_client_key_file.as_deref(),
        )?;

        let ca_certs = match &args.remote_write_ca_file {
            None => Vec::new(),
            Some(path) => crate::httputil::read_ca_bundle("REMOTE_WRITE_CA_FILE", path)?,
        };

        if args.remote_write_settle_days > 365 {
            return Err(err("REMOTE_WRITE_SETTLE_DAYS", "must be between 0 and 365"));
        }
        if !(1..=365).contains(&args.backfill_days) {
            return Err(err("BACKFILL_DAYS", "must be between 1 and 365"));
        }
        if !(1..=3600).contains(&args.remote_write_timeout_seconds) {
            return Err(err(
                "REMOTE_WRITE_TIMEOUT_SECONDS",
                "must be between 1 and 3600",
            ));
        }
        if args.remote_write_max_retry_seconds > 86_400 {
            return Err(err(
                "REMOTE_WRITE_MAX_RETRY_SECONDS",
                "must be between 0 and 86400",
            ));
        }
        if !(1..=1_000_000).contains(&args.remote_write_max_samples_per_request) {
            return Err(err(
                "REMOTE_WRITE_MAX_SAMPLES_PER_REQUEST",
                "must be between 1 and 1000000",
            ));
        }
        if args.remote_write_interval_seconds > 86_400 {
            return Err(err(
                "REMOTE_WRITE_INTERVAL_SECONDS",
                "must be between 0 (off) and 86400",
            ));
        }
        if let Some(dir) = &args.state_dir {
            if dir.as_os_str().is_empty() {
                return Err(err("STATE_DIR", "must not be empty"));
            }
        }

        Ok(Some(RemoteWriteConfig {
            url,
            auth,
            headers,
            ca_certs,
            client_identity,
            mode: args.remote_write_timestamps,
            settle_days: args.remote_write_settle_days,
            backfill_days: args.backfill_days,
            state_dir: args.state_dir.clone(),
            timeout: Duration::from_secs(args.remote_write_timeout_seconds),
            retry: RetryPolicy {
                max_duration: Duration::from_secs(args.remote_write_max_retry_seconds),
                ..RetryPolicy::default()
            },
            max_samples_per_request: args.remote_write_max_samples_per_request,
            resend_interval: (args.remote_write_interval_seconds > 0)
                .then(|| Duration::from_secs(args.remote_write_interval_seconds)),
        }))
    }

    /// The URL as it may be printed: no user info, query replaced by `?…`.
    pub fn display_url(&self) -> String {
        display_url(&self.url)
    }
}

/// `scheme://host[:port]/path`, plus `?…` when a query was present (it may
/// hold an API key).
pub fn display_url(url: &Url) -> String {
    let mut out = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        out.push_str(host);
    }
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    if url.query().is_some() {
        out.push_str("?…");
    }
    out
}

fn parse_url(raw: &str) -> Result<Url, ConfigError> {
    const VAR: &str = "REMOTE_WRITE_URL";
    let url =
        Url::parse(raw.trim()).map_err(|e| err(VAR, format!("not a valid absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(VAR, "scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(err(VAR, "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(
            VAR,
            "must not carry credentials; use REMOTE_WRITE_USERNAME and REMOTE_WRITE_PASSWORD",
        ));
    }
    if url.fragment().is_some() {
        return Err(err(VAR, "must not have a #fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
