//! The GitHub side of the configuration: credentials (token or GitHub
//! App), API URL, CA file, limits and the retry policy.

use std::time::Duration;

use super::{Cli, ConfigError};
use crate::github::auth::{AppAuth, AppCredentials, Credentials};
use crate::github::{GithubSettings, RetryPolicy};
use crate::secret::Secret;
use crate::settings::parse_base_url;

/// Validates the GitHub settings: exactly one authentication method (or
/// none with `--demo`), a readable CA file, sane limits.
pub(super) fn settings(cli: &Cli) -> Result<GithubSettings, ConfigError> {
    let token = Secret::from_value_or_file(
        "GHC_TOKEN",
        cli.github_token.as_ref().map(Secret::expose),
        cli.github_token_file.as_deref(),
    )
    .map_err(|e| ConfigError::new("GHC_TOKEN_FILE", e))?;
    let credentials = match (token, app_credentials(cli)?) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new("GHC_TOKEN",
                "GHC_TOKEN/GHC_TOKEN_FILE and GITHUB_APP_ID are both set; use one authentication method",
            ))
        }
        (None, None) if !cli.demo => {
            return Err(ConfigError::new(
                "GHC_TOKEN",
                "GHC_TOKEN or GHC_TOKEN_FILE is required, or a GitHub App (GITHUB_APP_ID and \
                 GITHUB_APP_PRIVATE_KEY_FILE); or run with --demo for built-in sample data",
            ))
        }
        (Some(token), None) => Some(Credentials::Token(token)),
        (None, Some(app)) => Some(Credentials::App(app)),
        (None, None) => None,
    };
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
    if cli.max_line_bytes < 1024 {
        return Err(ConfigError::new(
            "MAX_LINE_BYTES",
            "MAX_LINE_BYTES must be at least 1024",
        ));
    }
    let api_url = parse_base_url("GITHUB_API_URL", &cli.github_api_url)?;
    Ok(GithubSettings {
        api_url,
        credentials,
        ca_file,
        timeout: Duration::from_secs(cli.github_timeout_seconds),
        max_line_bytes: cli.max_line_bytes,
        max_report_bytes: cli.max_report_bytes,
        retry: RetryPolicy {
            max_retries: cli.github_max_retries,
            min: Duration::from_millis(cli.github_retry_min_ms),
            max: Duration::from_millis(cli.github_retry_max_ms.max(cli.github_retry_min_ms)),
        },
    })
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
