//! GitHub App requests of the API client: the installation of a scope
//! (looked up once, or `GITHUB_APP_INSTALLATION_ID`), its installation
//! token (minted with the App's JWT, cached by [`super::auth::AppAuth`]),
//! and the JWT-authenticated requests behind both.

use bytes::Bytes;
use url::Url;

use super::auth::{scope_prefix, AppAuth, Auth, Installation, InstallationToken};
use super::client::{GithubClient, MAX_API_BODY_BYTES};
use super::error::{error_message, FailureKind, GithubError};
use super::http::{body_error, describe, header_u64, read_capped};
use crate::retry;
use crate::secret::Secret;

impl GithubClient {
    /// The bearer credential for an API URL and, for an App, the
    /// installation it belongs to.
    pub(super) async fn credential(&self, url: &Url) -> Result<(Secret, Option<u64>), GithubError> {
        let app = match &self.auth {
            Auth::Token(token) => return Ok((token.clone(), None)),
            Auth::App(app) => app,
        };
        let prefix = scope_prefix(self.base.path(), url.path());
        let installation = match app.installation_for(prefix.as_deref()) {
            Some(id) => id,
            None => {
                let Some(prefix) = prefix else {
                    return Err(self.fail(GithubError {
                        what: describe(url),
                        kind: FailureKind::ClientError,
                        status: None,
                        message: "no GitHub App installation for this path; set GITHUB_APP_INSTALLATION_ID".into(),
                        retry_after: None,
                    }));
                };
                let id = self.discover_installation(app, &prefix).await?;
                tracing::info!(scope = %prefix, installation = id, "found the GitHub App installation");
                app.remember_installation(&prefix, id);
                id
            }
        };
        if let Some(token) = app.cached_token(installation) {
            return Ok((token, Some(installation)));
        }
        let path = format!("/app/installations/{installation}/access_tokens");
        let body = self.app_request(app, reqwest::Method::POST, &path).await?;
        let minted: InstallationToken = serde_json::from_slice(&body).map_err(|e| {
            self.fail(GithubError {
                what: path.clone(),
                kind: FailureKind::InvalidResponse,
                status: None,
                message: format!(
                    "not the documented installation token JSON ({:?} error at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
                retry_after: None,
            })
        })?;
        tracing::info!(installation, expires_at = %minted.expires_at, "minted a GitHub App installation token");
        app.store_token(installation, minted.token.clone(), minted.expires_at);
        Ok((minted.token, Some(installation)))
    }

    async fn discover_installation(&self, app: &AppAuth, prefix: &str) -> Result<u64, GithubError> {
        let path = format!("{prefix}/installation");
        let body = self.app_request(app, reqwest::Method::GET, &path).await?;
        serde_json::from_slice::<Installation>(&body)
            .map(|i| i.id)
            .map_err(|e| {
                self.fail(GithubError {
                    what: path,
                    kind: FailureKind::InvalidResponse,
                    status: None,
                    message: format!("not the documented installation JSON: {e}"),
                    retry_after: None,
                })
            })
    }

    /// A JWT-authenticated App request (installation lookup, token minting).
    async fn app_request(
        &self,
        app: &AppAuth,
        method: reqwest::Method,
        path: &str,
    ) -> Result<Bytes, GithubError> {
        let what = path.to_string();
        let url = self.api_url(path).map_err(|e| self.fail(e))?;
        let jwt = app.jwt().map_err(|message| {
            self.fail(GithubError {
                what: what.clone(),
                kind: FailureKind::BadCredentials,
                status: None,
                message,
                retry_after: None,
            })
        })?;
        tracing::debug!(endpoint = %what, method = %method, "GitHub App request");
        let response = self
            .send(self.api.request(method, url), &jwt, &what)
            .await?;
        self.record_rate_limit(&response);
        let status = response.status();
        let remaining = header_u64(response.headers(), "x-ratelimit-remaining");
        let retry_after = retry::retry_after(response.headers());
        let body = read_capped(response, MAX_API_BODY_BYTES)
            .await
            .map_err(|e| self.fail(body_error(what.clone(), status, e)))?;
        if status.is_success() {
            return Ok(body);
        }
        let mut message = error_message(&body);
        match status.as_u16() {
            401 => message.push_str(" (GitHub refused the App JWT: check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY_FILE, and the clock)"),
            404 if what.ends_with("/installation") => message.push_str(&format!(
                " (the GitHub App {} is not installed there, or GITHUB_APP_ID is wrong)",
                app.app_id()
            )),
            404 => message.push_str(" (no such installation: check GITHUB_APP_INSTALLATION_ID)"),
            _ => {}
        }
        Err(self.refused(what, status, message, remaining, |_| retry_after))
    }
}
