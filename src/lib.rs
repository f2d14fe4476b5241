//! copilot-metrics-exporter: GitHub Copilot usage-metrics reports as
//! Prometheus metrics.
//!
//! Data flows one way, and the module tree shows it:
//!
//! [`config`] → [`scheduler`] → [`collect`] (the [`github`] client, its
//! downloads and report reading) → [`report`] (the naming rule and
//! aggregation) → [`model`] (samples, snapshot) → [`sinks`] (`/metrics`,
//! Pushgateway, remote-write). [`app`] wires them together.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod app;
pub mod collect;
pub mod config;
pub mod github;
pub mod httputil;
pub mod model;
pub mod preflight;
pub mod report;
pub mod retry;
pub mod scheduler;
pub mod secret;
pub mod selfmetrics;
pub mod settings;
pub mod sinks;

/// Synthetic report rows for unit tests (shared with the benches).
#[cfg(test)]
#[path = "../benches/support/synth.rs"]
#[allow(dead_code, missing_docs)]
pub(crate) mod synth;
