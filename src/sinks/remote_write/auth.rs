//! The per-request authentication step: bearer, basic or AWS SigV4, applied
//! to a request just before it is sent (a SigV4 signature covers the final
//! headers and body, and is made anew for every attempt).

use reqwest::RequestBuilder;

use super::config::Secret;
use super::sigv4::SigV4;

/// Auth resolved for one publish (files read once); the values stay
/// [`Secret`]s until they go on the wire.
#[derive(Clone)]
pub(crate) enum ResolvedAuth {
    None,
    Bearer(Secret),
    Basic(Secret, Option<Secret>),
    SigV4(SigV4),
}

/// Why a request could not be made ready to send.
pub(crate) enum AuthError {
    /// The request itself is invalid (handled like a transport error).
    Build(reqwest::Error),
    /// Credentials could not be loaded or applied (never the secret).
    Credentials(String),
}

impl ResolvedAuth {
    /// The finished request: `builder` with its credentials applied.
    pub(crate) async fn authorize(
        &self,
        builder: RequestBuilder,
    ) -> Result<reqwest::Request, AuthError> {
        let builder = match self {
            ResolvedAuth::None | ResolvedAuth::SigV4(_) => builder,
            ResolvedAuth::Bearer(token) => builder.bearer_auth(token.expose()),
            ResolvedAuth::Basic(user, password) => {
                builder.basic_auth(user.expose(), password.as_ref().map(Secret::expose))
            }
        };
        let mut request = builder.build().map_err(AuthError::Build)?;
        if let ResolvedAuth::SigV4(signer) = self {
            signer
                .sign(&mut request)
                .await
                .map_err(AuthError::Credentials)?;
        }
        Ok(request)
    }
}
