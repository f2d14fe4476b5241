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

/// The configuration these flags give; panics (failing the test) on an error.
fn accepted(args: &[&str]) -> Config {
    Config::from_cli(&cli(args), false).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The error these flags give; panics (failing the test) when they are accepted.
fn rejected(args: &[&str]) -> ConfigError {
    match Config::from_cli(&cli(args), false) {
        Ok(_) => panic!("{args:?} was accepted"),
        Err(e) => e,
    }
}

/// Asserts that these flags are refused with an error naming `setting`.
fn assert_rejected_naming(args: &[&str], setting: &str) {
    let e = rejected(args).to_string();
    assert!(e.contains(setting), "{args:?}: {e}");
}

#[test]
fn scope_names_have_githubs_shape() {
    for bad in [
        "bad org!",
        "-bad",
        "a/b",
        "tab\there",
        "ünicode",
        &"x".repeat(101),
    ] {
        let (org, enterprise) = (format!("--org={bad}"), format!("--enterprise={bad}"));
        assert_rejected_naming(&["--github-token", "t", &org], "ORG");
        assert_rejected_naming(&["--github-token", "t", &enterprise], "ENTERPRISE");
    }
    for good in ["octo-org", "Octo2", "ghes_org", "a-", "x--y"] {
        accepted(&["--github-token", "t", "--org", good, "--enterprise", good]);
    }
}

#[test]
fn scopes_from_comma_lists() {
    let c = accepted(&[
        "--github-token",
        "t",
        "--org",
        "a, b,,a",
        "--enterprise",
        "e",
    ]);
    assert_eq!(
        c.scopes,
        vec![Scope::org("a"), Scope::org("b"), Scope::enterprise("e")]
    );
}

#[test]
fn missing_scope_and_token_name_the_variables() {
    assert_rejected_naming(&["--github-token", "t"], "ORG");
    assert_rejected_naming(&["--org", "a"], "GHC_TOKEN");
    let c = accepted(&["--demo"]);
    assert_eq!(c.scopes.len(), 2);
}

#[test]
fn bad_values_are_rejected() {
    assert!(Cli::try_parse_from(["x", "--cache-ttl-seconds", "0"]).is_err());
    assert_eq!(
        cli(&["--cache-ttl-seconds", " 3600"]).cache_ttl_seconds,
        3600
    );
    let e = rejected(&["--demo", "--listen-addr", "nope"]);
    assert!(e.to_string().contains("LISTEN_ADDR"));
    let e = rejected(&["--demo", "--github-api-url", "ftp://x"]);
    assert!(e.to_string().contains("GITHUB_API_URL"));
    let c = accepted(&["--demo", "--listen-addr", ":9000"]);
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
    let c = accepted(&[
        "--org",
        "a",
        "--github-app-id",
        "123",
        "--github-app-private-key-file",
        key,
    ]);
    let Some(Credentials::App(app)) = &c.github.credentials else {
        panic!("not App credentials: {:?}", c.github.credentials);
    };
    assert_eq!(app.app_id, "123");
    assert!(app.installation_id.is_none());
    assert!(
        !format!("{c:?}").contains("PRIVATE KEY"),
        "key leaked through Debug"
    );
    let e = rejected(&[
        "--org",
        "a",
        "--github-token",
        "t",
        "--github-app-id",
        "1",
        "--github-app-private-key-file",
        key,
    ]);
    assert!(
        e.to_string().contains("GITHUB_APP_ID") && e.to_string().contains("GHC_TOKEN"),
        "{e}"
    );
    assert_rejected_naming(
        &["--org", "a", "--github-app-id", "1"],
        "GITHUB_APP_PRIVATE_KEY_FILE",
    );
    let app_with_key = |key: &'static str| {
        vec![
            "--org",
            "a",
            "--github-app-id",
            "1",
            "--github-app-private-key-file",
            key,
        ]
    };
    let mut bad_installation = app_with_key(key);
    bad_installation.extend(["--github-app-installation-id", "x"]);
    assert_rejected_naming(&bad_installation, "GITHUB_APP_INSTALLATION_ID");
    let not_a_key = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    assert_rejected_naming(&app_with_key(not_a_key), "GITHUB_APP_PRIVATE_KEY_FILE");
}

#[test]
fn feature_flags() {
    let c = accepted(&["--demo"]);
    assert!(c.features.seats && !c.features.teams && !c.features.repo_metrics);
    assert_eq!(c.features.user_metrics, UserMetricsMode::Off);
    let c = accepted(&[
        "--demo",
        "--teams",
        "--seats",
        "false",
        "--repo-metrics",
        "true",
        "--user-metrics",
        "LOGIN",
    ]);
    assert!(c.features.teams && !c.features.seats && c.features.repo_metrics);
    assert_eq!(c.features.user_metrics, UserMetricsMode::Login);
    assert_rejected_naming(&["--demo", "--user-metrics", "hashed"], "USER_METRICS_SALT");
    let c = accepted(&[
        "--demo",
        "--user-metrics",
        "hashed",
        "--user-metrics-salt",
        "pepper",
    ]);
    assert!(!format!("{c:?}").contains("pepper"));
    assert_rejected_naming(
        &["--demo", "--github-ca-file", "/nonexistent/ca.pem"],
        "GITHUB_CA_FILE",
    );
}

#[test]
fn schedule_and_pushgateway() {
    let c = accepted(&["--demo", "--cache-ttl-seconds", "60"]);
    assert_eq!(c.schedule, Schedule::Every(Duration::from_secs(60)));
    assert_eq!(c.shutdown_grace, Duration::from_secs(30));
    assert!(c.pushgateway.is_none());
    let c = accepted(&["--demo", "--schedule", "15 6 * * *"]);
    assert!(matches!(&c.schedule, Schedule::Cron(s) if s.normalized == "0 15 6 * * *"));
    assert_rejected_naming(&["--demo", "--schedule", "not cron"], "SCHEDULE");
    let c = accepted(&[
        "--demo",
        "--pushgateway-url",
        "http://pgw:9091",
        "--pushgateway-username",
        "u",
        "--pushgateway-password",
        "pw-topsecret",
    ]);
    assert_eq!(
        c.pushgateway.as_ref().unwrap().url.as_str(),
        "http://pgw:9091/"
    );
    assert!(!format!("{c:?}").contains("topsecret"));
}

#[test]
fn debug_output_hides_the_token() {
    let c = accepted(&["--github-token", "ghp_topsecret", "--org", "a"]);
    assert!(!format!("{c:?}").contains("topsecret"));
}
