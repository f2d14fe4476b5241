//! Per-user metrics (`USER_METRICS=login|hashed`): `users-1-day` rows of the
//! newest day as `copilot_user_<f'>{…, user}` by the core naming rule.
//!
//! The `user` label is the login, or the first 16 hex characters of
//! SHA-256(salt ‖ login): stable across runs for one salt, not reversible
//! without it. At most `USER_METRICS_MAX` users are exported (in report
//! order); the rest are counted as dropped. Several rows of one user (an
//! enterprise report with one row per organization) are summed.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::model::{Labels, SampleSet};
use crate::report::breakdowns::Breakdowns;
use crate::report::naming::{field_help, map_row_leaves, push_label};
use crate::report::rowwalk::{LeafValue, RowMapper, Walked};
use crate::report::teams::{LineOutcome, RowIdentity};
use crate::secret::Secret;

/// `USER_METRICS`: whether and how per-user series are exported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum UserMetricsMode {
    /// No per-user series (the default).
    #[default]
    Off,
    /// `user` label = the GitHub login.
    Login,
    /// `user` label = first 16 hex characters of SHA-256(salt ‖ login).
    Hashed,
}

/// Prefix of every per-user metric.
pub const USER_PREFIX: &str = "copilot_user_";

/// The label that names the user.
pub const USER_LABEL: &str = "user";

/// First 16 hex characters of SHA-256(salt ‖ login).
pub fn hash_user(salt: &Secret, login: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.expose().as_bytes());
    hasher.update(login.as_bytes());
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(16);
    for b in &digest[..8] {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The `user` label value of a login in `mode` (`None` when off).
fn label_of(mode: UserMetricsMode, salt: Option<&Secret>, login: &str) -> Option<String> {
    match mode {
        UserMetricsMode::Off => None,
        UserMetricsMode::Login => Some(login.to_string()),
        UserMetricsMode::Hashed => Some(hash_user(salt.unwrap_or(&Secret::new("")), login)),
    }
}

/// Stand-in value of the user label while rows are mapped (replaced by the
/// user's label value in [`UserAggregator::finish`]).
const USER_PLACEHOLDER: &str = "\u{1}user\u{1}";

/// Collects per-user series for one day.
///
/// Like the team join, rows are walked once from their bytes into interned
/// series ([`UserAggregator::add_line`]); each user keeps a small vector of
/// (series id, value). Several rows of one user (one per organization of
/// an enterprise) are summed for quantities
/// ([`crate::report::quantity::is_quantity`]); any other field keeps its
/// first value.
#[derive(Debug)]
pub struct UserAggregator {
    mode: UserMetricsMode,
    salt: Option<Secret>,
    max: usize,
    /// User label value → index into `values` / `labels`.
    kept: HashMap<String, u32>,
    dropped: HashSet<String>,
    base_labels: Labels,
    mapper: RowMapper,
    values: Vec<Vec<(u32, f64)>>,
    labels: Vec<String>,
    help: HashMap<String, String>,
    exact_rows: u64,
    breakdowns: Breakdowns,
}

impl UserAggregator {
    /// An aggregator; `salt` is required for [`UserMetricsMode::Hashed`]
    /// (without it, logins are hashed with an empty salt).
    pub fn new(
        scope_labels: &Labels,
        mode: UserMetricsMode,
        salt: Option<Secret>,
        max: usize,
    ) -> Self {
        let mut base_labels = scope_labels.clone();
        push_label(&mut base_labels, USER_LABEL, USER_PLACEHOLDER);
        UserAggregator {
            mode,
            salt,
            max,
            kept: HashMap::new(),
            dropped: HashSet::new(),
            mapper: RowMapper::for_users(USER_PREFIX, &base_labels),
            base_labels,
            values: Vec::new(),
            labels: Vec::new(),
            help: HashMap::new(),
            exact_rows: 0,
            breakdowns: Breakdowns::ALL,
        }
    }

    /// Exports only `breakdowns` (`USER_BREAKDOWNS`; all unless told); the
    /// row fields of the others are not walked. Call before the first row.
    pub fn with_breakdowns(mut self, breakdowns: Breakdowns) -> Self {
        self.breakdowns = breakdowns;
        self.mapper =
            RowMapper::for_users(USER_PREFIX, &self.base_labels).with_breakdowns(breakdowns);
        self
    }

    /// The `user` label value of a login (`None` when per-user metrics are off).
    pub fn label_for(&self, login: &str) -> Option<String> {
        label_of(self.mode, self.salt.as_ref(), login)
    }

    /// The index of a user label, admitting it while under the cap.
    fn admit(&mut self, user: String) -> Option<u32> {
        if let Some(i) = self.kept.get(&user) {
            return Some(*i);
        }
        if self.kept.len() >= self.max {
            self.dropped.insert(user);
            return None;
        }
        let i = self.values.len() as u32;
        self.values.push(Vec::new());
        self.labels.push(user.clone());
        self.kept.insert(user, i);
        Some(i)
    }

    fn accumulate(&mut self, user: u32, series: &[LeafValue]) {
        let values = &mut self.values[user as usize];
        if values.is_empty() {
            values.extend(series.iter().map(|&(id, value, _)| (id, value)));
            return;
        }
        for &(id, value, quantity) in series {
            match values.iter_mut().find(|(s, _)| *s == id) {
                Some(slot) if quantity => slot.1 += value,
                Some(_) => {}
                None => values.push((id, value)),
            }
        }
    }

    /// Takes one raw `users-1-day` line of report day `day`: the fast path,
    /// equivalent to [`crate::report::teams::RowIdentity::parse`], the day check, a
    /// parse into a JSON map and [`UserAggregator::add_row`]. Rows it cannot
    /// take exactly that way go through that slow path.
    pub fn add_line(&mut self, line: &[u8], day: NaiveDate) -> LineOutcome {
        // With the cap reached, a user not kept yet is dropped: the walk
        // stops mapping right after its login.
        let full = self.kept.len() >= self.max;
        let (kept, mode, salt) = (&self.kept, self.mode, self.salt.as_ref());
        let keep_login = |login: &str| {
            !full || label_of(mode, salt, login).is_some_and(|l| kept.contains_key(&l))
        };
        let walked = self.mapper.walk_logins(line, &keep_login);
        let (user, row_day, user_text, dropped) = match walked {
            Walked::Row {
                user,
                day,
                user_text,
                skipped,
            } => (user, day, user_text, skipped),
            Walked::Fallback => return self.add_line_slow(line, day),
        };
        if row_day.is_some_and(|d| d != day) {
            return LineOutcome::Skipped;
        }
        if dropped {
            // Only a non-empty login the cap refused skips a row.
            if let Some(label) = self.mapper.login.take().and_then(|l| self.label_for(&l)) {
                self.dropped.insert(label);
            }
            return LineOutcome::Skipped;
        }
        let login = match (&self.mapper.login, user) {
            (Some(login), _) if !login.is_empty() => login.clone(),
            _ if user_text => return self.add_line_slow(line, day),
            (_, Some(id)) => id.to_string(),
            _ => return LineOutcome::Skipped,
        };
        if !self.mapper.leaves_exact() {
            return self.add_line_slow(line, day);
        }
        let Some(label) = self.label_for(&login) else {
            return LineOutcome::Skipped;
        };
        let Some(index) = self.admit(label) else {
            return LineOutcome::Skipped;
        };
        let leaves = std::mem::take(&mut self.mapper.leaves);
        self.accumulate(index, &leaves);
        self.mapper.leaves = leaves;
        LineOutcome::Added
    }

    /// Lines [`UserAggregator::add_line`] handed to the exact (slow) path.
    pub fn exact_path_lines(&self) -> u64 {
        self.exact_rows
    }

    fn add_line_slow(&mut self, line: &[u8], day: NaiveDate) -> LineOutcome {
        self.exact_rows += 1;
        if let Err(outcome) = RowIdentity::of_day(line, day) {
            return outcome;
        }
        match serde_json::from_slice::<Map<String, Value>>(line) {
            Ok(row) if self.add_row(&row) => LineOutcome::Added,
            Ok(_) => LineOutcome::Skipped,
            Err(_) => LineOutcome::Invalid,
        }
    }

    /// Adds one row. The user is `user_login`, or `user_id` when the login is
    /// missing. Returns `false` when the row has neither or the user was
    /// dropped by the cap.
    pub fn add_row(&mut self, row: &Map<String, Value>) -> bool {
        let login = match (row.get("user_login"), row.get("user_id")) {
            (Some(Value::String(l)), _) if !l.is_empty() => l.clone(),
            (_, Some(Value::Number(n))) => n.to_string(),
            (_, Some(Value::String(s))) if !s.is_empty() => s.clone(),
            _ => return false,
        };
        let Some(user) = self.label_for(&login) else {
            return false;
        };
        let Some(index) = self.admit(user) else {
            return false;
        };
        // The exact naming rule; the first value of a series repeated in the
        // row wins, with its field's quantity flag.
        let mut seen = HashSet::new();
        let mut series: Vec<LeafValue> = Vec::new();
        let (help, mapper) = (&mut self.help, &mut self.mapper);
        let breakdowns = self.breakdowns;
        map_row_leaves(
            USER_PREFIX,
            &self.base_labels,
            row,
            breakdowns,
            &mut |leaf| {
                if !help.contains_key(&leaf.name) {
                    help.insert(leaf.name.clone(), field_help(&leaf.source()));
                    mapper.mark_help_known(&leaf.name);
                }
                let id = mapper.series_for(&leaf.name, leaf.labels);
                if seen.insert(id) {
                    series.push((id, leaf.value, leaf.quantity()));
                }
            },
        );
        self.accumulate(index, &series);
        true
    }

    /// Users exported so far.
    pub fn users(&self) -> usize {
        self.kept.len()
    }

    /// The series and the number of distinct users dropped by the cap.
    pub fn finish(self) -> (SampleSet, u64) {
        let user_label = self
            .base_labels
            .last()
            .map(|(n, _)| n.as_str())
            .unwrap_or_default();
        let mapper = &self.mapper;
        let mut out = SampleSet::new();
        let mut sets = Vec::new();
        for (values, user) in self.values.iter().zip(&self.labels) {
            // The user's label sets, interned once each.
            sets.clear();
            sets.resize(mapper.labelset_count(), None);
            for &(id, value) in values {
                let Some((name, set, labels)) = mapper.series_parts(id) else {
                    continue;
                };
                let set = match sets.get(set as usize).copied().flatten() {
                    Some(interned) => interned,
                    None => {
                        let interned = out.intern_labels(labels.iter().map(|(n, v)| {
                            if n == user_label && v == USER_PLACEHOLDER {
                                (n.as_str(), user.as_str())
                            } else {
                                (n.as_str(), v.as_str())
                            }
                        }));
                        if let Some(slot) = sets.get_mut(set as usize) {
                            *slot = Some(interned);
                        }
                        interned
                    }
                };
                let help = self.help.get(name).map(String::as_str).unwrap_or_default();
                out.insert_in(name, set, value, help);
            }
        }
        (out, self.dropped.len() as u64)
    }
}

#[cfg(test)]
mod tests;
