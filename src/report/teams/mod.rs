//! Team metrics: the `user-teams-1-day` report joined with `users-1-day`
//! of the same day and scope on `(user_id, day)`.
//!
//! GitHub leaves teams with fewer than five Copilot seats out of the
//! user-teams report, so they produce nothing here. A user on two teams
//! counts in both (team sums double-count; the organization total is not the
//! sum of its teams). Only 1-day reports are ever joined, and only
//! quantities ([`crate::report::quantity`]) are summed.
//!
//! The [`TeamDirectory`] (user → teams, teams identified by `team_id`) is
//! built first from the small user-teams report; the users report, which can
//! be hundreds of MB, is then streamed row by row into a [`TeamAggregator`].
//! Rows of users on no team are skipped after a cheap identity parse
//! ([`RowIdentity::parse`]). Nothing here does I/O.

mod aggregate;
mod directory;

pub use aggregate::TeamAggregator;
pub use directory::TeamDirectory;

use chrono::NaiveDate;
use serde::Deserialize;

/// Prefix of every team metric.
pub const TEAM_PREFIX: &str = "copilot_team_";

/// Name of the active-members metric.
pub const TEAM_ACTIVE_USERS: &str = "copilot_team_daily_active_users";

/// The label that names the team (its slug; see [`TeamDirectory::team_labels`]).
pub const TEAM_LABEL: &str = "team";

/// A user or team id: a JSON integer, or a string of digits.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id<'a> {
    Number(u64),
    Text(&'a str),
}

impl Id<'_> {
    fn get(&self) -> Option<u64> {
        match self {
            Id::Number(n) => Some(*n),
            Id::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// Parses a row that must be a JSON object into `T` (the fields it names,
/// the others skipped); `what` starts the error of a row that does not fit.
fn object_row<'a, T: Deserialize<'a>>(line: &'a [u8], what: &str) -> Result<T, String> {
    if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("not a JSON object".into());
    }
    serde_json::from_slice(line).map_err(|e| format!("{what}: {e}"))
}

/// The identity fields of a per-user or user-team row, parsed without
/// building the whole JSON tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIdentity {
    /// `user_id`.
    pub user_id: Option<u64>,
    /// `day`.
    pub day: Option<NaiveDate>,
}

impl RowIdentity {
    /// Parses `user_id` and `day` of a row; other fields are skipped.
    pub fn parse(line: &[u8]) -> Result<RowIdentity, String> {
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(borrow, default)]
            user_id: Option<Id<'a>>,
            #[serde(borrow, default)]
            day: Option<&'a str>,
        }
        let raw: Raw<'_> = object_row(line, "not a JSON object")?;
        Ok(RowIdentity {
            user_id: raw.user_id.and_then(|i| i.get()),
            day: raw
                .day
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        })
    }
}

impl RowIdentity {
    /// The exact path's first step for a line of report day `day`: its
    /// identity, or the outcome of a line that goes no further
    /// ([`LineOutcome::Invalid`] when malformed, [`LineOutcome::Skipped`]
    /// for another day).
    pub fn of_day(line: &[u8], day: NaiveDate) -> Result<RowIdentity, LineOutcome> {
        let identity = RowIdentity::parse(line).map_err(|_| LineOutcome::Invalid)?;
        if identity.day.is_some_and(|d| d != day) {
            return Err(LineOutcome::Skipped);
        }
        Ok(identity)
    }
}

/// What [`TeamAggregator::add_line`] did with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutcome {
    /// The row was added to its user's teams.
    Added,
    /// Not for the team join: another day, no user id, or a user on no
    /// reported team.
    Skipped,
    /// Malformed (not a JSON object, or an identity of the wrong type).
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_parse_is_lenient() {
        let day = NaiveDate::from_ymd_opt(2026, 5, 7).unwrap();
        let id = RowIdentity::parse(br#"{"user_id": 7, "day": "2026-05-07", "x": [1,{"y":2}]}"#)
            .unwrap();
        assert_eq!(
            id,
            RowIdentity {
                user_id: Some(7),
                day: Some(day)
            }
        );
        let id = RowIdentity::parse(br#"{"user_id": "8"}"#).unwrap();
        assert_eq!(id.user_id, Some(8));
        assert_eq!(
            RowIdentity::parse(br#"{"user_id": -1, "day": 5}"#)
                .map(|i| i.user_id)
                .ok(),
            None
        );
        assert!(RowIdentity::parse(b"[1]").is_err());
    }
}
