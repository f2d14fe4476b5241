//! HTTP pieces both GitHub clients share: building them (`User-Agent`,
//! `GITHUB_CA_FILE`), the sensitive bearer header, reading capped answers,
//! and naming URLs and failures without leaking a signed link's query.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode};
use url::Url;

use super::error::{FailureKind, GithubError};
use crate::httputil::error_chain;
use crate::secret::Secret;

/// `User-Agent` of every request: name and version
/// ([`crate::httputil::USER_AGENT`]).
pub fn user_agent() -> String {
    crate::httputil::USER_AGENT.to_string()
}

/// An `Authorization: Bearer …` value, marked sensitive so no HTTP layer
/// ever prints it.
pub(super) fn bearer(credential: &Secret) -> HeaderValue {
    match HeaderValue::from_str(&format!("Bearer {}", credential.expose())) {
        Ok(mut value) => {
            value.set_sensitive(true);
            value
        }
        // A token with characters not allowed in a header: send nothing
        // usable rather than panic; GitHub answers 401.
        Err(_) => HeaderValue::from_static("Bearer invalid-token-characters"),
    }
}

/// The download client: no default header but `User-Agent`, a timeout per
/// read (files can be large), gzip decoding.
pub(super) fn download_client(
    timeout: Duration,
    roots: Vec<reqwest::Certificate>,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(user_agent())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(timeout)
        .gzip(true)
        .tls_certs_merge(roots)
        .build()
        .map_err(|e| format!("cannot build the report download client: {e}"))
}

/// Reads the PEM bundle of `GITHUB_CA_FILE`.
pub(super) fn load_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("GITHUB_CA_FILE: cannot read {}: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        format!(
            "GITHUB_CA_FILE: {} is not a PEM certificate bundle: {e}",
            path.display()
        )
    })?;
    if certs.is_empty() {
        return Err(format!(
            "GITHUB_CA_FILE: {} holds no certificate",
            path.display()
        ));
    }
    Ok(certs)
}

/// Host and path of a URL, without the query (a signed link's query is a
/// credential).
pub fn describe(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{host}:{port}{}", url.path()),
        None => format!("{host}{}", url.path()),
    }
}

pub(super) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<Url> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        if !is_next {
            return None;
        }
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        Url::parse(target).ok()
    })
}

/// Reads a whole answer, refusing one larger than `cap` bytes.
pub(super) async fn read_capped(response: Response, cap: usize) -> Result<Bytes, String> {
    if response.content_length().is_some_and(|l| l > cap as u64) {
        return Err(format!("answer larger than {cap} bytes"));
    }
    let mut stream = response.bytes_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(error_chain)?;
        if buf.len() + chunk.len() > cap {
            return Err(format!("answer larger than {cap} bytes"));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

pub(super) fn body_error(what: String, status: StatusCode, detail: String) -> GithubError {
    GithubError {
        what,
        kind: if detail.contains("timed out") {
            FailureKind::Timeout
        } else {
            FailureKind::InvalidResponse
        },
        status: Some(status.as_u16()),
        message: format!("cannot read the answer: {detail}"),
        retry_after: None,
    }
}

/// A failed request (no HTTP answer, or a body that broke off), classified.
pub(super) fn transport_error(what: String, error: reqwest::Error) -> GithubError {
    let kind = if error.is_timeout() {
        FailureKind::Timeout
    } else if error.is_decode() || error.is_body() {
        FailureKind::InvalidResponse
    } else {
        FailureKind::Unreachable
    };
    GithubError {
        what,
        kind,
        status: None,
        message: error_chain(error),
        retry_after: None,
    }
}
