//! How the exporter authenticates to the GitHub API: a personal access
//! token, or a GitHub App (RS256 JWT → installation access token).
//!
//! One method per process. App installation tokens are cached per
//! installation and minted again about five minutes before `expires_at`;
//! a 401 on an API call drops the cached token so the caller can retry once
//! with a fresh one. Neither the private key nor any token is ever logged:
//! they live in [`Secret`]s and in headers marked sensitive.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// How long before `expires_at` a cached installation token is replaced.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// GitHub App settings, as configured (`GITHUB_APP_*`).
#[derive(Clone, Debug)]
pub struct AppCredentials {
    /// App ID or client ID (the JWT's `iss`).
    pub app_id: String,
    /// The App's PEM private key.
    pub private_key: Secret,
    /// A fixed installation; `None`: discovered per scope.
    pub installation_id: Option<u64>,
}

/// The configured credentials: one method per process, as `config`
/// assembles them (`GHC_TOKEN` / `GHC_TOKEN_FILE`, or `GITHUB_APP_*`).
/// [`crate::github::GithubClient::new`] takes them and builds its [`Auth`]
/// from them; nothing else keeps a copy.
#[derive(Clone)]
pub enum Credentials {
    /// A classic or fine-grained personal access token.
    Token(Secret),
    /// A GitHub App.
    App(AppCredentials),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Credentials::Token([redacted])"),
            Credentials::App(app) => write!(f, "Credentials::App(app_id={})", app.app_id),
        }
    }
}

impl From<Secret> for Credentials {
    fn from(token: Secret) -> Self {
        Credentials::Token(token)
    }
}

/// The authentication the client built from its [`Credentials`].
pub enum Auth {
    /// A classic or fine-grained personal access token.
    Token(Secret),
    /// A GitHub App installation.
    App(Box<AppAuth>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Auth::Token([redacted])"),
            Auth::App(app) => write!(f, "Auth::App(app_id={})", app.app_id),
        }
    }
}

impl Auth {
    /// Builds the authentication of `credentials`, taking them: a token as
    /// it is, a GitHub App's key parsed (the error names
    /// `GITHUB_APP_PRIVATE_KEY_FILE`, never the key).
    pub fn build(credentials: Credentials) -> Result<Auth, String> {
        Ok(match credentials {
            Credentials::Token(token) => Auth::Token(token),
            Credentials::App(app) => Auth::App(Box::new(AppAuth::new(&app)?)),
        })
    }
}

impl From<Secret> for Auth {
    fn from(token: Secret) -> Self {
        Auth::Token(token)
    }
}

/// The JWT claims GitHub expects from an App.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppClaims {
    /// Issued at: now − 60 s (clock drift allowance).
    pub iat: i64,
    /// Expiry: now + 9 min (GitHub allows at most 10).
    pub exp: i64,
    /// App ID or client ID.
    pub iss: String,
}

#[derive(Clone)]
struct CachedToken {
    token: Secret,
    expires_at: DateTime<Utc>,
}

/// A GitHub App: signs JWTs and caches installation tokens.
pub struct AppAuth {
    app_id: String,
    key: EncodingKey,
    fixed_installation: Option<u64>,
    refresh_margin: Duration,
    installations: std::sync::Mutex<HashMap<String, u64>>,
    tokens: std::sync::Mutex<HashMap<u64, CachedToken>>,
}

impl AppAuth {
    /// Parses the PEM key (PKCS#1 as GitHub issues it, or PKCS#8). The
    /// error never quotes the key.
    pub fn new(credentials: &AppCredentials) -> Result<AppAuth, String> {
        let key = EncodingKey::from_rsa_pem(credentials.private_key.expose().as_bytes()).map_err(
            |e| format!("GITHUB_APP_PRIVATE_KEY_FILE: not an RSA private key in PEM format ({e})"),
        )?;
        Ok(AppAuth {
            app_id: credentials.app_id.clone(),
            key,
            fixed_installation: credentials.installation_id,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            installations: Default::default(),
            tokens: Default::default(),
        })
    }

    /// Replaces the refresh margin (tests use a short one).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The App ID or client ID.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// A fresh RS256 JWT: `iat` = now − 60 s, `exp` = now + 9 min.
    pub fn jwt(&self) -> Result<Secret, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let claims = AppClaims {
            iat: now - 60,
            exp: now + 9 * 60,
            iss: self.app_id.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| format!("cannot sign the GitHub App JWT: {e}"))
    }

    /// The installation to use for an API path: the configured one, or
    /// the one discovered earlier for the path's scope.
    pub fn installation_for(&self, scope_prefix: Option<&str>) -> Option<u64> {
        if let Some(id) = self.fixed_installation {
            return Some(id);
        }
        let prefix = scope_prefix?;
        self.installations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(prefix)
            .copied()
    }

    /// True when installations come from `GITHUB_APP_INSTALLATION_ID`.
    pub fn has_fixed_installation(&self) -> bool {
        self.fixed_installation.is_some()
    }

    /// Remembers a discovered installation of a scope.
    pub fn remember_installation(&self, scope_prefix: &str, id: u64) {
        self.installations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(scope_prefix.to_string(), id);
    }

    /// A cached token for `installation` that is not about to expire.
    pub fn cached_token(&self, installation: u64) -> Option<Secret> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let cached = tokens.get(&installation)?;
        let margin = chrono::Duration::from_std(self.refresh_margin).unwrap_or_default();
        (Utc::now() + margin < cached.expires_at).then(|| cached.token.clone())
    }

    /// Stores a freshly minted token.
    pub fn store_token(&self, installation: u64, token: Secret, expires_at: DateTime<Utc>) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(installation, CachedToken { token, expires_at });
    }

    /// Drops the cached token of an installation (after a 401).
    pub fn invalidate(&self, installation: u64) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&installation);
    }
}

/// The answer of `POST /app/installations/{id}/access_tokens`.
#[derive(Deserialize)]
pub struct InstallationToken {
    /// The token (`ghs_…`).
    pub token: Secret,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// The answer of `GET /orgs/{org}/installation` (only the id is used).
#[derive(Debug, Deserialize)]
pub struct Installation {
    /// Installation id.
    pub id: u64,
}

/// The scope part of an API path (`/orgs/{org}` or `/enterprises/{slug}`),
/// relative to the API base path; `None` for other paths (`/app/...`).
pub fn scope_prefix(base_path: &str, path: &str) -> Option<String> {
    let base = base_path.trim_end_matches('/');
    let rest = path.strip_prefix(base).unwrap_or(path);
    let mut parts = rest.trim_start_matches('/').splitn(3, '/');
    let kind = parts.next()?;
    let name = parts.next().filter(|n| !n.is_empty())?;
    matches!(kind, "orgs" | "enterprises").then(|| format!("/{kind}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../tests/fixtures/app/test-app-private-key.pem");
    const PUBLIC: &str = include_str!("../../tests/fixtures/app/test-app-public-key.pem");

    fn app() -> AppAuth {
        AppAuth::new(&AppCredentials {
            app_id: "Iv1.abc".into(),
            private_key: Secret::new(KEY),
            installation_id: None,
        })
        .unwrap()
    }

    #[test]
    fn jwt_has_the_documented_claims() {
        let jwt = app().jwt().unwrap();
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_issuer(&["Iv1.abc"]);
        validation.set_required_spec_claims(&["exp", "iat", "iss"]);
        let data = jsonwebtoken::decode::<AppClaims>(jwt.expose(), &key, &validation).unwrap();
        let now = Utc::now().timestamp();
        assert!((now - 62..=now - 58).contains(&data.claims.iat));
        assert!((now + 538..=now + 542).contains(&data.claims.exp));
    }

    #[test]
    fn bad_keys_are_rejected_without_quoting_them() {
        let err = AppAuth::new(&AppCredentials {
            app_id: "1".into(),
            private_key: Secret::new(
                "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-at-all\n-----END RSA PRIVATE KEY-----",
            ),
            installation_id: None,
        })
        .err()
        .unwrap();
        assert!(err.contains("GITHUB_APP_PRIVATE_KEY_FILE"));
        assert!(!err.contains("not-a-key-at-all"));
    }

    #[test]
    fn tokens_are_refreshed_before_expiry() {
        let app = app().with_refresh_margin(Duration::from_secs(300));
        app.store_token(
            7,
            Secret::new("a"),
            Utc::now() + chrono::Duration::seconds(200),
        );
        assert!(app.cached_token(7).is_none(), "inside the margin");
        app.store_token(
            7,
            Secret::new("b"),
            Utc::now() + chrono::Duration::seconds(3600),
        );
        assert_eq!(app.cached_token(7).unwrap().expose(), "b");
        app.invalidate(7);
        assert!(app.cached_token(7).is_none());
    }

    fn settings(credentials: Option<Credentials>) -> crate::github::GithubSettings {
        crate::github::GithubSettings {
            api_url: url::Url::parse("http://127.0.0.1:9/").unwrap(),
            credentials,
            ca_file: None,
            timeout: Duration::from_secs(1),
            max_line_bytes: 1 << 20,
            max_report_bytes: 1 << 20,
            retry: crate::github::RetryPolicy {
                max_retries: 0,
                min: Duration::from_millis(1),
                max: Duration::from_millis(1),
            },
        }
    }

    #[test]
    fn the_client_keeps_the_auth_it_built_and_not_the_credentials() {
        let metrics = std::sync::Arc::new(crate::selfmetrics::SelfMetrics::new());
        let token = Credentials::Token(Secret::new("ghp_kept_once"));
        assert!(!format!("{token:?}").contains("ghp_kept_once"));
        let client =
            crate::github::GithubClient::new(settings(Some(token)), metrics.clone()).unwrap();
        assert!(client.settings.credentials.is_none());
        assert!(matches!(&client.auth, Auth::Token(t) if t.expose() == "ghp_kept_once"));
        assert!(!format!("{client:?}").contains("ghp_kept_once"));

        let app = Credentials::App(AppCredentials {
            app_id: "Iv1.abc".into(),
            private_key: Secret::new(KEY),
            installation_id: Some(7),
        });
        assert!(!format!("{app:?}").contains("PRIVATE KEY"));
        let client =
            crate::github::GithubClient::new(settings(Some(app)), metrics.clone()).unwrap();
        assert!(client.settings.credentials.is_none());
        assert!(matches!(&client.auth, Auth::App(a) if a.installation_for(None) == Some(7)));

        let none = crate::github::GithubClient::new(settings(None), metrics)
            .err()
            .unwrap();
        assert!(none.contains("GHC_TOKEN"), "{none}");
    }

    #[test]
    fn scope_prefixes() {
        assert_eq!(
            scope_prefix("/", "/orgs/octo/copilot/billing").as_deref(),
            Some("/orgs/octo")
        );
        assert_eq!(
            scope_prefix("/api", "/api/enterprises/e/x").as_deref(),
            Some("/enterprises/e")
        );
        assert_eq!(
            scope_prefix("/", "/app/installations/1/access_tokens"),
            None
        );
        assert_eq!(scope_prefix("/", "/orgs/"), None);
        assert_eq!(app().installation_for(Some("/orgs/octo")), None);
    }
}
