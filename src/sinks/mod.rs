//! Sinks: where the metric model goes besides `/metrics`.

pub mod remote_write;
