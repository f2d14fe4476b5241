//! TLS client certificate for the remote-write receiver
//! (`REMOTE_WRITE_CLIENT_CERT_FILE` + `REMOTE_WRITE_CLIENT_KEY_FILE`, PEM),
//! for receivers that require mutual TLS.
//!
//! Both files are read and checked at start-up (a certificate, a private
//! key, and that the two belong together), so a mistake stops the exporter
//! with exit code 2 naming the setting instead of failing every publish.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::settings::ConfigError;

const CERT: &str = "REMOTE_WRITE_CLIENT_CERT_FILE";
const KEY: &str = "REMOTE_WRITE_CLIENT_KEY_FILE";

/// A client certificate chain and its private key. `Debug` prints the file
/// paths only.
#[derive(Clone)]
pub struct ClientIdentity {
    cert_file: PathBuf,
    key_file: PathBuf,
    identity: reqwest::Identity,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ClientIdentity {
    fn eq(&self, other: &Self) -> bool {
        (&self.cert_file, &self.key_file) == (&other.cert_file, &other.key_file)
    }
}

impl ClientIdentity {
    /// Reads and checks the pair; `Ok(None)` when neither is set. Errors name
    /// the setting at fault and never quote the key.
    pub fn from_files(
        cert_file: Option<&Path>,
        key_file: Option<&Path>,
    ) -> Result<Option<Self>, ConfigError> {
        let (cert_file, key_file) = match (cert_file, key_file) {
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err(ConfigError::new(
                    KEY,
                    format!("is required with {CERT} (the certificate's private key, PEM)"),
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    CERT,
                    format!("is required with {KEY} (the client certificate, PEM)"),
                ))
            }
            (Some(c), Some(k)) => (c, k),
        };
        let cert = read(CERT, cert_file)?;
        let key = read(KEY, key_file)?;
        let has = |pem: &[u8], what: &str| {
            String::from_utf8_lossy(pem)
                .lines()
                .any(|l| l.starts_with("-----BEGIN ") && l.contains(what))
        };
        if !has(&cert, "CERTIFICATE-----") {
            return Err(ConfigError::new(
                CERT,
                format!("{} holds no PEM certificate", cert_file.display()),
            ));
        }
        if !has(&key, "PRIVATE KEY-----") {
            return Err(ConfigError::new(
                KEY,
                format!(
                    "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                    key_file.display()
                ),
            ));
        }
        let mut pem = cert;
        pem.push(b'\n');
        pem.extend_from_slice(&key);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
            ConfigError::new(
                KEY,
                format!(
                    "{} and {CERT} {} are not a usable certificate and key: {}",
                    key_file.display(),
                    cert_file.display(),
                    e.without_url()
                ),
            )
        })?;
        // Building a client checks that the key belongs to the certificate.
        reqwest::Client::builder()
            .identity(identity.clone())
            .build()
            .map_err(|e| {
                ConfigError::new(
                    KEY,
                    format!(
                        "{} does not fit the certificate in {CERT} {}: {}",
                        key_file.display(),
                        cert_file.display(),
                        crate::httputil::error_chain(e)
                    ),
                )
            })?;
        Ok(Some(ClientIdentity {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            identity,
        }))
    }

    /// Adds the certificate to a client being built.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder.identity(self.identity.clone())
    }
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigError::new(setting, format!("cannot read {}: {e}", path.display())))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ConfigError::new(
            setting,
            format!("file {} is empty", path.display()),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        (cert.pem(), signing_key.serialize_pem())
    }

    #[test]
    fn pairs_are_checked_and_errors_name_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = |n: &str| dir.path().join(n);
        let (cert, key) = pair("client");
        let (_, other_key) = pair("other");
        std::fs::write(path("cert.pem"), &cert).unwrap();
        std::fs::write(path("key.pem"), &key).unwrap();
        std::fs::write(path("other-key.pem"), &other_key).unwrap();
        std::fs::write(path("empty"), "\n").unwrap();

        assert!(ClientIdentity::from_files(None, None).unwrap().is_none());
        let id = ClientIdentity::from_files(Some(&path("cert.pem")), Some(&path("key.pem")))
            .unwrap()
            .unwrap();
        let dbg = format!("{id:?}");
        assert!(dbg.contains("key.pem") && !dbg.contains("PRIVATE"), "{dbg}");

        let cases = [
            (Some(path("cert.pem")), None, KEY),
            (None, Some(path("key.pem")), CERT),
            (Some(path("missing")), Some(path("key.pem")), CERT),
            (Some(path("cert.pem")), Some(path("missing")), KEY),
            (Some(path("empty")), Some(path("key.pem")), CERT),
            (Some(path("key.pem")), Some(path("key.pem")), CERT),
            (Some(path("cert.pem")), Some(path("cert.pem")), KEY),
            (Some(path("cert.pem")), Some(path("other-key.pem")), KEY),
        ];
        let secret_line = key.lines().nth(1).unwrap().to_string();
        for (c, k, setting) in cases {
            let e = ClientIdentity::from_files(c.as_deref(), k.as_deref()).unwrap_err();
            assert_eq!(e.setting, setting, "{c:?} {k:?}: {e}");
            assert!(!e.message.contains(&secret_line), "{e}");
        }
    }
}
