//! The web configuration file of `/metrics` (`WEB_CONFIG_FILE`,
//! `--web.config.file`): TLS and basic auth in the format of the Prometheus
//! exporter-toolkit, so the file a node_exporter uses works here too.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/tls/tls.crt
//!   key_file: /etc/tls/tls.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: /etc/tls/ca.crt                # with the above
//!   min_version: TLS12                             # TLS12 (default) or TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...                         # bcrypt hash
//! ```
//!
//! Keys this exporter does not implement (cipher suites, curve preferences,
//! HTTP/2 switches, extra headers) are refused when the file is read rather
//! than silently ignored.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio_rustls::rustls;

/// The file's top level.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebConfigFile {
    #[serde(default)]
    tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

/// `tls_server_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsServerConfig {
    cert_file: PathBuf,
    key_file: PathBuf,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<PathBuf>,
    #[serde(default)]
    min_version: Option<String>,
}

/// `/metrics` protection built from a web configuration file: a TLS
/// acceptor and/or basic-auth users.
#[derive(Clone)]
pub struct WebConfig {
    /// TLS for every connection; `None`: plain HTTP.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Basic-auth users; `None`: no authentication.
    pub basic_auth: Option<Arc<BasicAuth>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field(
                "basic_auth_users",
                &self.basic_auth.as_ref().map(|b| b.users.len()),
            )
            .finish()
    }
}

/// An error in the web configuration file: what is wrong, in which key or
/// file. The caller names the setting (`WEB_CONFIG_FILE`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WebConfigError(String);

fn error(message: impl Into<String>) -> WebConfigError {
    WebConfigError(message.into())
}

impl WebConfig {
    /// Reads and validates the file at `path`: the YAML, the certificate
    /// chain and key, the client CA, and that every basic-auth value is a
    /// bcrypt hash.
    ///
    /// Errors: the file or a file it names cannot be read or parsed, an
    /// unknown key, an unsupported `client_auth_type` or `min_version`.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        let file: WebConfigFile = if text.trim().is_empty() {
            WebConfigFile::default()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| error(format!("{}: {e}", path.display())))?
        };
        let tls = match file.tls_server_config {
            None => None,
            Some(tls) => Some(tls_acceptor(&tls)?),
        };
        let basic_auth = if file.basic_auth_users.is_empty() {
            None
        } else {
            for (user, hash) in &file.basic_auth_users {
                if hash.parse::<bcrypt::HashParts>().is_err() {
                    return Err(error(format!(
                        "basic_auth_users.{user}: not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                    )));
                }
            }
            Some(Arc::new(BasicAuth {
                users: file.basic_auth_users,
                verified: Mutex::new(HashSet::new()),
            }))
        };
        Ok(WebConfig { tls, basic_auth })
    }
}

/// Checks `Authorization: Basic` headers against bcrypt hashes.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    // SHA-256 of "user:password" pairs that verified once: bcrypt costs tens
    // of milliseconds by design, a scrape every 15 s should not pay it each
    // time (exporter-toolkit caches the same way). Only digests are kept.
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl BasicAuth {
    /// True when `header` (the `Authorization` value) names a configured
    /// user with the right password. Runs bcrypt on a blocking thread the
    /// first time a pair is seen.
    pub async fn check(self: &Arc<Self>, header: Option<&str>) -> bool {
        let Some((user, password)) = header.and_then(parse_basic) else {
            return false;
        };
        let Some(hash) = self.users.get(&user).cloned() else {
            return false;
        };
        let digest = {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            h.update(hash.as_bytes());
            h.update([0]);
            h.update(user.as_bytes());
            h.update([0]);
            h.update(password.as_bytes());
            <[u8; 32]>::from(h.finalize())
        };
        if self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&digest)
        {
            return true;
        }
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if ok {
            self.verified
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(digest);
        }
        ok
    }
}

/// `Basic base64(user:password)` → (user, password).
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn read_certs(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(format!("{key}: cannot read {}: {e}", path.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| error(format!("{key}: {} is not PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(error(format!(
            "{key}: {} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

fn tls_acceptor(tls: &TlsServerConfig) -> Result<tokio_rustls::TlsAcceptor, WebConfigError> {
    let chain = read_certs("tls_server_config.cert_file", &tls.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|e| {
        error(format!(
            "tls_server_config.key_file: cannot read a PEM private key from {}: {e}",
            tls.key_file.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version.as_deref() {
        None | Some("TLS12") => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Some("TLS13") => &[&rustls::version::TLS13],
        Some(other) => {
            return Err(error(format!(
                "tls_server_config.min_version: `{other}` is not supported (TLS12 or TLS13)"
            )))
        }
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| error(format!("tls_server_config: {e}")))?;
    let client_ca = |required: bool| -> Result<_, WebConfigError> {
        let Some(path) = &tls.client_ca_file else {
            return Err(error(
                "tls_server_config.client_ca_file is required with this client_auth_type",
            ));
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs("tls_server_config.client_ca_file", path)? {
            roots
                .add(cert)
                .map_err(|e| error(format!("tls_server_config.client_ca_file: {e}")))?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        );
        let verifier = if required {
            verifier
        } else {
            verifier.allow_unauthenticated()
        };
        verifier
            .build()
            .map_err(|e| error(format!("tls_server_config.client_ca_file: {e}")))
    };
    let builder = match tls.client_auth_type.as_deref() {
        None | Some("NoClientCert") => builder.with_no_client_auth(),
        Some("RequireAndVerifyClientCert") => builder.with_client_cert_verifier(client_ca(true)?),
        Some("VerifyClientCertIfGiven") => builder.with_client_cert_verifier(client_ca(false)?),
        Some(other) => {
            return Err(error(format!(
                "tls_server_config.client_auth_type: `{other}` is not supported (NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
            )))
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        error(format!(
            "tls_server_config: certificate and key do not match: {e}"
        ))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn unknown_keys_and_plain_passwords_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.yml", "http_server_config:\n  http2: false\n");
        let e = WebConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("http_server_config"), "{e}");
        let p = write(dir.path(), "b.yml", "basic_auth_users:\n  prom: hunter2\n");
        let e = WebConfig::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("not a bcrypt hash") && !e.contains("hunter2"),
            "{e}"
        );
        let p = write(dir.path(), "c.yml", "");
        let empty = WebConfig::load(&p).unwrap();
        assert!(empty.tls.is_none() && empty.basic_auth.is_none());
    }

    #[tokio::test]
    async fn basic_auth_checks_bcrypt_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let p = write(
            dir.path(),
            "w.yml",
            &format!("basic_auth_users:\n  prom: '{hash}'\n"),
        );
        let auth = WebConfig::load(&p).unwrap().basic_auth.unwrap();
        let header = |u: &str, pw: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{pw}"))
            )
        };
        assert!(auth.check(Some(&header("prom", "s3cret"))).await);
        // The cached pair still verifies; a wrong password never does.
        assert!(auth.check(Some(&header("prom", "s3cret"))).await);
        assert!(!auth.check(Some(&header("prom", "wrong"))).await);
        assert!(!auth.check(Some(&header("other", "s3cret"))).await);
        assert!(!auth.check(Some("Bearer x")).await);
        assert!(!auth.check(None).await);
    }
}
