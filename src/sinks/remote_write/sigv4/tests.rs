//! SigV4: off without a region, credential sources found, missing ones named.

use super::*;

fn env(vars: &[(&str, &str)]) -> AwsEnv {
    AwsEnv::from_vars(vars.iter().copied(), None)
}

#[test]
fn off_without_region_and_validated_with_it() {
    assert!(SigV4::from_settings(None, "aps", &env(&[]))
        .unwrap()
        .is_none());
    assert!(SigV4::from_settings(Some(" "), "aps", &env(&[]))
        .unwrap()
        .is_none());
    let keys = env(&[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")]);
    let e = SigV4::from_settings(Some("US East"), "aps", &keys).unwrap_err();
    assert_eq!(e.setting, "REMOTE_WRITE_SIGV4_REGION");
    let e = SigV4::from_settings(Some("eu-west-1"), "", &keys).unwrap_err();
    assert_eq!(e.setting, "REMOTE_WRITE_SIGV4_SERVICE");
    let s = SigV4::from_settings(Some("eu-west-1"), "aps", &keys)
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.region(), s.service(), s.source()),
        ("eu-west-1", "aps", "AWS_ACCESS_KEY_ID")
    );
}

#[test]
fn missing_credentials_name_the_setting() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "REMOTE_WRITE_SIGV4_REGION"),
        (&[("AWS_ACCESS_KEY_ID", "AK")], "AWS_SECRET_ACCESS_KEY"),
        (
            &[("AWS_SECRET_ACCESS_KEY", "SECRETSK")],
            "AWS_ACCESS_KEY_ID",
        ),
        (
            &[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", " ")],
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            &[("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token")],
            "AWS_ROLE_ARN",
        ),
        (
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"),
                ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
            ],
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ),
        (
            &[("AWS_PROFILE", "p"), ("AWS_CONFIG_FILE", "/nonexistent/c")],
            "AWS_PROFILE",
        ),
        (
            &[("AWS_EC2_METADATA_DISABLED", "true")],
            "REMOTE_WRITE_SIGV4_REGION",
        ),
    ];
    for (vars, setting) in cases {
        let e = SigV4::from_settings(Some("us-east-1"), "aps", &env(vars)).unwrap_err();
        assert_eq!(e.setting, *setting, "{vars:?}: {e}");
        assert!(!e.message.contains("SECRETSK"), "{e}");
    }
}

#[test]
fn other_sources_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "jwt").unwrap();
    let token = token.to_str().unwrap();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", token),
                ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
            ],
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ),
        (
            &[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds")],
            "container credentials",
        ),
        (
            &[("AWS_EC2_METADATA_DISABLED", "false")],
            "EC2 instance metadata",
        ),
    ];
    for (vars, source) in cases {
        let s = SigV4::from_settings(Some("us-east-1"), "aps", &env(vars))
            .unwrap()
            .unwrap();
        assert_eq!(s.source(), *source);
    }
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(home.path().join(".aws/credentials"), "[default]\n").unwrap();
    let e = AwsEnv::from_vars([], Some(home.path().to_path_buf()));
    let s = SigV4::from_settings(Some("us-east-1"), "aps", &e)
        .unwrap()
        .unwrap();
    assert_eq!(s.source(), "shared credentials/config file");
}

#[tokio::test]
async fn signs_body_hash_date_token_and_never_prints_secrets() {
    let e = env(&[
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "SECRETKEYVALUE"),
        ("AWS_SESSION_TOKEN", "SESSIONTOKENVALUE"),
    ]);
    let s = SigV4::from_settings(Some("us-west-2"), "aps", &e)
        .unwrap()
        .unwrap();
    let client = reqwest::Client::new();
    let mut request = client
        .post("https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write")
        .header("user-agent", "ua")
        .header("content-encoding", "snappy")
        .header("x-extra", " a \t b  c ")
        .body("abc")
        .build()
        .unwrap();
    s.sign(&mut request).await.unwrap();
    let h = request.headers();
    assert_eq!(
        h["x-amz-content-sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(h["x-amz-security-token"], "SESSIONTOKENVALUE");
    assert_eq!(h["host"], "aps-workspaces.us-west-2.amazonaws.com");
    assert_eq!(h["x-extra"], "a b c");
    assert_eq!(h["user-agent"], "ua");
    let auth = h["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{auth}"
    );
    assert!(auth.contains("/us-west-2/aps/aws4_request"), "{auth}");
    let signed = auth.split("SignedHeaders=").nth(1).unwrap();
    assert!(
        signed
            .contains("content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-security-token"),
        "{auth}"
    );
    assert!(!signed.contains("user-agent"), "{auth}");
    assert!(h["authorization"].is_sensitive() && h["x-amz-security-token"].is_sensitive());
    let dbg = format!("{s:?} {e:?} {h:?}");
    for secret in ["SECRETKEYVALUE", "SESSIONTOKENVALUE"] {
        assert!(!dbg.contains(secret), "{dbg}");
    }
}
