//! Remote-write credential and header settings: bearer token or basic auth
//! (values or files, read once to fail early), SigV4, and the extra headers
//! checked against the ones the sender owns.

use reqwest::header::{HeaderName, HeaderValue};

use super::{err, RemoteWriteArgs, Secret};
use crate::settings::ConfigError;
use crate::sinks::remote_write::sigv4::{AwsEnv, SigV4, SIGV4_HEADERS};

pub use crate::secret::SecretSource;

/// How requests authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretSource),
    /// `Authorization: Basic …`.
    Basic {
        /// User name.
        username: Secret,
        /// Password (may be absent).
        password: Option<SecretSource>,
    },
    /// AWS Signature Version 4 (Amazon Managed Service for Prometheus).
    SigV4(SigV4),
}

/// Headers the sender owns (RW1-04/RW1-05), plus framing headers.
const RESERVED_HEADERS: &[&str] = &[
    "content-encoding",
    "content-type",
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "user-agent",
    "x-prometheus-remote-write-version",
    "retry-attempt",
];

pub(super) fn parse_auth(
    args: &RemoteWriteArgs,
    aws_env: &AwsEnv,
) -> Result<Option<Auth>, ConfigError> {
    let sigv4 = SigV4::from_settings(
        args.remote_write_sigv4_region.as_deref(),
        &args.remote_write_sigv4_service,
        aws_env,
    )?;
    let basic_or_bearer = parse_basic_or_bearer(args)?;
    match (sigv4, basic_or_bearer) {
        (Some(_), Some(_)) => Err(err(
            "REMOTE_WRITE_SIGV4_REGION",
            "SigV4 and bearer or basic auth (REMOTE_WRITE_BEARER_TOKEN, REMOTE_WRITE_USERNAME) are mutually exclusive",
        )),
        (Some(s), None) => Ok(Some(Auth::SigV4(s))),
        (None, other) => Ok(other),
    }
}

fn parse_basic_or_bearer(args: &RemoteWriteArgs) -> Result<Option<Auth>, ConfigError> {
    let bearer =
        match (
            &args.remote_write_bearer_token,
            &args.remote_write_bearer_token_file,
        ) {
            (Some(_), Some(_)) => return Err(err(
                "REMOTE_WRITE_BEARER_TOKEN_FILE",
                "set either REMOTE_WRITE_BEARER_TOKEN or REMOTE_WRITE_BEARER_TOKEN_FILE, not both",
            )),
            (Some(token), None) => {
                if token.expose().trim().is_empty() {
                    return Err(err("REMOTE_WRITE_BEARER_TOKEN", "is empty"));
                }
                Some(SecretSource::Value(token.clone()))
            }
            (None, Some(path)) => {
                Secret::read_file(path).map_err(|m| err("REMOTE_WRITE_BEARER_TOKEN_FILE", m))?;
                Some(SecretSource::File(path.clone()))
            }
            (None, None) => None,
        };
    let password = match (
        &args.remote_write_password,
        &args.remote_write_password_file,
    ) {
        (Some(_), Some(_)) => {
            return Err(err(
                "REMOTE_WRITE_PASSWORD_FILE",
                "set either REMOTE_WRITE_PASSWORD or REMOTE_WRITE_PASSWORD_FILE, not both",
            ))
        }
        (Some(p), None) => Some(SecretSource::Value(p.clone())),
        (None, Some(path)) => {
            Secret::read_file(path).map_err(|m| err("REMOTE_WRITE_PASSWORD_FILE", m))?;
            Some(SecretSource::File(path.clone()))
        }
        (None, None) => None,
    };
    let username = args
        .remote_write_username
        .as_ref()
        .filter(|u| !u.expose().is_empty());
    match (bearer, username, password) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(err(
            "REMOTE_WRITE_BEARER_TOKEN",
            "bearer and basic auth (REMOTE_WRITE_USERNAME/PASSWORD) are mutually exclusive",
        )),
        (Some(b), None, None) => Ok(Some(Auth::Bearer(b))),
        (None, Some(u), p) => {
            if u.expose().contains(':') {
                return Err(err(
                    "REMOTE_WRITE_USERNAME",
                    "must not contain ':' (basic auth)",
                ));
            }
            Ok(Some(Auth::Basic {
                username: u.clone(),
                password: p,
            }))
        }
        (None, None, Some(_)) => Err(err(
            "REMOTE_WRITE_USERNAME",
            "is required when REMOTE_WRITE_PASSWORD(_FILE) is set",
        )),
        (None, None, None) => Ok(None),
    }
}

/// Parses `Name=value,Name2=value`. Values are never echoed in errors.
pub(super) fn parse_headers(
    raw: Option<&Secret>,
    auth_configured: bool,
    sigv4: bool,
) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let reserved: Vec<&str> = if sigv4 {
        RESERVED_HEADERS
            .iter()
            .chain(SIGV4_HEADERS)
            .copied()
            .collect()
    } else {
        RESERVED_HEADERS.to_vec()
    };
    crate::httputil::parse_header_list(
        "REMOTE_WRITE_HEADERS",
        raw.expose(),
        &reserved,
        auth_configured.then_some(
            "REMOTE_WRITE_BEARER_TOKEN, REMOTE_WRITE_USERNAME or REMOTE_WRITE_SIGV4_REGION",
        ),
    )
}
