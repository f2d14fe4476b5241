//! GitHub: the REST client, the usage-metrics report endpoints and the
//! streaming NDJSON reader for their signed download links.

pub mod auth;
pub mod client;
pub mod error;
pub mod framing;
pub mod ndjson;
pub mod reports;
pub mod settings;

pub use auth::{AppAuth, AppCredentials, Auth};
pub use client::GithubClient;
pub use error::{FailureKind, GithubError};
pub use settings::{GithubSettings, RetryPolicy};
