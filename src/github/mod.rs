//! GitHub: the REST client with the credentials it takes (`client.rs`,
//! `auth.rs`, `installation.rs`, shared HTTP pieces in `http.rs`), its
//! settings and failure kinds, the usage-metrics report endpoints
//! (`reports.rs`), the signed-link downloads (`download.rs`) and the
//! all-or-nothing reading of report files in any JSON framing
//! (`reading.rs`, `framing/`, `ndjson.rs`).

pub mod auth;
pub mod client;
pub mod download;
pub mod error;
pub mod framing;
mod http;
pub mod installation;
pub mod ndjson;
pub mod reading;
pub mod reports;
pub mod settings;

pub use auth::{AppAuth, AppCredentials, Auth, Credentials};
pub use client::GithubClient;
pub use error::{FailureKind, GithubError};
pub use settings::{GithubSettings, RetryPolicy};
