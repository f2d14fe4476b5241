//! Sinks: where snapshots go. A sink never calls GitHub; it reads the
//! snapshot store or the data of a refresh round.

pub mod exposition;

pub mod http;
pub mod pushgateway;
pub mod remote_write;
