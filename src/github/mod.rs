//! GitHub: the REST client, the usage-metrics report endpoints and the
//! streaming NDJSON reader for their signed download links.

pub mod client;
pub mod error;
pub mod ndjson;
pub mod reports;

pub use client::GithubClient;
pub use error::{FailureKind, GithubError};
