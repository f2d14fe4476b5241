//! copilot-metrics-exporter: GitHub Copilot usage-metrics reports as
//! Prometheus metrics.
//!
//! Data flows one way: [`config`] → scheduler → collection ([`github`],
//! [`collect`]) → the metric model ([`model`], built by the pure functions in
//! [`mapping`]) → sinks ([`sinks`]).

pub mod app;
pub mod collect;
pub mod config;
pub mod demo;
pub mod exposition;
pub mod github;
pub mod httputil;
pub mod mapping;
pub mod model;
pub mod repos;
mod rowwalk;
pub mod scheduler;
pub mod scope;
pub mod seats;
pub mod secret;
pub mod selfmetrics;
pub mod sinks;
pub mod snapshot;
pub mod synth;
pub mod teams;
pub mod users;
