//! Report rows → samples: the naming rule ([`naming`]) and which fields are
//! quantities ([`quantity`]), its fast row walker (`rowwalk`), and the
//! aggregations built on them (teams, per-user, repositories, seats). Pure
//! functions and data structures: no I/O.

pub mod breakdowns;
pub mod naming;
pub mod quantity;
pub mod repos;
pub(crate) mod rowwalk;
pub mod seats;
pub mod select;
pub mod teams;
pub mod users;
