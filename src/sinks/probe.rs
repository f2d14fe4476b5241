//! The one result shape of a sink probe (`--check`): one request through
//! the sink's own transport (the same client, TLS settings, headers and
//! auth as a real delivery), never retried, sending no data.

use std::fmt;

/// Why a sink probe did not work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeFailure {
    /// The sink answered with a status other than 2xx.
    Status {
        /// HTTP status code.
        code: u16,
        /// The start of the response body (at most about 1 KiB).
        body: String,
    },
    /// No answer: connection refused, DNS, TLS or timeout. The text says
    /// which, with its causes (never the URL's query or a credential).
    Unreachable(String),
    /// The credentials could not be read or applied (a token file that
    /// vanished, no AWS credentials); the text names the setting.
    Credentials(String),
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeFailure::Status { code, body } if body.is_empty() => write!(f, "HTTP {code}"),
            ProbeFailure::Status { code, body } => write!(f, "HTTP {code}: {body}"),
            ProbeFailure::Unreachable(e) | ProbeFailure::Credentials(e) => f.write_str(e),
        }
    }
}

/// A sink's answer to a probe: `Ok` for 2xx, else its status and the start
/// of its body.
pub async fn answer(response: reqwest::Response) -> Result<(), ProbeFailure> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    Err(ProbeFailure::Status {
        code: status.as_u16(),
        body: crate::httputil::read_error_body(response).await,
    })
}

/// The text of a transport error, plus what to do when it is a TLS
/// certificate the client does not trust: name `ca_setting`, the setting
/// that adds the CA.
pub fn with_tls_hint(text: String, ca_setting: &str) -> String {
    // rustls' words for a server certificate it does not accept (unknown
    // issuer, expired, wrong name, …); a server refusing *our* certificate
    // ("CertificateRequired" alert) is not this.
    if text.contains("invalid peer certificate") {
        format!(
            "{text} (the server's TLS certificate is not trusted: put the CA that signed it, \
             PEM, in {ca_setting})"
        )
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrusted_certificate_names_the_ca_setting() {
        let text = with_tls_hint(
            "cannot connect: invalid peer certificate: UnknownIssuer".into(),
            "PUSHGATEWAY_CA_FILE",
        );
        assert!(text.contains("in PUSHGATEWAY_CA_FILE"), "{text}");
        let plain = with_tls_hint("cannot connect: Connection refused".into(), "X");
        assert_eq!(plain, "cannot connect: Connection refused");
        let mtls = "received fatal alert: CertificateRequired";
        assert_eq!(with_tls_hint(mtls.into(), "X"), mtls);
    }

    #[test]
    fn display_quotes_status_and_body() {
        let f = ProbeFailure::Status {
            code: 401,
            body: "no org id".into(),
        };
        assert_eq!(f.to_string(), "HTTP 401: no org id");
        let f = ProbeFailure::Status {
            code: 404,
            body: String::new(),
        };
        assert_eq!(f.to_string(), "HTTP 404");
    }
}
