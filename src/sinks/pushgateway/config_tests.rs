//! Tests of the Pushgateway settings and grouping key.
use super::*;
use clap::Parser;

#[derive(Parser)]
struct TestCli {
    #[command(flatten)]
    args: PushgatewayArgs,
}

fn config(args: &[&str]) -> Result<Option<PushgatewayConfig>, ConfigError> {
    let mut full = vec!["x"];
    full.extend_from_slice(args);
    PushgatewayConfig::from_args(&TestCli::try_parse_from(full).unwrap().args)
}

#[test]
fn base64_matches_rfc4648_url_safe() {
    assert_eq!(base64_url(b""), "");
    assert_eq!(base64_url(b"f"), "Zg");
    assert_eq!(base64_url(b"fo"), "Zm8");
    assert_eq!(base64_url(b"foo"), "Zm9v");
    assert_eq!(base64_url(b"foob"), "Zm9vYg");
    assert_eq!(base64_url(b"\xfb\xff"), "-_8");
    assert_eq!(base64_url(b"a/b"), "YS9i");
}

#[test]
fn group_paths() {
    let c = config(&["--pushgateway-url", "http://pgw:9091/prefix/"])
        .unwrap()
        .unwrap();
    assert_eq!(
        c.group_url(&Scope::org("octo-org")),
        "http://pgw:9091/prefix/metrics/job/copilot-metrics-exporter/org/octo-org"
    );
    assert_eq!(
        c.group_path(&Scope::enterprise("a/b")),
        "/metrics/job/copilot-metrics-exporter/enterprise@base64/YS9i"
    );
    assert_eq!(
        c.group_path(&Scope::org("a b?#%")),
        "/metrics/job/copilot-metrics-exporter/org/a%20b%3F%23%25"
    );
    assert_eq!(label_segments("org", ""), "org@base64/=");
    assert_eq!(label_segments("org", ".."), "org@base64/Li4");
    let c = config(&[
        "--pushgateway-url",
        "http://pgw",
        "--pushgateway-job",
        "team/x",
    ])
    .unwrap()
    .unwrap();
    assert!(c
        .group_path(&Scope::org("o"))
        .starts_with("/metrics/job@base64/dGVhbS94/org/o"));
}

#[test]
fn validation_names_the_variables() {
    assert!(config(&[]).unwrap().is_none());
    let err = |args: &[&str]| config(args).unwrap_err().to_string();
    assert!(err(&["--pushgateway-url", "nope"]).contains("PUSHGATEWAY_URL"));
    assert!(err(&["--pushgateway-url", "http://u:p@h"]).contains("PUSHGATEWAY_URL"));
    assert!(err(&["--pushgateway-url", "http://h?x=1"]).contains("PUSHGATEWAY_URL"));
    assert!(
        err(&["--pushgateway-url", "http://h", "--pushgateway-job", " "])
            .contains("PUSHGATEWAY_JOB")
    );
    assert!(err(&[
        "--pushgateway-url",
        "http://h",
        "--pushgateway-username",
        "u"
    ])
    .contains("PUSHGATEWAY_PASSWORD"));
    assert!(err(&[
        "--pushgateway-url",
        "http://h",
        "--pushgateway-password",
        "p"
    ])
    .contains("PUSHGATEWAY_USERNAME"));
    assert!(err(&[
        "--pushgateway-url",
        "http://h",
        "--pushgateway-attempts",
        "0"
    ])
    .contains("PUSHGATEWAY_ATTEMPTS"));
    let c = config(&[
        "--pushgateway-url",
        "https://h",
        "--pushgateway-username",
        "u",
        "--pushgateway-password",
        "hunter2-secret",
    ])
    .unwrap()
    .unwrap();
    match c.auth.as_ref().unwrap() {
        PushAuth::Basic { password, .. } => assert_eq!(password.expose(), "hunter2-secret"),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn bearer_headers_and_ca_file_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "tok-secret\n").unwrap();
    let token = token.to_str().unwrap();
    let base = ["--pushgateway-url", "https://h"];
    let with = |extra: &[&str]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        config(&all)
    };
    let c = with(&[
        "--pushgateway-bearer-token-file",
        token,
        "--pushgateway-headers",
        "X-Tenant=a, X-Other = b",
    ])
    .unwrap()
    .unwrap();
    assert!(matches!(
        &c.auth,
        Some(PushAuth::Bearer(SecretSource::File(_)))
    ));
    assert_eq!(c.headers.len(), 2);
    assert!(!format!("{c:?}").contains("tok-secret"));
    let setting = |extra: &[&str]| with(extra).unwrap_err().setting;
    assert_eq!(
        setting(&[
            "--pushgateway-bearer-token",
            "t",
            "--pushgateway-bearer-token-file",
            token
        ]),
        "PUSHGATEWAY_BEARER_TOKEN_FILE"
    );
    assert_eq!(
        setting(&[
            "--pushgateway-bearer-token",
            "t",
            "--pushgateway-username",
            "u",
            "--pushgateway-password",
            "p"
        ]),
        "PUSHGATEWAY_BEARER_TOKEN"
    );
    assert_eq!(
        setting(&["--pushgateway-bearer-token-file", "/nonexistent"]),
        "PUSHGATEWAY_BEARER_TOKEN_FILE"
    );
    assert_eq!(
        setting(&["--pushgateway-headers", "Content-Type=x"]),
        "PUSHGATEWAY_HEADERS"
    );
    assert_eq!(
        setting(&[
            "--pushgateway-bearer-token",
            "t",
            "--pushgateway-headers",
            "Authorization=x"
        ]),
        "PUSHGATEWAY_HEADERS"
    );
    assert_eq!(
        setting(&["--pushgateway-headers", "novalue"]),
        "PUSHGATEWAY_HEADERS"
    );
    assert_eq!(
        setting(&["--pushgateway-ca-file", token]),
        "PUSHGATEWAY_CA_FILE"
    );
    assert_eq!(
        setting(&["--pushgateway-ca-file", "/nonexistent"]),
        "PUSHGATEWAY_CA_FILE"
    );
}
