//! Signed report links (the credential-free download client itself is
//! built next to the API client, in [`super::client`]): retries before the
//! first byte, and streaming a file through the framing reader into a
//! [`RowSink`].
//!
//! The download host never sees the token or a GitHub header; errors and
//! logs show a link as host and path only (its query is a credential).
//! `Content-Encoding: gzip` is decoded on the fly (reqwest's `gzip`); the
//! file is never held whole: memory is one chunk plus at most one row.

use futures_util::StreamExt;
use reqwest::StatusCode;
use url::Url;

use super::client::GithubClient;
use super::error::{FailureKind, GithubError};
use super::http::{describe, read_capped, transport_error};
use super::reading::{FileReader, RowSink, Tally};
use crate::httputil::error_chain;
use crate::retry::{self, Attempt};

/// The identity of a report file: its link without the query (the
/// signature) and fragment. Two envelopes name the same file when the
/// identities match, whatever their signatures.
pub fn file_identity(link: &Url) -> String {
    let mut id = link.clone();
    id.set_query(None);
    id.set_fragment(None);
    id.to_string()
}

impl GithubClient {
    /// Downloads one signed report link, feeding its rows to `sink` as they
    /// stream; `budget` is what the report may still use of
    /// `MAX_REPORT_BYTES`.
    ///
    /// Failures before the first byte (connection, timeout, 5xx, 429) are
    /// retried with the GitHub retry policy; 401/403 is
    /// [`FailureKind::LinkExpired`] (the caller asks for fresh links); any
    /// other failure of the transfer is [`FailureKind::DownloadFailed`], and
    /// a file that is not a usable report [`FailureKind::InvalidReport`].
    /// After an error the rows already handed to `sink` must be discarded.
    pub async fn download(
        &self,
        link: &Url,
        budget: u64,
        sink: &mut dyn RowSink,
    ) -> Result<Tally, GithubError> {
        let what = describe(link);
        if !matches!(link.scheme(), "https" | "http") {
            return Err(self.fail(GithubError::new(
                what,
                FailureKind::InvalidResponse,
                None,
                "download link is not http(s)",
            )));
        }
        self.metrics.report_downloads.inc();
        tracing::debug!(link = %what, "downloading report file");
        let response = self.first_byte(link, &what).await?;
        let status = response.status();
        if !status.is_success() {
            // Storage hosts may quote the signed request in their error
            // body; only a short error code is kept from it.
            let body = read_capped(response, 4096).await.unwrap_or_default();
            let code = storage_error_code(&body);
            let kind = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => FailureKind::LinkExpired,
                _ => FailureKind::DownloadFailed,
            };
            return Err(self.fail(GithubError::new(
                what,
                kind,
                Some(status.as_u16()),
                format!("report download refused: {code}"),
            )));
        }
        let mut reader = FileReader::new(&what, self.settings.max_line_bytes);
        let mut stream = response.bytes_stream();
        let mut bytes = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                self.fail(GithubError::new(
                    &what,
                    FailureKind::DownloadFailed,
                    Some(status.as_u16()),
                    format!(
                        "the transfer was cut off after {bytes} bytes: {}",
                        error_chain(e)
                    ),
                ))
            })?;
            bytes += chunk.len() as u64;
            if bytes > budget {
                return Err(self.fail(GithubError::new(
                    &what,
                    FailureKind::InvalidReport,
                    Some(status.as_u16()),
                    format!(
                        "report larger than MAX_REPORT_BYTES ({} bytes); raise it if the report is genuine",
                        self.settings.max_report_bytes
                    ),
                )));
            }
            reader.feed(&chunk, sink);
            if reader.is_not_json() {
                break;
            }
        }
        reader.finish(sink).map_err(|e| self.fail(e))
    }

    /// Sends the request until an answer that is not a 5xx or 429 arrives,
    /// retrying connection failures, timeouts, 5xx and 429 like API calls.
    async fn first_byte(&self, link: &Url, what: &str) -> Result<reqwest::Response, GithubError> {
        let policy = self.retry_policy();
        let this = self;
        let attempt = move |_| async move {
            let failure = match this.downloads.get(link.clone()).send().await {
                Ok(r) if r.status().is_server_error() || r.status() == 429 => {
                    let mut e = GithubError::new(
                        what,
                        FailureKind::DownloadFailed,
                        Some(r.status().as_u16()),
                        format!("the download host answered {}", r.status()),
                    );
                    e.retry_after = retry::retry_after(r.headers());
                    e
                }
                Ok(r) => return Attempt::Done(r),
                Err(e) => {
                    let mut e = transport_error(what.to_string(), e);
                    e.message = format!("download failed: {}", e.message);
                    e.kind = FailureKind::DownloadFailed;
                    e
                }
            };
            let failure = this.fail(failure);
            Attempt::Retry {
                hint: retry::Hint {
                    retry_after: failure.retry_after,
                    ..retry::Hint::default()
                },
                error: failure,
            }
        };
        retry::run_observed(&policy, |r| self.count_retry(r), attempt)
            .await
            .map_err(super::client::gave_up)
    }
}

/// A short, safe description of a storage host's error body: GitHub's JSON
/// `message`, or the `<Code>` of an S3/Azure XML error. Anything else is
/// dropped, because such bodies can quote the signed request.
fn storage_error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Some(start) = text.find("<Code>") {
        let code: String = text[start + 6..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .take(64)
            .collect();
        if !code.is_empty() {
            return code;
        }
    }
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_slice::<Message>(body) {
        Ok(m) => m
            .message
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect(),
        Err(_) => "(error body not shown)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_ignores_the_signature() {
        let a = Url::parse("https://h.example/r/a.json?sig=1&se=2#x").unwrap();
        let b = Url::parse("https://h.example/r/a.json?sig=9").unwrap();
        let c = Url::parse("https://h.example/r/b.json?sig=1").unwrap();
        assert_eq!(file_identity(&a), file_identity(&b));
        assert_ne!(file_identity(&a), file_identity(&c));
        assert!(!file_identity(&a).contains("sig"));
    }

    #[test]
    fn storage_errors_keep_only_their_code() {
        assert_eq!(
            storage_error_code(
                b"<Error><Code>AuthenticationFailed</Code><Message>sig=SECRET</Message></Error>"
            ),
            "AuthenticationFailed"
        );
        assert_eq!(storage_error_code(b"{\"message\":\"gone\"}"), "gone");
        assert_eq!(storage_error_code(b"sig=SECRET"), "(error body not shown)");
    }
}
