//! The command line: every flag mirrored by an environment variable, the
//! lower modules' argument groups flattened in.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser, ValueEnum};

use crate::report::users::UserMetricsMode;
use crate::scheduler::SchedulerArgs;
use crate::secret::Secret;
use crate::settings::ConfigError;
use crate::sinks::pushgateway::PushgatewayArgs;
use crate::sinks::remote_write::RemoteWriteArgs;
use crate::sinks::SinkArgs;

/// Output format of the logs (always on stderr; stdout is kept for `--once`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Command-line interface. Flags and environment variables are equivalent;
/// a flag wins over its variable.
#[derive(Parser, Clone)]
#[command(
    name = "copilot-metrics-exporter",
    version,
    about = "Exports GitHub Copilot usage-metrics reports as Prometheus metrics",
    long_about = "Exports GitHub Copilot usage-metrics reports as Prometheus metrics: served on \
/metrics, pushed to a Pushgateway and/or sent with Prometheus remote-write.\n\n\
Exit codes: 0 success; 1 a scope or sink failed (--once) or the service could not run; \
2 configuration error."
)]
pub struct Cli {
    /// GitHub token (classic or fine-grained PAT). Prefer GHC_TOKEN_FILE.
    #[arg(long, env = "GHC_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub github_token: Option<Secret>,

    /// File holding the GitHub token (a mounted Kubernetes Secret).
    #[arg(long, env = "GHC_TOKEN_FILE", value_name = "PATH")]
    pub github_token_file: Option<PathBuf>,

    /// Organization login(s), comma-separated.
    #[arg(long, env = "ORG", value_delimiter = ',', value_name = "LOGIN")]
    pub org: Vec<String>,

    /// Enterprise slug(s), comma-separated.
    #[arg(long, env = "ENTERPRISE", value_delimiter = ',', value_name = "SLUG")]
    pub enterprise: Vec<String>,

    /// GitHub API base URL (GHE.com: `https://api.SUBDOMAIN.ghe.com`).
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub github_api_url: String,

    /// Seconds between refreshes of the reports.
    #[arg(long, env = "CACHE_TTL_SECONDS", default_value = "3600", value_parser = parse_seconds)]
    pub cache_ttl_seconds: u64,

    /// Address of the /metrics, /healthz and /readyz listener; empty turns it off.
    /// The default `[::]:8000` takes IPv4 and IPv6 (IPv4 only where the host has no IPv6).
    #[arg(long, env = "LISTEN_ADDR", default_value = "[::]:8000")]
    pub listen_addr: String,

    /// Web configuration file of /metrics: TLS and basic auth, in the Prometheus
    /// exporter-toolkit format (the file node_exporter takes). Unset: plain HTTP, no auth.
    #[arg(long = "web.config.file", env = "WEB_CONFIG_FILE")]
    pub web_config_file: Option<PathBuf>,

    /// Log format: text or json.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "text",
        ignore_case = true
    )]
    pub log_format: LogFormat,

    /// Log filter (error, warn, info, debug, trace, or a tracing filter
    /// directive). RUST_LOG wins when set.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Timeout of one GitHub request, in seconds (report downloads: per read).
    #[arg(long, env = "GITHUB_TIMEOUT_SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub github_timeout_seconds: u64,

    /// Retries of a failed GitHub call (rate limit, 5xx, timeout, connection).
    #[arg(long, env = "GITHUB_MAX_RETRIES", default_value = "3")]
    pub github_max_retries: u32,

    /// First retry delay in milliseconds; doubles each retry, with jitter.
    #[arg(long, env = "GITHUB_RETRY_MIN_MS", default_value = "1000")]
    pub github_retry_min_ms: u64,

    /// Longest retry delay in milliseconds (also caps the 60 s rate-limit
    /// fallback; GitHub's own retry-after / x-ratelimit-reset are honoured).
    #[arg(long, env = "GITHUB_RETRY_MAX_MS", default_value = "60000")]
    pub github_retry_max_ms: u64,

    /// Longest accepted report row (an NDJSON line, an array element, a whole JSON document), in bytes; longer rows are skipped and counted.
    #[arg(long, env = "MAX_LINE_BYTES", default_value = "16777216")]
    pub max_line_bytes: usize,

    /// Largest accepted report download (all shards together), in bytes.
    #[arg(long, env = "MAX_REPORT_BYTES", default_value = "8589934592")]
    pub max_report_bytes: u64,

    /// Collect once, push or print, and exit (for a Kubernetes CronJob).
    #[arg(long, env = "ONCE", value_parser = BoolishValueParser::new())]
    pub once: bool,

    /// Preflight: call every endpoint the configuration uses once per scope and
    /// probe every sink, print a table with the fix for each problem, and exit
    /// (0 only when everything works). Sends no data.
    #[arg(long, env = "CHECK", conflicts_with = "once", value_parser = BoolishValueParser::new())]
    pub check: bool,

    /// Use built-in sample reports instead of GitHub (no token needed).
    #[arg(long, env = "DEMO", value_parser = BoolishValueParser::new())]
    pub demo: bool,

    /// GitHub App ID or client ID: authenticate as a GitHub App instead of a token.
    #[arg(long, env = "GITHUB_APP_ID", value_name = "ID")]
    pub github_app_id: Option<String>,

    /// PEM private key file of the GitHub App.
    #[arg(long, env = "GITHUB_APP_PRIVATE_KEY_FILE", value_name = "PATH")]
    pub github_app_private_key_file: Option<PathBuf>,

    /// Installation id of the GitHub App; found per organization or
    /// enterprise when unset.
    #[arg(long, env = "GITHUB_APP_INSTALLATION_ID", value_name = "ID")]
    pub github_app_installation_id: Option<String>,

    /// Extra trusted root certificate(s), PEM (a TLS-inspecting proxy's CA).
    #[arg(long, env = "GITHUB_CA_FILE", value_name = "PATH")]
    pub github_ca_file: Option<PathBuf>,

    /// Team metrics (copilot_team_*): join user-teams-1-day with users-1-day.
    #[arg(long, env = "TEAMS", num_args = 0..=1, default_value = "false", default_missing_value = "true",
          action = ArgAction::Set, value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub teams: bool,

    /// Seat and billing metrics (copilot_seats*).
    #[arg(long, env = "SEATS", num_args = 0..=1, default_value = "true", default_missing_value = "true",
          action = ArgAction::Set, value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub seats: bool,

    /// Per-user metrics (copilot_user_*): off, login or hashed.
    #[arg(
        long,
        env = "USER_METRICS",
        value_enum,
        default_value = "off",
        ignore_case = true
    )]
    pub user_metrics: UserMetricsMode,

    /// Salt of USER_METRICS=hashed. Prefer USER_METRICS_SALT_FILE.
    #[arg(
        long,
        env = "USER_METRICS_SALT",
        hide_env_values = true,
        value_name = "SALT"
    )]
    pub user_metrics_salt: Option<Secret>,

    /// File holding the salt of USER_METRICS=hashed.
    #[arg(long, env = "USER_METRICS_SALT_FILE", value_name = "PATH")]
    pub user_metrics_salt_file: Option<PathBuf>,

    /// Most users exported by USER_METRICS; the rest are dropped and counted.
    #[arg(
        long,
        env = "USER_METRICS_MAX",
        default_value = "10000",
        value_name = "N"
    )]
    pub user_metrics_max: usize,

    /// Repository metrics (copilot_repo_*) from repos-1-day.
    #[arg(long, env = "REPO_METRICS", num_args = 0..=1, default_value = "false", default_missing_value = "true",
          action = ArgAction::Set, value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub repo_metrics: bool,

    /// Breakdowns summed per team (TEAMS): comma-separated ide, feature,
    /// language_feature, language_model, model_feature, cli; or all, or none.
    #[arg(
        long,
        env = "TEAM_BREAKDOWNS",
        default_value = "ide,feature,cli",
        value_name = "LIST"
    )]
    pub team_breakdowns: String,

    /// Breakdowns exported per user (USER_METRICS), as TEAM_BREAKDOWNS.
    #[arg(
        long,
        env = "USER_BREAKDOWNS",
        default_value = "ide,feature,cli",
        value_name = "LIST"
    )]
    pub user_breakdowns: String,

    /// Export only report metrics whose whole name matches this regular
    /// expression (anchored, as in Prometheus relabelling).
    #[arg(long, env = "METRICS_INCLUDE", value_name = "REGEX")]
    pub metrics_include: Option<String>,

    /// Do not export report metrics whose whole name matches this regular
    /// expression (anchored; wins over METRICS_INCLUDE).
    #[arg(long, env = "METRICS_EXCLUDE", value_name = "REGEX")]
    pub metrics_exclude: Option<String>,

    /// Scheduler settings (`SCHEDULE`, `SHUTDOWN_GRACE_SECONDS`).
    #[command(flatten)]
    pub scheduler: SchedulerArgs,

    /// Pushgateway sink settings (`PUSHGATEWAY_*`).
    #[command(flatten)]
    pub pushgateway: PushgatewayArgs,

    /// Remote-write sink settings (`REMOTE_WRITE_*`, `BACKFILL_DAYS`, `STATE_DIR`).
    #[command(flatten)]
    pub remote_write: RemoteWriteArgs,

    /// Settings of every push sink (`EXTERNAL_LABELS`).
    #[command(flatten)]
    pub sinks: SinkArgs,
}

pub(super) fn parse_seconds(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    match raw.parse::<u64>() {
        Ok(0) => Err("must be at least 1 second".to_string()),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("`{raw}` is not a whole number of seconds")),
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s))
    }
}

impl Cli {
    /// Parses the command line and the environment. A value clap refuses is
    /// reported as a [`ConfigError`] naming the environment variable (clap
    /// names only the flag, which misleads when the value came from the
    /// environment); other clap outcomes (`--help`, `--version`, unknown
    /// flags) come back as the clap error to print and exit with.
    pub fn parse_settings(
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<(Cli, clap::ArgMatches), Result<ConfigError, clap::Error>> {
        use clap::{CommandFactory, FromArgMatches};
        let command = Cli::command();
        let matches = command
            .clone()
            .try_get_matches_from(args)
            .map_err(|e| explain(&command, e))?;
        let cli = Cli::from_arg_matches(&matches).map_err(|e| explain(&command, e))?;
        Ok((cli, matches))
    }
}

/// Turns clap's "invalid value" errors into a [`ConfigError`] that names the
/// setting: `VARIABLE (--flag)`.
fn explain(command: &clap::Command, error: clap::Error) -> Result<ConfigError, clap::Error> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return Err(error);
    }
    let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) else {
        return Err(error);
    };
    let long = shown
        .trim_start_matches("--")
        .split([' ', '=', '<'])
        .next()
        .unwrap_or_default();
    let Some(env) = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
    else {
        return Err(error);
    };
    // Leaked once: the process exits on this error right after printing it.
    let env: &'static str = Box::leak(env.to_string_lossy().into_owned().into_boxed_str());
    let value = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => format!(" `{}`", v.escape_debug()),
        _ => String::new(),
    };
    // clap's own text ends with the reason after the last ": ".
    let rendered = error.render().to_string();
    let first_line = rendered.lines().next().unwrap_or_default();
    let reason = first_line
        .rsplit_once("': ")
        .map(|(_, r)| r.trim())
        .filter(|r| !r.is_empty())
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let valid = match error.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(values)) => format!(" (valid: {})", values.join(", ")),
        _ => String::new(),
    };
    Ok(ConfigError::new(
        env,
        format!("{env} (--{long}): invalid value{value}{reason}{valid}; fix the value or unset it (see --help)"),
    ))
}
