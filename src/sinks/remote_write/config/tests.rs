//! Remote-write settings: validation, the setting named in every error, no secret in `Debug`.

use super::*;
use clap::Parser;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    rw: RemoteWriteArgs,
}

fn args(url: &str) -> RemoteWriteArgs {
    RemoteWriteArgs {
        remote_write_url: Some(Secret::new(url)),
        ..RemoteWriteArgs::default()
    }
}

#[test]
fn unset_url_disables_the_sink() {
    assert!(RemoteWriteConfig::from_args(&RemoteWriteArgs::default())
        .unwrap()
        .is_none());
}

#[test]
fn clap_parses_flags_and_defaults() {
    let cli = Cli::try_parse_from([
        "x",
        "--remote-write-url",
        "http://r:9090/api/v1/write",
        "--remote-write-timestamps",
        "report-day",
    ])
    .unwrap();
    assert_eq!(cli.rw.remote_write_timestamps, TimestampMode::ReportDay);
    assert_eq!(cli.rw.backfill_days, 28);
    assert_eq!(cli.rw.remote_write_settle_days, 3);
    let cfg = RemoteWriteConfig::from_args(&cli.rw).unwrap().unwrap();
    assert_eq!(cfg.mode, TimestampMode::ReportDay);
    assert_eq!(cfg.max_samples_per_request, DEFAULT_MAX_SAMPLES_PER_REQUEST);
}

#[test]
fn help_hides_env_values() {
    use clap::CommandFactory;
    let help = Cli::command().render_long_help().to_string();
    assert!(help.contains("REMOTE_WRITE_BEARER_TOKEN"));
    assert!(help.contains("REMOTE_WRITE_HEADERS"));
    // Declared with hide_env_values: a set env var is never echoed.
    let cmd = Cli::command();
    for arg in cmd.get_arguments() {
        if arg.get_env().is_some() && arg.get_id().as_str().contains("remote_write_") {
            let id = arg.get_id().as_str();
            let secret_like = [
                "remote_write_url",
                "remote_write_bearer_token",
                "remote_write_password",
                "remote_write_headers",
                "remote_write_username",
                "remote_write_client_",
            ];
            if secret_like.iter().any(|s| id.starts_with(s)) {
                assert!(arg.is_hide_env_values_set(), "{id} shows its env value");
            }
        }
    }
}

#[test]
fn debug_never_shows_secrets() {
    let mut a = args("https://r.example/api/v1/push?api_key=QUERYSECRET");
    a.remote_write_username = Some(Secret::new("user"));
    a.remote_write_password = Some(Secret::new("PASSWORDSECRET"));
    a.remote_write_headers = Some(Secret::new("X-Scope-OrgID=HEADERSECRET"));
    let dbg = format!("{a:?}");
    assert!(!dbg.contains("PASSWORDSECRET") && !dbg.contains("HEADERSECRET"));
    assert!(!dbg.contains("QUERYSECRET"));
    let cfg = RemoteWriteConfig::from_args(&a).unwrap().unwrap();
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains("PASSWORDSECRET"), "{dbg}");
    assert!(!dbg.contains("HEADERSECRET"), "{dbg}");
    assert_eq!(cfg.display_url(), "https://r.example/api/v1/push?…");
}

#[test]
fn headers_parse_and_reserved_ones_are_rejected() {
    let mut a = args("http://r/api/v1/push");
    a.remote_write_headers = Some(Secret::new("X-Scope-OrgID=team-a, X-Other = a=b "));
    let cfg = RemoteWriteConfig::from_args(&a).unwrap().unwrap();
    assert_eq!(cfg.headers.len(), 2);
    assert_eq!(cfg.headers[0].0.as_str(), "x-scope-orgid");
    assert_eq!(cfg.headers[1].1.to_str().unwrap(), "a=b");

    // RW1-05: reserved headers cannot be overridden.
    for bad in [
        "Content-Encoding=gzip",
        "content-type=text/plain",
        "X-Prometheus-Remote-Write-Version=2.0.0",
        "User-Agent=evil",
    ] {
        a.remote_write_headers = Some(Secret::new(bad));
        let e = RemoteWriteConfig::from_args(&a).unwrap_err();
        assert_eq!(e.setting, "REMOTE_WRITE_HEADERS");
        assert!(e.message.contains("cannot be overridden"), "{e}");
    }
    // Authorization only when no auth is configured.
    a.remote_write_headers = Some(Secret::new("Authorization=Bearer SECRETX"));
    assert!(RemoteWriteConfig::from_args(&a).is_ok());
    a.remote_write_bearer_token = Some(Secret::new("t"));
    let e = RemoteWriteConfig::from_args(&a).unwrap_err();
    assert!(!e.to_string().contains("SECRETX"));
    assert!(e.to_string().contains("Authorization"));
    // Malformed entries name the variable, never the value.
    a.remote_write_bearer_token = None;
    a.remote_write_headers = Some(Secret::new("NoEqualsSign"));
    let e = RemoteWriteConfig::from_args(&a).unwrap_err();
    assert!(e.to_string().starts_with("REMOTE_WRITE_HEADERS:"));
    a.remote_write_headers = Some(Secret::new("X-A=ok\nbad"));
    let e = RemoteWriteConfig::from_args(&a).unwrap_err();
    assert!(!e.to_string().contains("bad"), "{e}");
}

#[test]
fn auth_combinations() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "FILETOKEN\n").unwrap();

    let mut a = args("http://r/w");
    a.remote_write_bearer_token_file = Some(token_file.clone());
    let cfg = RemoteWriteConfig::from_args(&a).unwrap().unwrap();
    match cfg.auth {
        Some(Auth::Bearer(src)) => assert_eq!(src.resolve().unwrap().expose(), "FILETOKEN"),
        other => panic!("unexpected {other:?}"),
    }
    a.remote_write_bearer_token = Some(Secret::new("x"));
    assert_eq!(
        RemoteWriteConfig::from_args(&a).unwrap_err().setting,
        "REMOTE_WRITE_BEARER_TOKEN_FILE"
    );
    a.remote_write_bearer_token_file = None;
    a.remote_write_username = Some(Secret::new("u"));
    assert_eq!(
        RemoteWriteConfig::from_args(&a).unwrap_err().setting,
        "REMOTE_WRITE_BEARER_TOKEN"
    );
    a.remote_write_bearer_token = None;
    a.remote_write_username = None;
    a.remote_write_password = Some(Secret::new("p"));
    assert_eq!(
        RemoteWriteConfig::from_args(&a).unwrap_err().setting,
        "REMOTE_WRITE_USERNAME"
    );
    a.remote_write_password = None;
    a.remote_write_password_file = Some(dir.path().join("missing"));
    a.remote_write_username = Some(Secret::new("u"));
    assert_eq!(
        RemoteWriteConfig::from_args(&a).unwrap_err().setting,
        "REMOTE_WRITE_PASSWORD_FILE"
    );
}

#[test]
fn sigv4_excludes_other_auth_and_owns_its_headers() {
    let env = AwsEnv::from_vars(
        [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRETKEYX"),
            ("AWS_SESSION_TOKEN", "TOKENX"),
        ],
        None,
    );
    let mut a =
        args("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws/api/v1/remote_write");
    a.remote_write_sigv4_region = Some("eu-west-1".into());
    let cfg = RemoteWriteConfig::from_args_with_aws_env(&a, &env)
        .unwrap()
        .unwrap();
    assert!(matches!(&cfg.auth, Some(Auth::SigV4(s)) if s.service() == "aps"));
    let dbg = format!("{cfg:?}");
    assert!(
        dbg.contains("eu-west-1") && !dbg.contains("SECRETKEYX") && !dbg.contains("TOKENX"),
        "{dbg}"
    );

    for header in ["X-Amz-Date=x", "x-amz-security-token=x", "Authorization=x"] {
        a.remote_write_headers = Some(Secret::new(header));
        let e = RemoteWriteConfig::from_args_with_aws_env(&a, &env).unwrap_err();
        assert_eq!(e.setting, "REMOTE_WRITE_HEADERS", "{header}");
    }
    a.remote_write_headers = Some(Secret::new("X-Amz-Date=x"));
    a.remote_write_sigv4_region = None;
    assert!(RemoteWriteConfig::from_args_with_aws_env(&a, &env).is_ok());
    a.remote_write_headers = None;
    a.remote_write_sigv4_region = Some("eu-west-1".into());
    a.remote_write_username = Some(Secret::new("u"));
    let e = RemoteWriteConfig::from_args_with_aws_env(&a, &env).unwrap_err();
    assert_eq!(e.setting, "REMOTE_WRITE_SIGV4_REGION");
}

#[test]
fn url_and_ranges_are_validated() {
    for bad in ["not a url", "ftp://x/y", "http://user:pw@host/w"] {
        let e = RemoteWriteConfig::from_args(&args(bad)).unwrap_err();
        assert_eq!(e.setting, "REMOTE_WRITE_URL");
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
    let mut a = args("http://r/w");
    a.backfill_days = 0;
    assert_eq!(
        RemoteWriteConfig::from_args(&a).unwrap_err().setting,
        "BACKFILL_DAYS"
    );
    a.backfill_days = 366;
    assert!(RemoteWriteConfig::from_args(&a).is_err());
    a.backfill_days = 365;
    a.remote_write_max_samples_per_request = 0;
    assert_eq!(
        RemoteWriteConfig::from_args(&a).unwrap_err().setting,
        "REMOTE_WRITE_MAX_SAMPLES_PER_REQUEST"
    );
    a.remote_write_max_samples_per_request = 10;
    a.remote_write_ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
    assert_eq!(
        RemoteWriteConfig::from_args(&a).unwrap_err().setting,
        "REMOTE_WRITE_CA_FILE"
    );
}
