//! Pieces every outgoing HTTP client shares (GitHub, Pushgateway,
//! remote-write): the `User-Agent`, reqwest errors as text without their
//! URL, and a peer's error body cut to about 1 KiB.

/// `User-Agent` of every request: name and version.
pub const USER_AGENT: &str = concat!("copilot-metrics-exporter/", env!("CARGO_PKG_VERSION"));

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
