//! Pieces every outgoing HTTP client shares (GitHub, Pushgateway,
//! remote-write): the `User-Agent`, reqwest errors as text without their
//! URL, a peer's error body cut to about 1 KiB, and the parsers of the
//! extra-headers and CA-bundle settings.

/// `User-Agent` of every request: name and version.
pub const USER_AGENT: &str = concat!("copilot-metrics-exporter/", env!("CARGO_PKG_VERSION"));

use std::path::Path;

use reqwest::header::{HeaderName, HeaderValue};

use crate::settings::ConfigError;

/// Most bytes of an error response body kept for logs and errors.
pub const MAX_ERROR_BODY: usize = 1024;

/// A reqwest error and its sources in one line, without the URL (reqwest
/// quotes it whole, and a query string may be a credential).
pub fn error_chain(error: reqwest::Error) -> String {
    let error = error.without_url();
    with_causes(error.to_string(), &error)
}

/// `text` followed by `: <cause>` for every source of `error`.
pub fn with_causes(mut text: String, error: &dyn std::error::Error) -> String {
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The start of an error response's body as text (see [`truncate_body`]);
/// reading stops once more than [`MAX_ERROR_BODY`] bytes arrived, and a
/// body that fails midway is kept as far as it came.
pub async fn read_error_body(mut response: reqwest::Response) -> String {
    let mut raw = Vec::new();
    while raw.len() <= MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => raw.extend_from_slice(&chunk),
            _ => break,
        }
    }
    truncate_body(&raw)
}

/// The body as trimmed text, cut to [`MAX_ERROR_BODY`] bytes at a character
/// boundary and marked `… (truncated)` when cut.
pub fn truncate_body(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim();
    if text.len() <= MAX_ERROR_BODY {
        return text.to_string();
    }
    let mut end = MAX_ERROR_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (truncated)", &text[..end])
}

/// Parses a `Name=value,Name2=value` list of extra request headers given
/// in `setting`. Names in `reserved` (lower case) belong to the protocol
/// and are refused, and so is `Authorization` when `auth_settings` (the
/// settings that configure auth, for the message) is `Some`. Values are
/// marked sensitive and never echoed in errors.
pub fn parse_header_list(
    setting: &'static str,
    raw: &str,
    reserved: &[&str],
    auth_settings: Option<&str>,
) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let err = |m: String| ConfigError::new(setting, m);
    let mut out: Vec<(HeaderName, HeaderValue)> = Vec::new();
    for (i, item) in raw.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((name, value)) = item.split_once('=') else {
            return Err(err(format!(
                "entry {} has no '=' (expected Name=value)",
                i + 1
            )));
        };
        let name = name.trim();
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            err(format!(
                "entry {}: {name:?} is not a valid header name",
                i + 1
            ))
        })?;
        if reserved.contains(&name.as_str()) {
            return Err(err(format!(
                "header {name} is set by the protocol and cannot be overridden"
            )));
        }
        if let (true, Some(auth)) = (name == reqwest::header::AUTHORIZATION, auth_settings) {
            return Err(err(format!(
                "Authorization cannot be set here while {auth} configures auth"
            )));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(err(format!("header {name} is given twice")));
        }
        let mut value = HeaderValue::from_str(value.trim())
            .map_err(|_| err(format!("the value of {name} is not a valid header value")))?;
        value.set_sensitive(true);
        out.push((name, value));
    }
    Ok(out)
}

/// Reads a PEM bundle of extra trusted CA certificates given in `setting`;
/// an unreadable file, one that is not PEM or holds no certificate is an
/// error naming the setting.
pub fn read_ca_bundle(
    setting: &'static str,
    path: &Path,
) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    let err = |m: String| ConfigError::new(setting, m);
    let pem =
        std::fs::read(path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        err(format!(
            "{} is not a PEM certificate bundle: {e}",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(err(format!("{} holds no PEM certificate", path.display())));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bodies_are_truncated() {
        let body = "é".repeat(2000);
        let t = truncate_body(body.as_bytes());
        assert!(t.len() < 1100 && t.ends_with("(truncated)"), "{}", t.len());
        assert_eq!(truncate_body(b" short \n"), "short");
    }
}
