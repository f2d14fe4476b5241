//! copilot-metrics-exporter: GitHub Copilot usage-metrics reports as
//! Prometheus metrics.
//!
//! Data flows one way: [`config`] → scheduler → collection ([`github`],
//! [`collect`]) → the metric model ([`model`], built by the pure functions in
//! [`mapping`]) → sinks ([`sinks`]).

pub mod model;
pub mod scope;
pub mod mapping;
pub mod secret;
pub mod config;
pub mod selfmetrics;
pub mod github;
pub mod collect;
pub mod demo;
pub mod exposition;
pub mod snapshot;
pub mod scheduler;
pub mod sinks;
pub mod app;
