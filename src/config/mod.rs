//! Configuration: command-line flags, each mirrored by an environment
//! variable, validated into a [`Config`] before anything starts.
//!
//! Every error names the variable at fault and what to do; `main` turns it
//! into exit code 2.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser, ValueEnum};

use crate::collect::Features;
use crate::github::auth::{AppAuth, AppCredentials};
use crate::github::{GithubSettings, RetryPolicy};
use crate::model::scope::Scope;
use crate::report::users::UserMetricsMode;
use crate::scheduler::{Schedule, SchedulerArgs};
use crate::secret::Secret;
pub use crate::settings::{parse_base_url, ConfigError};
use crate::sinks::http::WebConfig;
use crate::sinks::labels::ExternalLabels;
use crate::sinks::pushgateway::{PushgatewayArgs, PushgatewayConfig};
use crate::sinks::remote_write::{RemoteWriteArgs, RemoteWriteConfig};
use crate::sinks::SinkArgs;

/// Exit code for a configuration error (also what clap uses for bad flags).
pub const EXIT_CONFIG: i32 = 2;

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

    /// Longest accepted NDJSON line, in bytes; longer lines are skipped and counted.
    #[arg(long, env = "MAX_LINE_BYTES", default_value = "16777216")]
    pub max_line_bytes: usize,

    /// Largest accepted report download (all shards together), in bytes.
    #[arg(long, env = "MAX_REPORT_BYTES", default_value = "8589934592")]
    pub max_report_bytes: u64,

    /// Collect once, push or print, and exit (for a Kubernetes CronJob).
    #[arg(long, env = "ONCE")]
    pub once: bool,

    /// Preflight: call every endpoint the configuration uses once per scope and
    /// probe every sink, print a table with the fix for each problem, and exit
    /// (0 only when everything works). Sends no data.
    #[arg(long, env = "CHECK", conflicts_with = "once")]
    pub check: bool,

    /// Use built-in sample reports instead of GitHub (no token needed).
    #[arg(long, env = "DEMO")]
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

fn parse_seconds(raw: &str) -> Result<u64, String> {
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

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Organizations and enterprises to collect, in the configured order.
    pub scopes: Vec<Scope>,
    /// GitHub client settings.
    pub github: GithubSettings,
    /// Refresh interval.
    pub refresh_interval: Duration,
    /// `/metrics` listener; `None` when `LISTEN_ADDR` is empty.
    pub listen: Option<SocketAddr>,
    /// TLS and basic auth of `/metrics` (`WEB_CONFIG_FILE`).
    pub web: WebConfig,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// Collect once and exit.
    pub once: bool,
    /// Run the preflight checks and exit.
    pub check: bool,
    /// Built-in sample data instead of GitHub.
    pub demo: bool,
    /// Optional collections (teams, seats, users, repositories).
    pub features: Features,
    /// When refreshes run in the long-running mode.
    pub schedule: Schedule,
    /// How long an in-flight refresh may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// The Pushgateway sink; `None` when `PUSHGATEWAY_URL` is unset.
    pub pushgateway: Option<PushgatewayConfig>,
    /// The remote-write sink; `None` when `REMOTE_WRITE_URL` is unset.
    pub remote_write: Option<RemoteWriteConfig>,
    /// `EXTERNAL_LABELS` of the push sinks.
    pub external_labels: ExternalLabels,
}

/// Names of demo scopes used when `--demo` runs without `ORG`/`ENTERPRISE`.
pub const DEMO_ORG: &str = "octo-demo";
/// Enterprise used by `--demo` without `ORG`/`ENTERPRISE`.
pub const DEMO_ENTERPRISE: &str = "octo-enterprise";

impl Config {
    /// Validates parsed flags. `listen_env_empty` tells whether `LISTEN_ADDR`
    /// was set to an empty string (clap treats an empty variable as unset).
    pub fn from_cli(cli: &Cli, listen_env_empty: bool) -> Result<Config, ConfigError> {
        let mut scopes = Vec::new();
        for (var, names, make) in [
            ("ORG", &cli.org, Scope::org as fn(String) -> Scope),
            (
                "ENTERPRISE",
                &cli.enterprise,
                Scope::enterprise as fn(String) -> Scope,
            ),
        ] {
            for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
                if name.chars().any(|c| c.is_control() || c == '/') {
                    return Err(ConfigError::new(
                        var,
                        format!(
                        "{var}: `{}` is not a valid login or slug (no `/` or control characters)",
                        name.escape_debug()
                    ),
                    ));
                }
                let scope = make(name.to_string());
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
        }
        if scopes.is_empty() {
            if cli.demo {
                scopes.push(Scope::org(DEMO_ORG));
                scopes.push(Scope::enterprise(DEMO_ENTERPRISE));
            } else {
                return Err(ConfigError::new(
                    "ORG",
                    "set ORG (organization logins) and/or ENTERPRISE (enterprise slugs), comma-separated",
                ));
            }
        }

        let token = Secret::from_value_or_file(
            "GHC_TOKEN",
            cli.github_token.as_ref().map(Secret::expose),
            cli.github_token_file.as_deref(),
        )
        .map_err(|e| ConfigError::new("GHC_TOKEN_FILE", e))?;
        let app = app_credentials(cli)?;
        if token.is_some() && app.is_some() {
            return Err(ConfigError::new("GHC_TOKEN",
                "GHC_TOKEN/GHC_TOKEN_FILE and GITHUB_APP_ID are both set; use one authentication method",
            ));
        }
        if token.is_none() && app.is_none() && !cli.demo {
            return Err(ConfigError::new(
                "GHC_TOKEN",
                "GHC_TOKEN or GHC_TOKEN_FILE is required, or a GitHub App (GITHUB_APP_ID and \
                 GITHUB_APP_PRIVATE_KEY_FILE); or run with --demo for built-in sample data",
            ));
        }
        let ca_file = cli
            .github_ca_file
            .clone()
            .filter(|p| !p.as_os_str().is_empty());
        if let Some(path) = &ca_file {
            if !path.is_file() {
                return Err(ConfigError::new(
                    "GITHUB_CA_FILE",
                    format!("GITHUB_CA_FILE: {} is not a readable file", path.display()),
                ));
            }
        }
        let user_metrics_salt = Secret::from_value_or_file(
            "USER_METRICS_SALT",
            cli.user_metrics_salt.as_ref().map(Secret::expose),
            cli.user_metrics_salt_file.as_deref(),
        )
        .map_err(|e| ConfigError::new("USER_METRICS_SALT_FILE", e))?;
        if cli.user_metrics == UserMetricsMode::Hashed && user_metrics_salt.is_none() {
            return Err(ConfigError::new("USER_METRICS",
                "USER_METRICS=hashed needs USER_METRICS_SALT or USER_METRICS_SALT_FILE (a long random string kept secret)",
            ));
        }
        if cli.user_metrics_max == 0 {
            return Err(ConfigError::new(
                "USER_METRICS_MAX",
                "USER_METRICS_MAX must be at least 1 (set USER_METRICS=off to export no user)",
            ));
        }

        let api_url = parse_base_url("GITHUB_API_URL", &cli.github_api_url)?;

        let listen = if listen_env_empty || cli.listen_addr.trim().is_empty() {
            None
        } else {
            Some(parse_listen(&cli.listen_addr)?)
        };
        let web = match cli
            .web_config_file
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            None => WebConfig {
                tls: None,
                basic_auth: None,
            },
            Some(path) => WebConfig::load(path).map_err(|e| {
                ConfigError::new("WEB_CONFIG_FILE", format!("{}: {e}", path.display()))
            })?,
        };
        if cli.max_line_bytes < 1024 {
            return Err(ConfigError::new(
                "MAX_LINE_BYTES",
                "MAX_LINE_BYTES must be at least 1024",
            ));
        }

        let refresh_interval = Duration::from_secs(cli.cache_ttl_seconds);
        let schedule = Schedule::from_settings(cli.scheduler.schedule.as_deref(), refresh_interval)
            .map_err(|e| ConfigError::new("SCHEDULE", e))?;
        let pushgateway = PushgatewayConfig::from_args(&cli.pushgateway)?;
        let remote_write = RemoteWriteConfig::from_args(&cli.remote_write)?;
        let external_labels = cli.sinks.external_labels()?;

        Ok(Config {
            scopes,
            github: GithubSettings {
                api_url,
                token,
                app,
                ca_file,
                timeout: Duration::from_secs(cli.github_timeout_seconds),
                max_line_bytes: cli.max_line_bytes,
                max_report_bytes: cli.max_report_bytes,
                retry: RetryPolicy {
                    max_retries: cli.github_max_retries,
                    min: Duration::from_millis(cli.github_retry_min_ms),
                    max: Duration::from_millis(
                        cli.github_retry_max_ms.max(cli.github_retry_min_ms),
                    ),
                },
            },
            refresh_interval,
            listen,
            web,
            log_format: cli.log_format,
            log_level: cli.log_level.clone(),
            once: cli.once,
            check: cli.check,
            demo: cli.demo,
            features: Features {
                teams: cli.teams,
                seats: cli.seats,
                user_metrics: cli.user_metrics,
                user_metrics_salt,
                user_metrics_max: cli.user_metrics_max,
                repo_metrics: cli.repo_metrics,
            },
            schedule,
            shutdown_grace: Duration::from_secs(cli.scheduler.shutdown_grace_seconds),
            pushgateway,
            remote_write,
            external_labels,
        })
    }
}

/// Validates the `GITHUB_APP_*` settings: the ID and the key file go
/// together; the key must parse.
fn app_credentials(cli: &Cli) -> Result<Option<AppCredentials>, ConfigError> {
    let app_id = cli
        .github_app_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let key_file = cli
        .github_app_private_key_file
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty());
    let installation = cli
        .github_app_installation_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let (app_id, key_file) = match (app_id, key_file) {
        (None, None) => {
            if installation.is_some() {
                return Err(ConfigError::new("GITHUB_APP_INSTALLATION_ID",
                    "GITHUB_APP_INSTALLATION_ID is set without GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY_FILE",
                ));
            }
            return Ok(None);
        }
        (Some(_), None) => {
            return Err(ConfigError::new("GITHUB_APP_ID",
                "GITHUB_APP_ID is set: GITHUB_APP_PRIVATE_KEY_FILE (the App's PEM private key) is required too",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::new("GITHUB_APP_PRIVATE_KEY_FILE",
                "GITHUB_APP_PRIVATE_KEY_FILE is set: GITHUB_APP_ID (App ID or client ID) is required too",
            ))
        }
        (Some(id), Some(file)) => (id, file),
    };
    if app_id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ConfigError::new(
            "GITHUB_APP_ID",
            "GITHUB_APP_ID: not an App ID or client ID",
        ));
    }
    let installation_id = match installation {
        None => None,
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| {
            ConfigError::new(
                "GITHUB_APP_INSTALLATION_ID",
                format!(
                    "GITHUB_APP_INSTALLATION_ID: `{}` is not a numeric installation id",
                    raw.escape_debug()
                ),
            )
        })?),
    };
    let private_key = Secret::from_file("GITHUB_APP_PRIVATE_KEY_FILE", key_file)
        .map_err(|e| ConfigError::new("GITHUB_APP_PRIVATE_KEY_FILE", e))?;
    let credentials = AppCredentials {
        app_id: app_id.to_string(),
        private_key,
        installation_id,
    };
    AppAuth::new(&credentials).map_err(|e| ConfigError::new("GITHUB_APP_PRIVATE_KEY_FILE", e))?;
    Ok(Some(credentials))
}

fn parse_listen(raw: &str) -> Result<SocketAddr, ConfigError> {
    let raw = raw.trim();
    let candidate = if raw.starts_with(':') {
        format!("[::]{raw}")
    } else {
        raw.to_string()
    };
    candidate.parse().map_err(|_| {
        ConfigError::new("LISTEN_ADDR",format!(
            "LISTEN_ADDR: `{raw}` is not an address like 0.0.0.0:8000 or [::]:8000 (empty turns the endpoint off)"
        ))
    })
}

#[cfg(test)]
mod tests {

    /// The CLI flattens the scheduler's and the sinks' arguments; clap's own
    /// checks find any clashing flag or variable.
    #[test]
    fn flattened_arguments_have_no_clashing_flags() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut full = vec!["copilot-metrics-exporter"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).unwrap()
    }

    #[test]
    fn scopes_from_comma_lists() {
        let c = Config::from_cli(
            &cli(&[
                "--github-token",
                "t",
                "--org",
                "a, b,,a",
                "--enterprise",
                "e",
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            c.scopes,
            vec![Scope::org("a"), Scope::org("b"), Scope::enterprise("e")]
        );
    }

    #[test]
    fn missing_scope_and_token_name_the_variables() {
        let e = Config::from_cli(&cli(&["--github-token", "t"]), false).unwrap_err();
        assert!(e.to_string().contains("ORG"), "{e}");
        let e = Config::from_cli(&cli(&["--org", "a"]), false).unwrap_err();
        assert!(e.to_string().contains("GHC_TOKEN"), "{e}");
        let c = Config::from_cli(&cli(&["--demo"]), false).unwrap();
        assert_eq!(c.scopes.len(), 2);
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(Cli::try_parse_from(["x", "--cache-ttl-seconds", "0"]).is_err());
        assert_eq!(
            cli(&["--cache-ttl-seconds", " 3600"]).cache_ttl_seconds,
            3600
        );
        let e = Config::from_cli(&cli(&["--demo", "--listen-addr", "nope"]), false).unwrap_err();
        assert!(e.to_string().contains("LISTEN_ADDR"));
        let e =
            Config::from_cli(&cli(&["--demo", "--github-api-url", "ftp://x"]), false).unwrap_err();
        assert!(e.to_string().contains("GITHUB_API_URL"));
        let c = Config::from_cli(&cli(&["--demo", "--listen-addr", ":9000"]), false).unwrap();
        assert_eq!(c.listen.unwrap().port(), 9000);
        let c = Config::from_cli(&cli(&["--demo"]), true).unwrap();
        assert!(c.listen.is_none());
    }

    #[test]
    fn app_and_token_are_exclusive_and_validated() {
        let key = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/app/test-app-private-key.pem"
        );
        let c = Config::from_cli(
            &cli(&[
                "--org",
                "a",
                "--github-app-id",
                "123",
                "--github-app-private-key-file",
                key,
            ]),
            false,
        )
        .unwrap();
        let app = c.github.app.as_ref().unwrap();
        assert_eq!(app.app_id, "123");
        assert!(app.installation_id.is_none());
        assert!(
            !format!("{c:?}").contains("PRIVATE KEY"),
            "key leaked through Debug"
        );
        let e = Config::from_cli(
            &cli(&[
                "--org",
                "a",
                "--github-token",
                "t",
                "--github-app-id",
                "1",
                "--github-app-private-key-file",
                key,
            ]),
            false,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("GITHUB_APP_ID") && e.to_string().contains("GHC_TOKEN"),
            "{e}"
        );
        let e = Config::from_cli(&cli(&["--org", "a", "--github-app-id", "1"]), false).unwrap_err();
        assert!(e.to_string().contains("GITHUB_APP_PRIVATE_KEY_FILE"), "{e}");
        let e = Config::from_cli(
            &cli(&[
                "--org",
                "a",
                "--github-app-id",
                "1",
                "--github-app-private-key-file",
                key,
                "--github-app-installation-id",
                "x",
            ]),
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("GITHUB_APP_INSTALLATION_ID"), "{e}");
        let not_a_key = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let e = Config::from_cli(
            &cli(&[
                "--org",
                "a",
                "--github-app-id",
                "1",
                "--github-app-private-key-file",
                not_a_key,
            ]),
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("GITHUB_APP_PRIVATE_KEY_FILE"), "{e}");
    }

    #[test]
    fn feature_flags() {
        let c = Config::from_cli(&cli(&["--demo"]), false).unwrap();
        assert!(c.features.seats && !c.features.teams && !c.features.repo_metrics);
        assert_eq!(c.features.user_metrics, UserMetricsMode::Off);
        let c = Config::from_cli(
            &cli(&[
                "--demo",
                "--teams",
                "--seats",
                "false",
                "--repo-metrics",
                "true",
                "--user-metrics",
                "LOGIN",
            ]),
            false,
        )
        .unwrap();
        assert!(c.features.teams && !c.features.seats && c.features.repo_metrics);
        assert_eq!(c.features.user_metrics, UserMetricsMode::Login);
        let e = Config::from_cli(&cli(&["--demo", "--user-metrics", "hashed"]), false).unwrap_err();
        assert!(e.to_string().contains("USER_METRICS_SALT"), "{e}");
        let c = Config::from_cli(
            &cli(&[
                "--demo",
                "--user-metrics",
                "hashed",
                "--user-metrics-salt",
                "pepper",
            ]),
            false,
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("pepper"));
        let e = Config::from_cli(
            &cli(&["--demo", "--github-ca-file", "/nonexistent/ca.pem"]),
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("GITHUB_CA_FILE"), "{e}");
    }

    #[test]
    fn schedule_and_pushgateway() {
        let c = Config::from_cli(&cli(&["--demo", "--cache-ttl-seconds", "60"]), false).unwrap();
        assert_eq!(c.schedule, Schedule::Every(Duration::from_secs(60)));
        assert_eq!(c.shutdown_grace, Duration::from_secs(30));
        assert!(c.pushgateway.is_none());
        let c = Config::from_cli(&cli(&["--demo", "--schedule", "15 6 * * *"]), false).unwrap();
        assert!(matches!(&c.schedule, Schedule::Cron(s) if s.normalized == "0 15 6 * * *"));
        let e = Config::from_cli(&cli(&["--demo", "--schedule", "not cron"]), false).unwrap_err();
        assert!(e.to_string().contains("SCHEDULE"), "{e}");
        let c = Config::from_cli(
            &cli(&[
                "--demo",
                "--pushgateway-url",
                "http://pgw:9091",
                "--pushgateway-username",
                "u",
                "--pushgateway-password",
                "pw-topsecret",
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            c.pushgateway.as_ref().unwrap().url.as_str(),
            "http://pgw:9091/"
        );
        assert!(!format!("{c:?}").contains("topsecret"));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let c = Config::from_cli(
            &cli(&["--github-token", "ghp_topsecret", "--org", "a"]),
            false,
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
