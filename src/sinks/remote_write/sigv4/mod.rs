//! AWS Signature Version 4 for remote-write into Amazon Managed Service for
//! Prometheus (`REMOTE_WRITE_SIGV4_REGION`, `REMOTE_WRITE_SIGV4_SERVICE`).
//!
//! Signing and credential loading come from `reqsign` (Apache OpenDAL): the
//! standard AWS chain over a snapshot of the process's `AWS_*` environment
//! taken at start-up — `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//! (`AWS_SESSION_TOKEN`), the shared credentials/config files (`AWS_PROFILE`,
//! SSO, `credential_process`), web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` +
//! `AWS_ROLE_ARN`, as EKS IRSA injects them), container credentials (ECS,
//! EKS Pod Identity) and, when asked for with `AWS_EC2_METADATA_DISABLED=false`,
//! the EC2 instance role. Temporary credentials are cached and refreshed
//! before they expire.
//!
//! Every attempt is signed anew (fresh `X-Amz-Date`), over the body's SHA-256
//! (`X-Amz-Content-SHA256`) and every header but `User-Agent` (which proxies
//! may rewrite; AWS's own SDKs leave it out too).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqsign::aws::{Credential, DefaultCredentialProvider, RequestSigner};
use reqsign::{Signer, StaticEnv};
use reqsign_http_send_reqwest::ReqwestHttpSend;
use reqwest::header::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use crate::httputil::{with_causes, USER_AGENT};
use crate::settings::ConfigError;

/// `REMOTE_WRITE_SIGV4_SERVICE` default: Amazon Managed Service for Prometheus.
pub const DEFAULT_SERVICE: &str = "aps";

/// Headers the signature owns; `REMOTE_WRITE_HEADERS` may not set them
/// while SigV4 is on.
pub const SIGV4_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
];

/// The process's `AWS_*` variables and home directory, taken once. `Debug`
/// prints only the variable names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AwsEnv {
    vars: HashMap<String, String>,
    home: Option<PathBuf>,
}

impl fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("AwsEnv")
            .field("vars", &names)
            .field("home", &self.home)
            .finish()
    }
}

impl AwsEnv {
    /// The `AWS_*` variables of this process and `$HOME`.
    pub fn from_os() -> Self {
        AwsEnv {
            vars: std::env::vars()
                .filter(|(k, _)| k.starts_with("AWS_"))
                .collect(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }

    /// An environment made of these variables (tests and embedding).
    pub fn from_vars<'a>(
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
        home: Option<PathBuf>,
    ) -> Self {
        AwsEnv {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home,
        }
    }

    /// A variable's value; empty counts as unset.
    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A file named by `var`, or `default` under the home directory.
    fn file(&self, var: &str, default: &str) -> Option<PathBuf> {
        match self.get(var) {
            Some(path) => Some(PathBuf::from(path)),
            None => self.home.as_ref().map(|h| h.join(default)),
        }
    }
}

/// Validated SigV4 settings and the signer (its credential cache is shared
/// by clones). `Debug` prints region, service and where credentials come
/// from, never a credential.
#[derive(Clone)]
pub struct SigV4 {
    region: String,
    service: String,
    source: &'static str,
    signer: Arc<Signer<Credential>>,
}

impl fmt::Debug for SigV4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigV4")
            .field("region", &self.region)
            .field("service", &self.service)
            .field("credentials", &self.source)
            .finish()
    }
}

impl PartialEq for SigV4 {
    fn eq(&self, other: &Self) -> bool {
        (&self.region, &self.service, self.source) == (&other.region, &other.service, other.source)
    }
}

impl Eq for SigV4 {}

fn err(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(setting, message)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl SigV4 {
    /// Validates `REMOTE_WRITE_SIGV4_REGION` / `_SERVICE` and finds where the
    /// credentials will come from; `Ok(None)` when no region is set (SigV4
    /// off). Nothing is fetched over the network here.
    ///
    /// Errors name the setting: a bad region or service, half a key pair, a
    /// web-identity token file that cannot be read or has no role, or no
    /// credential source at all.
    pub fn from_settings(
        region: Option<&str>,
        service: &str,
        env: &AwsEnv,
    ) -> Result<Option<SigV4>, ConfigError> {
        let Some(region) = region.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        if !valid_name(region) {
            return Err(err(
                "REMOTE_WRITE_SIGV4_REGION",
                format!("`{region}` is not an AWS region name (like us-east-1)"),
            ));
        }
        let service = service.trim();
        if !valid_name(service) {
            return Err(err(
                "REMOTE_WRITE_SIGV4_SERVICE",
                format!("`{service}` is not an AWS signing name (Amazon Managed Service for Prometheus: aps)"),
            ));
        }
        let (source, imds) = credential_source(env)?;
        let mut chain = DefaultCredentialProvider::builder();
        if !imds {
            chain = chain.no_imds();
        }
        // File reads and `credential_process` as reqsign does them by default.
        let context = reqsign::default_context()
            .with_http_send(ReqwestHttpSend::new(credential_client()))
            .with_env(StaticEnv {
                home_dir: env.home.clone(),
                envs: env.vars.clone(),
            });
        let signer = Signer::new(context, chain.build(), RequestSigner::new(service, region));
        Ok(Some(SigV4 {
            region: region.to_string(),
            service: service.to_string(),
            source,
            signer: Arc::new(signer),
        }))
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The signing name (`aps`).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Where the credentials come from, e.g. `AWS_ACCESS_KEY_ID`.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Says at start-up how requests are signed.
    pub fn log_enabled(&self) {
        tracing::info!(
            region = %self.region,
            service = %self.service,
            credentials = self.source,
            "remote-write requests are signed with AWS SigV4"
        );
    }

    /// Signs `request` in place: `X-Amz-Content-SHA256` (the body's hash),
    /// `X-Amz-Date`, `X-Amz-Security-Token` for temporary credentials, `Host`
    /// and `Authorization`. The error says why credentials could not be
    /// loaded or the request signed, never a credential.
    pub async fn sign(&self, request: &mut reqwest::Request) -> Result<(), String> {
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .unwrap_or_default();
        let hash = hex(&Sha256::digest(body));
        request.headers_mut().insert(
            HeaderName::from_static("x-amz-content-sha256"),
            HeaderValue::from_str(&hash).map_err(|e| e.to_string())?,
        );
        let uri: http::Uri = request
            .url()
            .as_str()
            .parse()
            .map_err(|e| format!("the URL cannot be signed: {e}"))?;
        let mut head = http::Request::builder()
            .method(request.method().clone())
            .uri(uri)
            .body(())
            .map_err(|e| format!("the request cannot be signed: {e}"))?
            .into_parts()
            .0;
        for (name, value) in request.headers_mut() {
            if name == reqwest::header::USER_AGENT {
                continue;
            }
            // SigV4 canonicalises a value by collapsing runs of spaces, and
            // reqsign only trims; sending the collapsed value makes both agree.
            if let Some(collapsed) = collapse_spaces(value) {
                *value = collapsed;
            }
            head.headers.append(name.clone(), value.clone());
        }
        self.signer
            .sign(&mut head, None)
            .await
            .map_err(|e| describe(&e))?;
        for (name, mut value) in head.headers {
            let Some(name) = name else { continue };
            if SIGV4_HEADERS.contains(&name.as_str()) {
                value.set_sensitive(true);
            }
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }
}

/// Finds the first credential source the chain will use, checking what can
/// be checked without the network. Returns its name and whether the EC2
/// instance metadata service is in the chain.
fn credential_source(env: &AwsEnv) -> Result<(&'static str, bool), ConfigError> {
    let imds = env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    match (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(_), Some(_)) => return Ok(("AWS_ACCESS_KEY_ID", imds)),
        (Some(_), None) => {
            return Err(err(
                "AWS_SECRET_ACCESS_KEY",
                "is not set but AWS_ACCESS_KEY_ID is (REMOTE_WRITE_SIGV4_REGION needs both)",
            ))
        }
        (None, Some(_)) => {
            return Err(err(
                "AWS_ACCESS_KEY_ID",
                "is not set but AWS_SECRET_ACCESS_KEY is (REMOTE_WRITE_SIGV4_REGION needs both)",
            ))
        }
        (None, None) => {}
    }
    if let Some(token_file) = env.get("AWS_WEB_IDENTITY_TOKEN_FILE") {
        if env.get("AWS_ROLE_ARN").is_none() {
            return Err(err(
                "AWS_ROLE_ARN",
                "is required with AWS_WEB_IDENTITY_TOKEN_FILE (the role to assume for REMOTE_WRITE_SIGV4_REGION)",
            ));
        }
        if let Err(e) = std::fs::File::open(Path::new(token_file)) {
            return Err(err(
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                format!("cannot read {token_file}: {e}"),
            ));
        }
    }
    let profile_file = [
        env.file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
        env.file("AWS_CONFIG_FILE", ".aws/config"),
    ]
    .into_iter()
    .flatten()
    .any(|p| p.is_file());
    if profile_file {
        return Ok(("shared credentials/config file", imds));
    }
    if let Some(profile) = env.get("AWS_PROFILE") {
        return Err(err(
            "AWS_PROFILE",
            format!("profile `{profile}` is set but neither AWS_SHARED_CREDENTIALS_FILE nor AWS_CONFIG_FILE (~/.aws/credentials, ~/.aws/config) exists"),
        ));
    }
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        return Ok(("AWS_WEB_IDENTITY_TOKEN_FILE", imds));
    }
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        return Ok(("container credentials", imds));
    }
    if imds {
        return Ok(("EC2 instance metadata", imds));
    }
    Err(err(
        "REMOTE_WRITE_SIGV4_REGION",
        "is set but no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
         (and AWS_SESSION_TOKEN), AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, AWS_PROFILE with a \
         shared credentials file, or AWS_EC2_METADATA_DISABLED=false to use the EC2 instance role",
    ))
}

/// The client that fetches temporary credentials (STS, container or EC2
/// metadata endpoints): bounded, so a missing endpoint fails a publish
/// instead of hanging it.
fn credential_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default()
}

/// A reqsign error as one line: message, context and causes.
fn describe(e: &reqsign::Error) -> String {
    let mut text = format!("AWS SigV4 ({}): {e}", e.kind());
    for c in e.context() {
        text.push_str("; ");
        text.push_str(c);
    }
    match std::error::Error::source(e) {
        Some(source) => with_causes(format!("{text}: {source}"), source),
        None => text,
    }
}

/// `value` with surrounding whitespace removed and inner runs of spaces and
/// tabs made one space (SigV4's "Trimall"); `None` when already so.
fn collapse_spaces(value: &HeaderValue) -> Option<HeaderValue> {
    let bytes = value.as_bytes();
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let words: Vec<&[u8]> = bytes.split(blank).filter(|w| !w.is_empty()).collect();
    let joined = words.join(&b' ');
    if joined == bytes {
        return None;
    }
    let mut out = HeaderValue::from_bytes(&joined).ok()?;
    out.set_sensitive(value.is_sensitive());
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
