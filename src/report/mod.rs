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

/// Test rows in three orders: as given, then rotated twice (names first
/// seen in different rows), for the fast-vs-exact walker tests.
#[cfg(test)]
pub(crate) fn in_three_orders(lines: &[String]) -> Vec<String> {
    let mut all = lines.to_vec();
    for shift in [3, 7] {
        let mut l = lines.to_vec();
        l.rotate_left(shift % lines.len());
        all.extend(l);
    }
    all
}
