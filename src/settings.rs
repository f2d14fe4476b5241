//! The vocabulary every module's settings share: the one configuration
//! error type, naming the setting at fault, and parsers of common setting
//! shapes. [`crate::config`] assembles the settings types of the lower
//! modules; those modules validate their own settings with this, so none of
//! them imports `config`.

use url::Url;

/// A configuration problem. `setting` is the environment variable (or flag)
/// at fault; `message` is a sentence that names it and says what to do. The
/// message never contains a secret. `--once` and the service exit with code 2
/// on it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// The setting at fault, e.g. `REMOTE_WRITE_HEADERS`.
    pub setting: &'static str,
    /// What is wrong and what to do, naming the setting.
    pub message: String,
}

impl ConfigError {
    /// An error about `setting`. A message that does not start with the
    /// setting's name gets it as a prefix, so every message names it.
    pub fn new(setting: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = if message.starts_with(setting) {
            message
        } else {
            format!("{setting}: {message}")
        };
        ConfigError { setting, message }
    }
}

/// Parses an `http(s)://` base URL given in `setting`. A trailing slash is
/// removed so paths can be appended.
///
/// Errors: not a URL, another scheme, no host, or credentials in the URL
/// (they belong in their own settings, which are redacted).
pub fn parse_base_url(setting: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = Url::parse(trimmed)
        .map_err(|e| ConfigError::new(setting, format!("`{trimmed}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            setting,
            format!("`{trimmed}` must be an http:// or https:// URL with a host"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            setting,
            "put credentials in their own variables, not in the URL",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_names_its_setting() {
        assert_eq!(ConfigError::new("X_URL", "bad").to_string(), "X_URL: bad");
        assert_eq!(
            ConfigError::new("X_URL", "X_URL must be set").to_string(),
            "X_URL must be set"
        );
        let e = parse_base_url("PUSHGATEWAY_URL", "https://u:p@h/").unwrap_err();
        assert_eq!(e.setting, "PUSHGATEWAY_URL");
        assert!(!e.to_string().contains("u:p"));
        assert_eq!(
            parse_base_url("A", "http://h:9091/").unwrap().as_str(),
            "http://h:9091/"
        );
    }
}
