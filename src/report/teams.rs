//! Team metrics: the `user-teams-1-day` report joined with `users-1-day`
//! of the same day and scope on `(user_id, day)`.
//!
//! GitHub leaves teams with fewer than five Copilot seats out of the
//! user-teams report, so they produce nothing here. A user on two teams
//! counts in both (team sums double-count; the organization total is not the
//! sum of its teams). Only 1-day reports are ever joined.
//!
//! The [`TeamDirectory`] (user → teams) is built first from the small
//! user-teams report; the users report, which can be hundreds of MB, is then
//! streamed row by row into a [`TeamAggregator`]. Rows of users on no team
//! are skipped after a cheap identity parse ([`RowIdentity::parse`]).
//! Nothing here does I/O.

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::model::{Labels, SampleSet, SeriesKey};
use crate::report::naming::{is_additive, map_object, push_label};
use crate::report::rowwalk::{RowMapper, Walked};

/// Prefix of every team metric.
pub const TEAM_PREFIX: &str = "copilot_team_";

/// Name of the active-members metric.
pub const TEAM_ACTIVE_USERS: &str = "copilot_team_daily_active_users";

/// The label that names the team (its slug).
pub const TEAM_LABEL: &str = "team";

/// Stand-in value of the team label while a row is mapped once for all of
/// its user's teams (an empty value would be dropped by the model).
const TEAM_PLACEHOLDER: &str = "\u{1}team\u{1}";

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
        if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err("not a JSON object".into());
        }
        let raw: Raw<'_> =
            serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
        Ok(RowIdentity {
            user_id: raw.user_id.and_then(|i| i.get()),
            day: raw
                .day
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        })
    }
}

/// The teams of one user: two inline, more on the heap (24 bytes a user
/// for the common case), plus whether the user already had a row.
#[derive(Debug, Clone, Default)]
struct Membership {
    first: [u32; 2],
    len: u8,
    seen: bool,
    all: Option<Box<[u32]>>,
}

impl Membership {
    fn teams(&self) -> &[u32] {
        match &self.all {
            Some(all) => all,
            None => &self.first[..self.len as usize],
        }
    }

    fn add(&mut self, team: u32) {
        if self.teams().contains(&team) {
            return;
        }
        match &mut self.all {
            Some(all) => {
                let mut more = all.to_vec();
                more.push(team);
                *all = more.into_boxed_slice();
            }
            None if (self.len as usize) < self.first.len() => {
                self.first[self.len as usize] = team;
                self.len += 1;
            }
            None => {
                let mut all = self.first.to_vec();
                all.push(team);
                self.all = Some(all.into_boxed_slice());
            }
        }
    }
}

/// Which teams each user belongs to on one day, from `user-teams-1-day`.
#[derive(Debug, Clone)]
pub struct TeamDirectory {
    day: NaiveDate,
    /// Team label values (slugs, made unique), by team index.
    teams: Vec<String>,
    by_team_id: HashMap<u64, u32>,
    members: FxHashMap<u64, Membership>,
}

impl TeamDirectory {
    /// An empty directory for `day`.
    pub fn new(day: NaiveDate) -> Self {
        TeamDirectory {
            day,
            teams: Vec::new(),
            by_team_id: HashMap::new(),
            members: FxHashMap::default(),
        }
    }

    /// The day of the mapping.
    pub fn day(&self) -> NaiveDate {
        self.day
    }

    /// Takes one NDJSON line of `user-teams-1-day`. Rows of another day are
    /// ignored (`Ok(false)`); malformed rows are an error.
    pub fn add_line(&mut self, line: &[u8]) -> Result<bool, String> {
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(borrow, default)]
            user_id: Option<Id<'a>>,
            #[serde(borrow, default)]
            team_id: Option<Id<'a>>,
            #[serde(default)]
            slug: Option<String>,
            #[serde(borrow, default)]
            day: Option<&'a str>,
        }
        if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err("not a JSON object".into());
        }
        let raw: Raw<'_> =
            serde_json::from_slice(line).map_err(|e| format!("not a user-team row: {e}"))?;
        let user = raw
            .user_id
            .and_then(|i| i.get())
            .ok_or("no numeric `user_id`")?;
        let team = raw
            .team_id
            .and_then(|i| i.get())
            .ok_or("no numeric `team_id`")?;
        if let Some(day) = raw.day {
            match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(d) if d == self.day => {}
                Ok(_) => return Ok(false),
                Err(_) => return Err("`day` is not a date".into()),
            }
        }
        let slug = raw
            .slug
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| format!("team-{team}"));
        self.add(user, team, &slug);
        Ok(true)
    }

    /// Records that `user` is on team `team_id` (`slug`). Two teams with the
    /// same slug (an enterprise team and an organization team, say) are kept
    /// apart: the later one is labelled `<slug>-<team_id>`.
    pub fn add(&mut self, user: u64, team_id: u64, slug: &str) {
        let index = match self.by_team_id.get(&team_id) {
            Some(i) => *i,
            None => {
                let mut label = slug.to_string();
                if self.teams.contains(&label) {
                    label = format!("{slug}-{team_id}");
                }
                self.teams.push(label);
                let i = (self.teams.len() - 1) as u32;
                self.by_team_id.insert(team_id, i);
                i
            }
        };
        self.members.entry(user).or_default().add(index);
    }

    /// The team indices of a user (empty when on no reported team).
    pub fn teams_of(&self, user: u64) -> &[u32] {
        self.members
            .get(&user)
            .map(Membership::teams)
            .unwrap_or(&[])
    }

    /// Marks that `user` had a row; true the first time (the user then
    /// counts as active on each of their teams).
    fn mark_seen(&mut self, user: u64) -> bool {
        match self.members.get_mut(&user) {
            Some(m) if !m.seen => {
                m.seen = true;
                true
            }
            _ => false,
        }
    }

    /// Number of teams.
    pub fn team_count(&self) -> usize {
        self.teams.len()
    }

    /// True when no team was reported (all teams under five seats, or none).
    pub fn is_empty(&self) -> bool {
        self.teams.is_empty()
    }

    /// The label value of a team.
    pub fn team_label(&self, index: u32) -> &str {
        self.teams
            .get(index as usize)
            .map(String::as_str)
            .unwrap_or("")
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

/// Sums per-user rows into per-team series for one day.
///
/// Sums are kept per team in a dense vector indexed by an interned series
/// id (name + label set, see [`crate::report::naming::map_object`]); a `NaN` slot
/// is a series the team has not seen. Memory is teams × distinct series ×
/// 8 bytes plus the interned keys, whatever the size of the report.
#[derive(Debug)]
pub struct TeamAggregator {
    directory: TeamDirectory,
    base_labels: Labels,
    /// By team: members with a row.
    active: Vec<u64>,
    sums: Vec<Vec<f64>>,
    help: BTreeMap<String, String>,
    mapper: RowMapper,
    exact_rows: u64,
}

impl TeamAggregator {
    /// An aggregator over `directory`'s teams; series carry `scope_labels`
    /// plus `team`.
    pub fn new(directory: TeamDirectory, scope_labels: &Labels) -> Self {
        let mut base_labels = scope_labels.clone();
        push_label(&mut base_labels, TEAM_LABEL, TEAM_PLACEHOLDER);
        let n = directory.team_count();
        let mapper = RowMapper::new(TEAM_PREFIX, &base_labels);
        TeamAggregator {
            directory,
            base_labels,
            active: vec![0; n],
            sums: vec![Vec::new(); n],
            help: BTreeMap::new(),
            mapper,
            exact_rows: 0,
        }
    }

    /// The directory.
    pub fn directory(&self) -> &TeamDirectory {
        &self.directory
    }

    /// True when `user` is on a reported team (worth a full parse).
    pub fn wants(&self, user: u64) -> bool {
        !self.directory.teams_of(user).is_empty()
    }

    /// Takes one raw `users-1-day` line of report day `day`: the fast path.
    ///
    /// Equivalent to [`RowIdentity::parse`], the day and team checks, a
    /// parse into a JSON map and [`TeamAggregator::add_row`], but it walks
    /// the bytes once with borrowed strings and interned series, and rows
    /// of users on no team are only checked. Rows it cannot take exactly
    /// that way (duplicate keys, escaped labels, odd identities, a metric
    /// name seen for the first time) go through that slow path.
    pub fn add_line(&mut self, line: &[u8], day: NaiveDate) -> LineOutcome {
        let directory = &self.directory;
        let wants = |user: u64| !directory.teams_of(user).is_empty();
        let walked = self.mapper.walk(line, &wants);
        let (user, row_day, skipped) = match walked {
            Walked::Row {
                user, day, skipped, ..
            } => (user, day, skipped),
            Walked::Fallback => return self.add_line_slow(line, day),
        };
        if row_day.is_some_and(|d| d != day) || skipped {
            return LineOutcome::Skipped;
        }
        let Some(user) = user else {
            return LineOutcome::Skipped;
        };
        // Duplicate series in a row, or a name without help yet: exact path.
        if !self.mapper.leaves_exact() {
            return self.add_line_slow(line, day);
        }
        let leaves = std::mem::take(&mut self.mapper.leaves);
        self.add_to_teams(user, &leaves);
        self.mapper.leaves = leaves;
        LineOutcome::Added
    }

    /// Lines [`TeamAggregator::add_line`] handed to the exact (slow) path.
    pub fn exact_path_lines(&self) -> u64 {
        self.exact_rows
    }

    /// The exact path of [`TeamAggregator::add_line`].
    fn add_line_slow(&mut self, line: &[u8], day: NaiveDate) -> LineOutcome {
        self.exact_rows += 1;
        let Ok(identity) = RowIdentity::parse(line) else {
            return LineOutcome::Invalid;
        };
        if identity.day.is_some_and(|d| d != day) {
            return LineOutcome::Skipped;
        }
        let Some(user) = identity.user_id.filter(|u| self.wants(*u)) else {
            return LineOutcome::Skipped;
        };
        match serde_json::from_slice::<Map<String, Value>>(line) {
            Ok(row) => {
                self.add_row(user, &row);
                LineOutcome::Added
            }
            Err(_) => LineOutcome::Invalid,
        }
    }

    /// Adds one `users-1-day` row of `user` (the caller checked the day).
    pub fn add_row(&mut self, user: u64, row: &Map<String, Value>) {
        let teams = self.directory.teams_of(user);
        if teams.is_empty() {
            return;
        }
        let mut values = SampleSet::new();
        map_object(TEAM_PREFIX, &self.base_labels, row, &mut values);
        for name in values.names() {
            if !self.help.contains_key(name) && is_additive(name) {
                let source = values.help(name).unwrap_or_default();
                self.help.insert(
                    name.to_string(),
                    format!("Sum over the team's members (users-1-day joined with user-teams-1-day) of: {source}"),
                );
                self.mapper.mark_help_known(name);
            }
        }
        let series: Vec<(u32, f64)> = values
            .iter()
            .filter(|(key, _)| is_additive(&key.name))
            .map(|(key, value)| (self.mapper.series_for_key(key), value))
            .collect();
        self.add_to_teams(user, &series);
    }

    /// Adds `(series id, value)` pairs of one row of `user` to each of the
    /// user's teams; the user's first row also counts them as active.
    fn add_to_teams(&mut self, user: u64, series: &[(u32, f64)]) {
        let count = self.mapper.series_count();
        let first_row = self.directory.mark_seen(user);
        for &team in self.directory.teams_of(user) {
            let t = team as usize;
            if first_row {
                self.active[t] += 1;
            }
            let sums = &mut self.sums[t];
            if sums.len() < count {
                sums.resize(count, f64::NAN);
            }
            for &(id, value) in series {
                let slot = &mut sums[id as usize];
                *slot = if slot.is_nan() {
                    0.0 + value
                } else {
                    *slot + value
                };
            }
        }
    }

    /// The team series: `copilot_team_daily_active_users` for every
    /// reported team (0 when no member had a row) and the sums of teams
    /// with active members.
    pub fn finish(self) -> SampleSet {
        let mut out = SampleSet::new();
        // The team label is the last base label pushed (named `team`, or
        // `exported_team` should the scope label ever be called `team`).
        let team_label = self
            .base_labels
            .last()
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        let relabel = |labels: &Labels, team: &str| -> Labels {
            let mut labels = labels.clone();
            if let Some(pair) = labels
                .iter_mut()
                .find(|(n, v)| *n == team_label && v == TEAM_PLACEHOLDER)
            {
                pair.1 = team.to_string();
            }
            labels
        };
        let keys: Vec<SeriesKey> = (0..self.mapper.series_count() as u32)
            .map(|id| self.mapper.series_key(id))
            .collect();
        for (t, members) in self.active.iter().enumerate() {
            let team = self.directory.team_label(t as u32);
            out.insert(
                SeriesKey::new(TEAM_ACTIVE_USERS, relabel(&self.base_labels, team)),
                *members as f64,
                "Members of the team with a users-1-day row that day (teams under five Copilot seats are not reported by GitHub).",
            );
            for (id, value) in self.sums[t].iter().enumerate() {
                if value.is_nan() {
                    continue;
                }
                let key = &keys[id];
                let help = self
                    .help
                    .get(&key.name)
                    .map(String::as_str)
                    .unwrap_or("Team sum.");
                out.insert(
                    SeriesKey::new(key.name.clone(), relabel(&key.labels, team)),
                    *value,
                    help,
                );
            }
        }
        out
    }
}

/// A set of series whose values are summed on repeated inserts (the
/// per-user rows of one user on several organizations of an enterprise).
/// Non-additive series keep their first value.
#[derive(Debug, Default)]
pub struct SumSet {
    series: HashMap<SeriesKey, f64>,
    help: HashMap<String, String>,
}

impl SumSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every series of `values`.
    pub fn add_all(&mut self, values: &SampleSet) {
        for (key, value) in values.iter() {
            let additive = is_additive(&key.name);
            match self.series.get_mut(key) {
                Some(sum) if additive => *sum += value,
                Some(_) => {}
                None => {
                    if !self.help.contains_key(&key.name) {
                        let help = values.help(&key.name).unwrap_or_default().to_string();
                        self.help.insert(key.name.clone(), help);
                    }
                    self.series.insert(key.clone(), value);
                }
            }
        }
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The series as a [`SampleSet`].
    pub fn into_samples(self) -> SampleSet {
        let mut out = SampleSet::new();
        for (key, value) in self.series {
            let help = self
                .help
                .get(&key.name)
                .map(String::as_str)
                .unwrap_or_default();
            out.insert(key, value, help);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 7).unwrap()
    }

    fn org() -> Labels {
        vec![("org".into(), "octo".into())]
    }

    fn directory() -> TeamDirectory {
        let mut dir = TeamDirectory::new(day());
        for line in include_str!("../../tests/fixtures/github/usage-metrics-ndjson-org-user-teams-1-day.docs-example.ndjson").lines() {
            assert!(dir.add_line(line.as_bytes()).unwrap());
        }
        dir
    }

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn directory_from_the_docs_example() {
        let dir = directory();
        assert_eq!(dir.team_count(), 2);
        assert_eq!(dir.teams_of(1001).len(), 2);
        assert_eq!(dir.teams_of(1002).len(), 1);
        assert!(dir.teams_of(1003).is_empty());
    }

    #[test]
    fn memberships_hold_any_number_of_teams_once() {
        let mut dir = TeamDirectory::new(day());
        for team in [1, 2, 1, 3, 4, 2, 5] {
            dir.add(7, team, &format!("t{team}"));
        }
        assert_eq!(dir.teams_of(7), [0, 1, 2, 3, 4]);
        assert!(dir.mark_seen(7));
        assert!(!dir.mark_seen(7));
        assert!(!dir.mark_seen(8));
        assert!(dir.teams_of(8).is_empty());
    }

    #[test]
    fn other_days_and_bad_rows() {
        let mut dir = TeamDirectory::new(day());
        assert!(!dir
            .add_line(br#"{"user_id":1,"team_id":2,"slug":"x","day":"2026-05-06"}"#)
            .unwrap());
        assert!(dir
            .add_line(br#"{"user_id":"1","team_id":2,"slug":"x","day":"2026-05-07"}"#)
            .unwrap());
        assert!(dir.add_line(br#"{"team_id":2}"#).is_err());
        assert!(dir.add_line(b"nope").is_err());
        assert!(dir
            .add_line(br#"{"user_id":1,"team_id":2,"day":"May"}"#)
            .is_err());
        // Same slug, another team id: kept apart.
        dir.add(5, 3, "x");
        assert_eq!(dir.team_label(1), "x-3");
    }

    #[test]
    fn sums_and_active_counts_with_double_membership() {
        let mut agg = TeamAggregator::new(directory(), &org());
        agg.add_row(1001, &row(json!({"user_id": 1001, "day": "2026-05-07", "loc_added_sum": 8,
            "code_acceptance_activity_count": 1,
            "totals_by_ide": [{"ide": "vscode", "loc_added_sum": 8}],
            "totals_by_cli": {"token_usage": {"avg_tokens_per_request": 4400.0, "output_tokens_sum": 10}}})));
        agg.add_row(1002, &row(json!({"user_id": 1002, "day": "2026-05-07", "loc_added_sum": 2,
            "totals_by_ide": [{"ide": "vscode", "loc_added_sum": 1}, {"ide": "jetbrains", "loc_added_sum": 1}]})));
        agg.add_row(1003, &row(json!({"user_id": 1003, "loc_added_sum": 100})));
        let s = agg.finish();
        let fe = [("org", "octo"), ("team", "frontend")];
        let be = [("org", "octo"), ("team", "backend")];
        assert_eq!(s.value(TEAM_ACTIVE_USERS, &fe), Some(2.0));
        assert_eq!(s.value(TEAM_ACTIVE_USERS, &be), Some(1.0));
        assert_eq!(s.value("copilot_team_loc_added", &fe), Some(10.0));
        assert_eq!(s.value("copilot_team_loc_added", &be), Some(8.0));
        assert_eq!(
            s.value("copilot_team_code_acceptance_activity", &fe),
            Some(1.0)
        );
        assert_eq!(
            s.value(
                "copilot_team_loc_added_by_ide",
                &[("org", "octo"), ("team", "frontend"), ("ide", "vscode")]
            ),
            Some(9.0)
        );
        assert_eq!(
            s.value(
                "copilot_team_loc_added_by_ide",
                &[("org", "octo"), ("team", "frontend"), ("ide", "jetbrains")]
            ),
            Some(1.0)
        );
        assert_eq!(
            s.value("copilot_team_cli_token_usage_output_tokens", &be),
            Some(10.0)
        );
        assert!(
            s.names().all(|n| !n.contains("avg")),
            "averages are not summed"
        );
        assert!(s
            .iter()
            .all(|(k, _)| k.label("team").is_some_and(|t| !t.is_empty())));
    }

    /// The old, exact path: identity parse, day and team checks, map parse,
    /// `add_row`.
    fn slow(agg: &mut TeamAggregator, line: &[u8], day: NaiveDate) -> LineOutcome {
        let Ok(identity) = RowIdentity::parse(line) else {
            return LineOutcome::Invalid;
        };
        if identity.day.is_some_and(|d| d != day) {
            return LineOutcome::Skipped;
        }
        let Some(user) = identity.user_id.filter(|u| agg.wants(*u)) else {
            return LineOutcome::Skipped;
        };
        match serde_json::from_slice::<Map<String, Value>>(line) {
            Ok(row) => {
                agg.add_row(user, &row);
                LineOutcome::Added
            }
            Err(_) => LineOutcome::Invalid,
        }
    }

    #[test]
    fn fast_path_equals_the_exact_path() {
        let docs: Vec<Value> = serde_json::from_str(include_str!(
            "../../tests/fixtures/github/usage-metrics-ndjson-users-1-day.docs-example.json"
        ))
        .unwrap();
        let mut lines: Vec<String> = docs
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r["user_id"] = json!(1001);
                r["day"] = json!("2026-05-07");
                r.to_string()
            })
            .collect();
        for extra in [
            // Plain rows, several teams, ids as strings.
            r#"{"user_id": 1001, "day": "2026-05-07", "loc_added_sum": 8, "totals_by_ide": [{"ide": "vscode", "loc_added_sum": 8, "last_known_ide_version": {"ide_version": "1", "n": 3}}]}"#,
            r#"{"day": "2026-05-07", "user_id": "1002", "loc_added_sum": 2, "totals_by_ide": [{"loc_added_sum": 1, "ide": "jetbrains"}, {"ide": "vscode", "loc_added_sum": 1}]}"#,
            r#"{"user_id": 1002, "loc_added_count": 3, "loc_added_sum": 4}"#,
            // Duplicate series in one row (first wins), duplicate keys.
            r#"{"user_id": 1001, "totals_by_ide": [{"ide": "vscode", "loc_added_sum": 1}, {"ide": "vscode", "loc_added_sum": 2}]}"#,
            r#"{"user_id": 1001, "loc_added_sum": 1, "loc_added_sum": 5}"#,
            r#"{"user_id": 1001, "totals_by_ide": [{"ide": "a", "ide": "b", "x": 1}]}"#,
            // Escapes, clashes with the scope and team labels, empty labels.
            r#"{"user_id": 1001, "totals_by_ide": [{"ide": "v\u0073code", "loc_added_sum": 1}], "we\"ird": 2}"#,
            r#"{"user_id": 1001, "totals_by_org": [{"org": "other", "team": "t", "ide": "", "n": 1}], "by_": [{"x": "y", "z": 1}]}"#,
            // Units, averages, nested objects in elements, arrays in elements.
            r#"{"user_id": 1002, "pull_requests": {"median_minutes_to_merge": 2.5, "total_created": 2, "copilot_suggestions_by_comment_type": [{"comment_type": "nit", "total_copilot_suggestions": 4, "x": [1, {"y": 2}]}]}, "totals_by_cli": {"token_usage": {"avg_tokens_per_request": 3.5, "output_tokens_sum": 9, "hours_sum": 1}}}"#,
            r#"{"user_id": 1002, "totals_by_feature": [{"feature": "f", "deep": {"a_sum": 1, "s": "not a label"}}, 7, "x", null, [1]]}"#,
            // Identities: other day, no user, odd types, unknown user.
            r#"{"user_id": 1001, "day": "2026-05-06", "loc_added_sum": 100}"#,
            r#"{"loc_added_sum": 100}"#,
            r#"{"user_id": 1003, "loc_added_sum": 100}"#,
            r#"{"user_id": 1003, "loc_added_sum": 100, "user_id": 1001}"#,
            r#"{"loc_added_sum": 100, "user_id": 1001, "day": 5}"#,
            r#"{"user_id": -1, "loc_added_sum": 100}"#,
            r#"{"user_id": 1.5}"#,
            r#"{"user_id": "10\u00301", "loc_added_sum": 1}"#,
            r#"{"user_id": 1001, "day": "not a day", "loc_added_sum": 1}"#,
            r#"{"user_id": null, "loc_added_sum": 1}"#,
            // Malformed.
            r#"[1, 2]"#,
            r#"{"user_id": 1001, "loc_added_sum": 1} trailing"#,
            r#"{"user_id": 1001, "loc_added_sum": 1"#,
            r#"{"user_id": 1001, "big": 1e999}"#,
            r#"{"user_id": 1001, "neg": -3, "u": 18446744073709551615, "f": 1e300}"#,
        ] {
            lines.push(extra.to_string());
        }
        // Every line, then twice more in rotated orders (new names first).
        let mut all = lines.clone();
        for shift in [3, 7] {
            let mut l = lines.clone();
            l.rotate_left(shift % lines.len());
            all.extend(l);
        }
        let mut fast = TeamAggregator::new(directory(), &org());
        let mut exact = TeamAggregator::new(directory(), &org());
        for line in &all {
            let a = fast.add_line(line.as_bytes(), day());
            let b = slow(&mut exact, line.as_bytes(), day());
            assert_eq!(a, b, "{line}");
        }
        // Well-formed rows with known names take the fast path.
        let before = fast.exact_path_lines();
        for line in lines.iter().take(docs.len() + 2) {
            let a = fast.add_line(line.as_bytes(), day());
            let b = slow(&mut exact, line.as_bytes(), day());
            assert_eq!(a, b, "{line}");
        }
        assert_eq!(fast.exact_path_lines(), before);
        let (a, b) = (fast.finish(), exact.finish());
        assert!(a.len() > 20);
        assert_eq!(a, b);
    }

    #[test]
    fn teams_without_rows_report_zero_active_users() {
        let s = TeamAggregator::new(directory(), &org()).finish();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.value(TEAM_ACTIVE_USERS, &[("org", "octo"), ("team", "frontend")]),
            Some(0.0)
        );
    }

    #[test]
    fn identity_parse_is_lenient() {
        let id = RowIdentity::parse(br#"{"user_id": 7, "day": "2026-05-07", "x": [1,{"y":2}]}"#)
            .unwrap();
        assert_eq!(
            id,
            RowIdentity {
                user_id: Some(7),
                day: Some(day())
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

    #[test]
    fn additivity() {
        assert!(is_additive("copilot_team_loc_added"));
        assert!(!is_additive(
            "copilot_team_cli_token_usage_avg_tokens_per_request"
        ));
        assert!(!is_additive(
            "copilot_user_pull_requests_median_seconds_to_merge"
        ));
    }

    #[test]
    fn sum_set_adds_repeated_rows() {
        let mut a = SampleSet::new();
        a.insert(SeriesKey::new("copilot_user_loc_added", org()), 2.0, "h");
        a.insert(SeriesKey::new("copilot_user_avg_x", org()), 5.0, "h");
        let mut b = SampleSet::new();
        b.insert(SeriesKey::new("copilot_user_loc_added", org()), 3.0, "h");
        b.insert(SeriesKey::new("copilot_user_avg_x", org()), 9.0, "h");
        let mut sum = SumSet::new();
        sum.add_all(&a);
        sum.add_all(&b);
        let s = sum.into_samples();
        assert_eq!(
            s.value("copilot_user_loc_added", &[("org", "octo")]),
            Some(5.0)
        );
        assert_eq!(s.value("copilot_user_avg_x", &[("org", "octo")]), Some(5.0));
    }
}
