//! Tests of the configuration assembly.

use clap::Parser;

use super::*;
use crate::github::Credentials;

/// The CLI flattens the scheduler's and the sinks' arguments; clap's own
/// checks find any clashing flag or variable.
#[test]
fn flattened_arguments_have_no_clashing_flags() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

fn cli(args: &[&str]) -> Cli {
    let mut full = vec!["copilot-metrics-exporter"];
    full.extend_from_slice(args);
    Cli::try_parse_from(full).unwrap()
}

#[test]
fn scopes_from_comma_lists() {
    let c = Config::from_cli(
        &cli(&[
            "--github-token",
            "t",
            "--org",
            "a, b,,a",
            "--enterprise",
            "e",
        ]),
        false,
    )
    .unwrap();
    assert_eq!(
        c.scopes,
        vec![Scope::org("a"), Scope::org("b"), Scope::enterprise("e")]
    );
}

#[test]
fn missing_scope_and_token_name_the_variables() {
    let e = Config::from_cli(&cli(&["--github-token", "t"]), false).unwrap_err();
    assert!(e.to_string().contains("ORG"), "{e}");
    let e = Config::from_cli(&cli(&["--org", "a"]), false).unwrap_err();
    assert!(e.to_string().contains("GHC_TOKEN"), "{e}");
    let c = Config::from_cli(&cli(&["--demo"]), false).unwrap();
    assert_eq!(c.scopes.len(), 2);
}

#[test]
fn bad_values_are_rejected() {
    assert!(Cli::try_parse_from(["x", "--cache-ttl-seconds", "0"]).is_err());
    assert_eq!(
        cli(&["--cache-ttl-seconds", " 3600"]).cache_ttl_seconds,
        3600
    );
    let e = Config::from_cli(&cli(&["--demo", "--listen-addr", "nope"]), false).unwrap_err();
    assert!(e.to_string().contains("LISTEN_ADDR"));
    let e = Config::from_cli(&cli(&["--demo", "--github-api-url", "ftp://x"]), false).unwrap_err();
    assert!(e.to_string().contains("GITHUB_API_URL"));
    let c = Config::from_cli(&cli(&["--demo", "--listen-addr", ":9000"]), false).unwrap();
    assert_eq!(c.listen.unwrap().port(), 9000);
    let c = Config::from_cli(&cli(&["--demo"]), true).unwrap();
    assert!(c.listen.is_none());
}

#[test]
fn app_and_token_are_exclusive_and_validated() {
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/app/test-app-private-key.pem"
    );
    let c = Config::from_cli(
        &cli(&[
            "--org",
            "a",
            "--github-app-id",
            "123",
            "--github-app-private-key-file",
            key,
        ]),
        false,
    )
    .unwrap();
    let Some(Credentials::App(app)) = &c.github.credentials else {
        panic!("not App credentials: {:?}", c.github.credentials);
    };
    assert_eq!(app.app_id, "123");
    assert!(app.installation_id.is_none());
    assert!(
        !format!("{c:?}").contains("PRIVATE KEY"),
        "key leaked through Debug"
    );
    let e = Config::from_cli(
        &cli(&[
            "--org",
            "a",
            "--github-token",
            "t",
            "--github-app-id",
            "1",
            "--github-app-private-key-file",
            key,
        ]),
        false,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("GITHUB_APP_ID") && e.to_string().contains("GHC_TOKEN"),
        "{e}"
    );
    let e = Config::from_cli(&cli(&["--org", "a", "--github-app-id", "1"]), false).unwrap_err();
    assert!(e.to_string().contains("GITHUB_APP_PRIVATE_KEY_FILE"), "{e}");
    let e = Config::from_cli(
        &cli(&[
            "--org",
            "a",
            "--github-app-id",
            "1",
            "--github-app-private-key-file",
            key,
            "--github-app-installation-id",
            "x",
        ]),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("GITHUB_APP_INSTALLATION_ID"), "{e}");
    let not_a_key = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let e = Config::from_cli(
        &cli(&[
            "--org",
            "a",
            "--github-app-id",
            "1",
            "--github-app-private-key-file",
            not_a_key,
        ]),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("GITHUB_APP_PRIVATE_KEY_FILE"), "{e}");
}

#[test]
fn feature_flags() {
    let c = Config::from_cli(&cli(&["--demo"]), false).unwrap();
    assert!(c.features.seats && !c.features.teams && !c.features.repo_metrics);
    assert_eq!(c.features.user_metrics, UserMetricsMode::Off);
    let c = Config::from_cli(
        &cli(&[
            "--demo",
            "--teams",
            "--seats",
            "false",
            "--repo-metrics",
            "true",
            "--user-metrics",
            "LOGIN",
        ]),
        false,
    )
    .unwrap();
    assert!(c.features.teams && !c.features.seats && c.features.repo_metrics);
    assert_eq!(c.features.user_metrics, UserMetricsMode::Login);
    let e = Config::from_cli(&cli(&["--demo", "--user-metrics", "hashed"]), false).unwrap_err();
    assert!(e.to_string().contains("USER_METRICS_SALT"), "{e}");
    let c = Config::from_cli(
        &cli(&[
            "--demo",
            "--user-metrics",
            "hashed",
            "--user-metrics-salt",
            "pepper",
        ]),
        false,
    )
    .unwrap();
    assert!(!format!("{c:?}").contains("pepper"));
    let e = Config::from_cli(
        &cli(&["--demo", "--github-ca-file", "/nonexistent/ca.pem"]),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("GITHUB_CA_FILE"), "{e}");
}

#[test]
fn schedule_and_pushgateway() {
    let c = Config::from_cli(&cli(&["--demo", "--cache-ttl-seconds", "60"]), false).unwrap();
    assert_eq!(c.schedule, Schedule::Every(Duration::from_secs(60)));
    assert_eq!(c.shutdown_grace, Duration::from_secs(30));
    assert!(c.pushgateway.is_none());
    let c = Config::from_cli(&cli(&["--demo", "--schedule", "15 6 * * *"]), false).unwrap();
    assert!(matches!(&c.schedule, Schedule::Cron(s) if s.normalized == "0 15 6 * * *"));
    let e = Config::from_cli(&cli(&["--demo", "--schedule", "not cron"]), false).unwrap_err();
    assert!(e.to_string().contains("SCHEDULE"), "{e}");
    let c = Config::from_cli(
        &cli(&[
            "--demo",
            "--pushgateway-url",
            "http://pgw:9091",
            "--pushgateway-username",
            "u",
            "--pushgateway-password",
            "pw-topsecret",
        ]),
        false,
    )
    .unwrap();
    assert_eq!(
        c.pushgateway.as_ref().unwrap().url.as_str(),
        "http://pgw:9091/"
    );
    assert!(!format!("{c:?}").contains("topsecret"));
}

#[test]
fn debug_output_hides_the_token() {
    let c = Config::from_cli(
        &cli(&["--github-token", "ghp_topsecret", "--org", "a"]),
        false,
    )
    .unwrap();
    assert!(!format!("{c:?}").contains("topsecret"));
}
