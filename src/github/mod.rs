//! GitHub: the REST client, the usage-metrics report endpoints, the
//! signed-link downloads and the streaming reader of report files in any
//! JSON framing.

pub mod auth;
pub mod client;
pub mod download;
pub mod error;
pub mod framing;
pub mod installation;
pub mod ndjson;
pub mod reading;
pub mod reports;
pub mod settings;

pub use auth::{AppAuth, AppCredentials, Auth, Credentials};
pub use client::GithubClient;
pub use error::{FailureKind, GithubError};
pub use settings::{GithubSettings, RetryPolicy};
