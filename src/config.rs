//! Configuration: command-line flags, each mirrored by an environment
//! variable, validated into a [`Config`] before anything starts.
//!
//! Every error names the variable at fault and what to do; `main` turns it
//! into exit code 2.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use url::Url;

use crate::scheduler::{Schedule, SchedulerArgs};
use crate::scope::Scope;
use crate::secret::Secret;
use crate::sinks::pushgateway::{PushgatewayArgs, PushgatewayConfig};

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

    /// GitHub API base URL (GHE.com: https://api.SUBDOMAIN.ghe.com).
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub github_api_url: String,

    /// Seconds between refreshes of the reports.
    #[arg(long, env = "CACHE_TTL_SECONDS", default_value = "3600", value_parser = parse_seconds)]
    pub cache_ttl_seconds: u64,

    /// Address of the /metrics, /healthz and /readyz listener; empty turns it off.
    #[arg(long, env = "LISTEN_ADDR", default_value = "0.0.0.0:8000")]
    pub listen_addr: String,

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

    /// Use built-in sample reports instead of GitHub (no token needed).
    #[arg(long, env = "DEMO")]
    pub demo: bool,

    /// Scheduler settings (`SCHEDULE`, `SHUTDOWN_GRACE_SECONDS`).
    #[command(flatten)]
    pub scheduler: SchedulerArgs,

    /// Pushgateway sink settings (`PUSHGATEWAY_*`).
    #[command(flatten)]
    pub pushgateway: PushgatewayArgs,
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

/// A configuration problem, naming the setting at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Settings of the GitHub client.
#[derive(Clone, Debug)]
pub struct GithubSettings {
    /// API base, without trailing slash.
    pub api_url: Url,
    /// The token; `None` only in demo mode.
    pub token: Option<Secret>,
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
    pub fn wait(&self, error: &crate::github::GithubError, attempt: u32) -> Duration {
        if let Some(seconds) = error.retry_after {
            return Duration::from_secs(seconds);
        }
        let base = self
            .min
            .saturating_mul(2u32.saturating_pow(attempt.min(16)));
        let base = if error.kind == crate::github::FailureKind::RateLimited {
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
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// Collect once and exit.
    pub once: bool,
    /// Built-in sample data instead of GitHub.
    pub demo: bool,
    /// When refreshes run in the long-running mode.
    pub schedule: Schedule,
    /// How long an in-flight refresh may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// The Pushgateway sink; `None` when `PUSHGATEWAY_URL` is unset.
    pub pushgateway: Option<PushgatewayConfig>,
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
                    return Err(ConfigError(format!(
                        "{var}: `{}` is not a valid login or slug (no `/` or control characters)",
                        name.escape_debug()
                    )));
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
                return Err(ConfigError(
                    "set ORG (organization logins) and/or ENTERPRISE (enterprise slugs), comma-separated"
                        .into(),
                ));
            }
        }

        let token = Secret::from_value_or_file(
            "GHC_TOKEN",
            cli.github_token.as_ref().map(Secret::expose),
            cli.github_token_file.as_deref(),
        )
        .map_err(ConfigError)?;
        if token.is_none() && !cli.demo {
            return Err(ConfigError(
                "GHC_TOKEN or GHC_TOKEN_FILE is required (or run with --demo for built-in sample data)"
                    .into(),
            ));
        }

        let api_url = parse_base_url("GITHUB_API_URL", &cli.github_api_url)?;

        let listen = if listen_env_empty || cli.listen_addr.trim().is_empty() {
            None
        } else {
            Some(parse_listen(&cli.listen_addr)?)
        };
        if cli.max_line_bytes < 1024 {
            return Err(ConfigError("MAX_LINE_BYTES must be at least 1024".into()));
        }

        let refresh_interval = Duration::from_secs(cli.cache_ttl_seconds);
        let schedule = Schedule::from_settings(cli.scheduler.schedule.as_deref(), refresh_interval)
            .map_err(ConfigError)?;
        let pushgateway = PushgatewayConfig::from_args(&cli.pushgateway)?;

        Ok(Config {
            scopes,
            github: GithubSettings {
                api_url,
                token,
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
            log_format: cli.log_format,
            log_level: cli.log_level.clone(),
            once: cli.once,
            demo: cli.demo,
            schedule,
            shutdown_grace: Duration::from_secs(cli.scheduler.shutdown_grace_seconds),
            pushgateway,
        })
    }
}

/// Parses an `http(s)://` base URL, naming `var` in the error. A trailing
/// slash is removed so paths can be appended.
pub fn parse_base_url(var: &str, raw: &str) -> Result<Url, ConfigError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = Url::parse(trimmed)
        .map_err(|e| ConfigError(format!("{var}: `{trimmed}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError(format!(
            "{var}: `{trimmed}` must be an http:// or https:// URL with a host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError(format!(
            "{var}: put credentials in their own variables, not in the URL"
        )));
    }
    Ok(url)
}

fn parse_listen(raw: &str) -> Result<SocketAddr, ConfigError> {
    let raw = raw.trim();
    let candidate = if raw.starts_with(':') {
        format!("0.0.0.0{raw}")
    } else {
        raw.to_string()
    };
    candidate.parse().map_err(|_| {
        ConfigError(format!(
            "LISTEN_ADDR: `{raw}` is not an address like 0.0.0.0:8000 or [::]:8000 (empty turns the endpoint off)"
        ))
    })
}

#[cfg(test)]
mod tests {
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
