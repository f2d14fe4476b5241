//! Configuration: command-line flags, each mirrored by an environment
//! variable, validated into a [`Config`] before anything starts.
//!
//! Every error names the variable at fault and what to do; `main` turns it
//! into exit code 2.

mod cli;
mod github;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

pub use cli::{Cli, LogFormat};

use crate::collect::Features;
use crate::github::GithubSettings;
use crate::model::scope::Scope;
use crate::report::breakdowns::Breakdowns;
use crate::report::select::MetricFilter;
use crate::report::users::UserMetricsMode;
use crate::scheduler::Schedule;
use crate::secret::Secret;
pub use crate::settings::{parse_base_url, ConfigError};
use crate::sinks::http::WebConfig;
use crate::sinks::labels::ExternalLabels;
use crate::sinks::pushgateway::PushgatewayConfig;
use crate::sinks::remote_write::RemoteWriteConfig;

/// Exit code for a configuration error (also what clap uses for bad flags).
pub const EXIT_CONFIG: i32 = 2;

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
    /// `METRICS_INCLUDE` / `METRICS_EXCLUDE`.
    pub metric_filter: MetricFilter,
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
                if !is_login_or_slug(name) {
                    return Err(ConfigError::new(
                        var,
                        format!(
                            "{var}: `{}` is not an organization login or enterprise slug: letters, \
                             digits and hyphens (`_` on GitHub Enterprise Server), not starting \
                             with a hyphen, at most 100 characters; use the name \
                             from the URL (github.com/orgs/NAME, github.com/enterprises/SLUG)",
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
        let github = github::settings(cli)?;
        let refresh_interval = Duration::from_secs(cli.cache_ttl_seconds);
        let schedule = Schedule::from_settings(cli.scheduler.schedule.as_deref(), refresh_interval)
            .map_err(|e| ConfigError::new("SCHEDULE", e))?;
        let pushgateway = PushgatewayConfig::from_args(&cli.pushgateway)?;
        let remote_write = RemoteWriteConfig::from_args(&cli.remote_write)?;
        let external_labels = cli.sinks.external_labels()?;
        let team_breakdowns = Breakdowns::parse("TEAM_BREAKDOWNS", &cli.team_breakdowns)?;
        let user_breakdowns = Breakdowns::parse("USER_BREAKDOWNS", &cli.user_breakdowns)?;
        let metric_filter = MetricFilter::new(
            cli.metrics_include.as_deref(),
            cli.metrics_exclude.as_deref(),
        )?;

        Ok(Config {
            scopes,
            github,
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
                team_breakdowns,
                user_breakdowns,
            },
            metric_filter,
            schedule,
            shutdown_grace: Duration::from_secs(cli.scheduler.shutdown_grace_seconds),
            pushgateway,
            remote_write,
            external_labels,
        })
    }
}

/// GitHub's shape of organization logins and enterprise slugs (letters,
/// digits, hyphens, never a leading one), with `_` as GitHub Enterprise
/// Server allows; lenient on hyphen runs, which some old logins have. Checked at start so a typo is a configuration
/// error (exit 2), not a 404 at every refresh.
fn is_login_or_slug(name: &str) -> bool {
    name.len() <= 100
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
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
