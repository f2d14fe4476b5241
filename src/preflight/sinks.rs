//! The sink half of `--check`: one request to every configured sink
//! through the sink's own transport — an empty remote-write request, the
//! Pushgateway's readiness — with the reason and the fix named by the
//! settings of that sink.

use super::{Outcome, Probe};
use crate::sinks::probe::ProbeFailure;
use crate::sinks::Sinks;

/// The settings a sink's fixes name.
struct SinkSettings {
    /// The URL setting.
    url: &'static str,
    /// How the URL should look.
    url_example: &'static str,
    /// The credentials and header settings.
    auth: &'static str,
    /// The extra-CA setting.
    ca: &'static str,
}

const PUSHGATEWAY: SinkSettings = SinkSettings {
    url: "PUSHGATEWAY_URL",
    url_example: "the Pushgateway's base URL with its route prefix, if any, e.g. \
                  http://pushgateway:9091",
    auth: "PUSHGATEWAY_USERNAME + PUSHGATEWAY_PASSWORD(_FILE) or \
           PUSHGATEWAY_BEARER_TOKEN(_FILE), and PUSHGATEWAY_HEADERS for an auth proxy",
    ca: "PUSHGATEWAY_CA_FILE",
};

const REMOTE_WRITE: SinkSettings = SinkSettings {
    url: "REMOTE_WRITE_URL",
    url_example: "the receiver's write path, e.g. Prometheus \
                  http://prometheus:9090/api/v1/write (started with \
                  --web.enable-remote-write-receiver), Mimir …/api/v1/push, \
                  VictoriaMetrics …/api/v1/write",
    auth: "REMOTE_WRITE_BEARER_TOKEN(_FILE), REMOTE_WRITE_USERNAME + \
           REMOTE_WRITE_PASSWORD(_FILE) or REMOTE_WRITE_SIGV4_REGION with AWS credentials, \
           and the tenant header in REMOTE_WRITE_HEADERS (e.g. X-Scope-OrgID=…)",
    ca: "REMOTE_WRITE_CA_FILE (and REMOTE_WRITE_CLIENT_CERT_FILE / \
         REMOTE_WRITE_CLIENT_KEY_FILE when it requires a client certificate)",
};

/// The row of a probe's result: reason and fix for a failure.
fn outcome(result: Result<(), ProbeFailure>, settings: &SinkSettings) -> Outcome {
    let failure = match result {
        Ok(()) => return Outcome::Works,
        Err(failure) => failure,
    };
    let SinkSettings {
        url,
        url_example,
        auth,
        ca,
    } = settings;
    let (reason, fix) = match &failure {
        ProbeFailure::Status { code, .. } => match code {
            401 | 403 | 407 => ("auth refused", format!("check {auth}")),
            404 | 405 | 410 => ("not found", format!("check {url}: {url_example}")),
            300..=399 => (
                "redirected",
                format!("set {url} to the address the redirect points at"),
            ),
            408 | 429 | 500..=599 => (
                "server error",
                format!(
                    "the sink at {url} answers but fails; check its logs (deliveries retry this \
                     status)"
                ),
            ),
            _ => (
                "refused",
                format!("the sink refused the request: check {url} ({url_example}) and {auth}"),
            ),
        },
        ProbeFailure::Unreachable(text) if text.contains("not trusted") => (
            "untrusted certificate",
            format!("put the CA that signed the sink's certificate (PEM) in {ca}"),
        ),
        ProbeFailure::Unreachable(_) => (
            "unreachable",
            format!(
                "check {url} (host, port, http/https), the network and proxy (HTTPS_PROXY / \
                 NO_PROXY), and for https {ca}"
            ),
        ),
        ProbeFailure::Credentials(_) => (
            "credentials unusable",
            format!("make the credentials readable: {auth}"),
        ),
    };
    Outcome::Failed {
        reason: reason.to_string(),
        message: failure.to_string(),
        fix,
    }
}

/// Probes every configured sink, appending a row each.
pub async fn probe_sinks(sinks: &Sinks, out: &mut Vec<Probe>) {
    if let Some(pg) = &sinks.pushgateway {
        let result = pg.probe().await;
        out.push(Probe {
            target: format!("pushgateway {}", pg.url()),
            what: "GET /-/ready".into(),
            outcome: outcome(result, &PUSHGATEWAY),
        });
    }
    if let Some(rw) = &sinks.remote_write {
        let result = rw.probe().await;
        out.push(Probe {
            target: format!("remote-write {}", rw.config().display_url()),
            what: "empty write request".into(),
            outcome: outcome(result, &REMOTE_WRITE),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(result: Result<(), ProbeFailure>, s: &SinkSettings) -> (String, String, String) {
        match outcome(result, s) {
            Outcome::Failed {
                reason,
                message,
                fix,
            } => (reason, message, fix),
            Outcome::Works => panic!("a failure"),
        }
    }

    #[test]
    fn each_answer_gets_its_reason_and_a_fix_naming_the_sinks_settings() {
        let status = |code| {
            Err(ProbeFailure::Status {
                code,
                body: "no org id".into(),
            })
        };
        let (reason, message, fix) = failed(status(401), &REMOTE_WRITE);
        assert_eq!(reason, "auth refused");
        assert_eq!(message, "HTTP 401: no org id");
        assert!(fix.contains("REMOTE_WRITE_HEADERS"), "{fix}");
        let (reason, _, fix) = failed(status(404), &PUSHGATEWAY);
        assert_eq!(reason, "not found");
        assert!(fix.contains("PUSHGATEWAY_URL"), "{fix}");
        assert_eq!(failed(status(503), &PUSHGATEWAY).0, "server error");
        assert_eq!(failed(status(400), &REMOTE_WRITE).0, "refused");
        assert_eq!(failed(status(308), &REMOTE_WRITE).0, "redirected");
        let refused = Err(ProbeFailure::Unreachable("cannot connect".into()));
        let (reason, _, fix) = failed(refused, &PUSHGATEWAY);
        assert_eq!(reason, "unreachable");
        assert!(fix.contains("PUSHGATEWAY_URL"), "{fix}");
        let tls = Err(ProbeFailure::Unreachable(
            crate::sinks::probe::with_tls_hint("invalid peer certificate".into(), "X_CA"),
        ));
        let (reason, _, fix) = failed(tls, &PUSHGATEWAY);
        assert_eq!(reason, "untrusted certificate");
        assert!(fix.contains("PUSHGATEWAY_CA_FILE"), "{fix}");
        assert!(matches!(outcome(Ok(()), &PUSHGATEWAY), Outcome::Works));
    }
}
