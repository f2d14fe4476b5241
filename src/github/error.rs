//! GitHub failures, classified so operators can act on them.

use std::fmt;
use std::time::Duration;

/// Why a GitHub call failed; the `reason` label of
/// `copilot_exporter_github_failures_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// 401: the token is invalid, expired or revoked.
    BadCredentials,
    /// 403 without a rate-limit or policy message: missing permission or role.
    Forbidden,
    /// 403: the "Copilot usage metrics" policy is off.
    PolicyDisabled,
    /// 404: wrong name, no access (GitHub hides resources as 404), or no data.
    NotFound,
    /// 403/429 from a primary or secondary rate limit.
    RateLimited,
    /// 5xx.
    ServerError,
    /// No answer in time.
    Timeout,
    /// An answer that is not what the API documents.
    InvalidResponse,
    /// Connection failed (DNS, refused, TLS, proxy).
    Unreachable,
    /// Another 4xx (400 bad API version, 422, …).
    ClientError,
    /// The download host refused a signed report link (401/403): its
    /// signature expired or was revoked. Not a credentials problem: the
    /// token never goes to that host.
    LinkExpired,
    /// A report file could not be downloaded completely: an error status
    /// from the download host, or a transfer cut off mid-file.
    DownloadFailed,
    /// A report file is not a usable report: not JSON (an HTML page from a
    /// proxy), cut off inside a row, no valid row at all, more invalid rows
    /// than the documented threshold, or larger than `MAX_REPORT_BYTES`.
    InvalidReport,
}

impl FailureKind {
    /// Every kind, in label order.
    pub const ALL: [FailureKind; 13] = [
        FailureKind::BadCredentials,
        FailureKind::Forbidden,
        FailureKind::PolicyDisabled,
        FailureKind::NotFound,
        FailureKind::RateLimited,
        FailureKind::ServerError,
        FailureKind::Timeout,
        FailureKind::InvalidResponse,
        FailureKind::Unreachable,
        FailureKind::ClientError,
        FailureKind::LinkExpired,
        FailureKind::DownloadFailed,
        FailureKind::InvalidReport,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::BadCredentials => "bad_credentials",
            FailureKind::Forbidden => "forbidden",
            FailureKind::PolicyDisabled => "policy_disabled",
            FailureKind::NotFound => "not_found",
            FailureKind::RateLimited => "rate_limited",
            FailureKind::ServerError => "server_error",
            FailureKind::Timeout => "timeout",
            FailureKind::InvalidResponse => "invalid_response",
            FailureKind::Unreachable => "unreachable",
            FailureKind::ClientError => "client_error",
            FailureKind::LinkExpired => "link_expired",
            FailureKind::DownloadFailed => "download_failed",
            FailureKind::InvalidReport => "invalid_report",
        }
    }

    /// What the operator should do about it.
    pub fn hint(self) -> &'static str {
        match self {
            FailureKind::BadCredentials => "the token is invalid or expired: replace GHC_TOKEN / GHC_TOKEN_FILE",
            FailureKind::Forbidden => "the token lacks the permission or role: org reports need 'Organization Copilot metrics: read' (or classic read:org as org owner / metrics role); enterprise reports need a classic PAT with manage_billing:copilot or read:enterprise",
            FailureKind::PolicyDisabled => "enable the 'Copilot usage metrics' policy (enterprise: 'Enabled everywhere'; org: Settings > Copilot > Policies)",
            FailureKind::NotFound => "check the ORG / ENTERPRISE name and GITHUB_API_URL; GitHub also answers 404 when the token may not see the resource",
            FailureKind::RateLimited => "GitHub rate limit reached: lower the refresh frequency (CACHE_TTL_SECONDS) or use a GitHub App",
            FailureKind::ServerError => "GitHub had an internal error; the next refresh retries",
            FailureKind::Timeout => "GitHub did not answer in time (GITHUB_TIMEOUT_SECONDS); the next refresh retries",
            FailureKind::InvalidResponse => "GitHub answered with something the API does not document; report it if it persists",
            FailureKind::Unreachable => "cannot connect: check network, proxy (HTTPS_PROXY / NO_PROXY), GITHUB_CA_FILE and GITHUB_API_URL",
            FailureKind::ClientError => "GitHub rejected the request; see the message",
            FailureKind::LinkExpired => "a signed report link was refused and a fresh envelope did not help; the token is not involved; the next refresh retries (check the clock, and that no proxy rewrites requests to the download host)",
            FailureKind::DownloadFailed => "a report file could not be downloaded completely; the scope keeps its last good data and the next refresh retries (check proxies and firewalls for the download host)",
            FailureKind::InvalidReport => "a report file is not a usable report (not JSON, cut off, or mostly malformed rows); the scope keeps its last good data; a proxy or captive portal answering for the download host is the usual cause",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed GitHub call. The message never contains a token or a signed
/// link's query string.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{what}: {kind}{status}: {message} ({hint})", status = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(), hint = kind.hint())]
pub struct GithubError {
    /// The endpoint or download host and path (no query string).
    pub what: String,
    /// Classified reason.
    pub kind: FailureKind,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// GitHub's `message`, or a description of the transport failure.
    pub message: String,
    /// How long the server asked us to wait (`Retry-After`, or until
    /// `x-ratelimit-reset` when no request is left), when it said.
    pub retry_after: Option<Duration>,
}

impl GithubError {
    /// An error without a server wait hint.
    pub fn new(
        what: impl Into<String>,
        kind: FailureKind,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> Self {
        GithubError {
            what: what.into(),
            kind,
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// True for failures a retry may cure: rate limits, 5xx, timeouts and
    /// connection failures.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::RateLimited
                | FailureKind::ServerError
                | FailureKind::Timeout
                | FailureKind::Unreachable
        )
    }

    /// The `status_code` label of `copilot_exporter_requests_failed_total`:
    /// the HTTP status, or the error kind when there was no usable answer.
    pub fn status_label(&self) -> String {
        match (self.status, self.kind) {
            (Some(s), _) => s.to_string(),
            (None, FailureKind::Timeout) => "timeout".into(),
            (None, FailureKind::InvalidResponse) => "invalid_response".into(),
            (None, FailureKind::InvalidReport) => "invalid_report".into(),
            (None, _) => "request_exception".into(),
        }
    }
}

/// Classifies an HTTP error answer by status, headers and GitHub's message,
/// the way GitHub's error catalogue describes them.
pub fn classify(status: u16, message: &str, rate_limit_remaining: Option<u64>) -> FailureKind {
    let lower = message.to_ascii_lowercase();
    match status {
        401 => FailureKind::BadCredentials,
        403 | 429
            if rate_limit_remaining == Some(0) || lower.contains("rate limit") || status == 429 =>
        {
            FailureKind::RateLimited
        }
        403 if lower.contains("policy") => FailureKind::PolicyDisabled,
        403 => FailureKind::Forbidden,
        404 => FailureKind::NotFound,
        500..=599 => FailureKind::ServerError,
        _ => FailureKind::ClientError,
    }
}

/// GitHub's `message` from an error body, or the start of the body when it
/// is not the documented JSON; control characters removed, length capped.
pub fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct BasicError {
        message: Option<String>,
    }
    let text = match serde_json::from_slice::<BasicError>(body) {
        Ok(BasicError { message: Some(m) }) => m,
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(512)
        .collect();
    if clean.trim().is_empty() {
        "(empty body)".into()
    } else {
        clean.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_catalogue() {
        assert_eq!(
            classify(401, "Bad credentials", None),
            FailureKind::BadCredentials
        );
        assert_eq!(
            classify(
                403,
                "The 'Copilot usage metrics' policy must be enabled to use this API",
                None
            ),
            FailureKind::PolicyDisabled
        );
        assert_eq!(
            classify(403, "Resource not accessible by integration", None),
            FailureKind::Forbidden
        );
        assert_eq!(
            classify(403, "API rate limit exceeded for x", Some(0)),
            FailureKind::RateLimited
        );
        assert_eq!(
            classify(403, "You have exceeded a secondary rate limit", Some(10)),
            FailureKind::RateLimited
        );
        assert_eq!(classify(429, "", None), FailureKind::RateLimited);
        assert_eq!(classify(404, "Not Found", None), FailureKind::NotFound);
        assert_eq!(classify(502, "", None), FailureKind::ServerError);
        assert_eq!(classify(422, "x", None), FailureKind::ClientError);
    }

    #[test]
    fn messages_from_bodies() {
        assert_eq!(
            error_message(br#"{"message":"Not Found","documentation_url":"x"}"#),
            "Not Found"
        );
        assert_eq!(error_message(b"<html>\n</html>"), "<html> </html>");
        assert_eq!(error_message(b""), "(empty body)");
        assert_eq!(error_message(&[b'a'; 2000]).len(), 512);
    }
}
