//! The team join's aggregation: per-user rows summed into per-team series.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::model::{Labels, SampleSet, SeriesKey};
use crate::report::breakdowns::Breakdowns;
use crate::report::naming::{field_help, map_row_leaves, push_label};
use crate::report::rowwalk::{LeafValue, RowMapper, Walked};

use super::{LineOutcome, RowIdentity, TeamDirectory, TEAM_ACTIVE_USERS, TEAM_LABEL, TEAM_PREFIX};

/// Stand-in value of the team label while a row is mapped once for all of
/// its user's teams (an empty value would be dropped by the model).
const TEAM_PLACEHOLDER: &str = "\u{1}team\u{1}";

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
    breakdowns: Breakdowns,
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
            breakdowns: Breakdowns::ALL,
        }
    }

    /// Sums only `breakdowns` (`TEAM_BREAKDOWNS`; all unless told); the
    /// row fields of the others are not walked. Call before the first row.
    pub fn with_breakdowns(mut self, breakdowns: Breakdowns) -> Self {
        self.breakdowns = breakdowns;
        self.mapper = RowMapper::new(TEAM_PREFIX, &self.base_labels).with_breakdowns(breakdowns);
        self
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
        let identity = match RowIdentity::of_day(line, day) {
            Ok(identity) => identity,
            Err(outcome) => return outcome,
        };
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
        // Only quantities are summed; the first value of a series repeated
        // in the row wins, and a name's help comes from its first field.
        let mut seen = HashSet::new();
        let mut series: Vec<LeafValue> = Vec::new();
        let (help, mapper) = (&mut self.help, &mut self.mapper);
        map_row_leaves(
            TEAM_PREFIX,
            &self.base_labels,
            row,
            self.breakdowns,
            &mut |leaf| {
                if !leaf.quantity() {
                    return;
                }
                if !help.contains_key(&leaf.name) {
                    help.insert(
                        leaf.name.clone(),
                        format!(
                            "Sum over the team's members (users-1-day joined with user-teams-1-day) of: {}",
                            field_help(&leaf.source())
                        ),
                    );
                    mapper.mark_help_known(&leaf.name);
                }
                let id = mapper.series_for(&leaf.name, leaf.labels);
                if seen.insert(id) {
                    series.push((id, leaf.value, true));
                }
            },
        );
        self.add_to_teams(user, &series);
    }

    /// Adds `(series id, value)` pairs of one row of `user` to each of the
    /// user's teams; the user's first row also counts them as active.
    fn add_to_teams(&mut self, user: u64, series: &[LeafValue]) {
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
            for &(id, value, _) in series {
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
            .map(|(n, _)| n.as_str())
            .unwrap_or_default();
        let relabel = |labels: &'_ Labels, team: &'_ str| -> Vec<(String, String)> {
            labels
                .iter()
                .map(|(n, v)| {
                    let v = if n == team_label && v == TEAM_PLACEHOLDER {
                        team
                    } else {
                        v
                    };
                    (n.clone(), v.to_string())
                })
                .collect()
        };
        let teams = self.directory.team_labels();
        let mapper = &self.mapper;
        // Help text by series id, looked up once per metric name.
        let help: Vec<&str> = (0..mapper.series_count() as u32)
            .map(|id| {
                mapper
                    .series_parts(id)
                    .and_then(|(name, _, _)| self.help.get(name))
                    .map_or("Team sum.", String::as_str)
            })
            .collect();
        for (t, (members, sums)) in self.active.iter().zip(self.sums).enumerate() {
            let team = teams[t].as_str();
            out.insert(
                SeriesKey::new(TEAM_ACTIVE_USERS, relabel(&self.base_labels, team)),
                *members as f64,
                "Members of the team with a users-1-day row that day (teams under five Copilot seats are not reported by GitHub).",
            );
            // The team's label sets, interned once each (shared by the
            // team's metrics with the same labels).
            let mut sets = vec![None; mapper.labelset_count()];
            for (id, value) in sums.iter().enumerate() {
                if value.is_nan() {
                    continue;
                }
                let Some((name, set, labels)) = mapper.series_parts(id as u32) else {
                    continue;
                };
                let set = match sets.get(set as usize).copied().flatten() {
                    Some(interned) => interned,
                    None => {
                        let relabelled = relabel(labels, team);
                        let interned = out.intern_labels(
                            relabelled.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                        );
                        if let Some(slot) = sets.get_mut(set as usize) {
                            *slot = Some(interned);
                        }
                        interned
                    }
                };
                out.insert_in(name, set, *value, help[id]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::breakdowns::Breakdown;
    use serde_json::json;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 7).unwrap()
    }

    fn org() -> Labels {
        vec![("org".into(), "octo".into())]
    }

    fn directory() -> TeamDirectory {
        let mut dir = TeamDirectory::new(day());
        for line in include_str!("../../../tests/fixtures/github/usage-metrics-ndjson-org-user-teams-1-day.docs-example.ndjson").lines() {
            assert!(dir.add_line(line.as_bytes()).unwrap());
        }
        dir
    }

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
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

    #[test]
    fn fast_path_equals_the_exact_path() {
        let docs: Vec<Value> = serde_json::from_str(include_str!(
            "../../../tests/fixtures/github/usage-metrics-ndjson-users-1-day.docs-example.json"
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
        let all = crate::report::in_three_orders(&lines);
        let mut fast = TeamAggregator::new(directory(), &org());
        let mut exact = TeamAggregator::new(directory(), &org());
        for line in &all {
            let a = fast.add_line(line.as_bytes(), day());
            let b = exact.add_line_slow(line.as_bytes(), day());
            assert_eq!(a, b, "{line}");
        }
        // Well-formed rows with known names take the fast path.
        let before = fast.exact_path_lines();
        for line in lines.iter().take(docs.len() + 2) {
            let a = fast.add_line(line.as_bytes(), day());
            let b = exact.add_line_slow(line.as_bytes(), day());
            assert_eq!(a, b, "{line}");
        }
        // Rows of users on no team are only checked, logins (even twice)
        // included; a second user id is the exact path's business.
        for line in [
            r#"{"user_id": 4242, "user_login": "nobody", "day": "2026-05-07", "loc_added_sum": 3}"#,
            r#"{"user_login": "a", "user_id": 4243, "user_login": "b", "totals_by_ide": []}"#,
        ] {
            let a = fast.add_line(line.as_bytes(), day());
            assert_eq!(a, LineOutcome::Skipped, "{line}");
            assert_eq!(a, exact.add_line_slow(line.as_bytes(), day()), "{line}");
        }
        assert_eq!(fast.exact_path_lines(), before);
        let twice = r#"{"user_id": 4242, "user_login": "x", "user_id": 4243}"#;
        assert_eq!(
            fast.add_line(twice.as_bytes(), day()),
            exact.add_line_slow(twice.as_bytes(), day())
        );
        let (a, b) = (fast.finish(), exact.finish());
        assert!(a.len() > 20);
        assert_eq!(a, b);
    }

    /// A breakdown that is off makes no team series, on either path; the
    /// ones that are on and the totals are unchanged.
    #[test]
    fn breakdowns_that_are_off_are_not_summed() {
        let line = json!({"user_id": 1001, "day": "2026-05-07", "loc_added_sum": 8,
            "totals_by_ide": [{"ide": "vscode", "loc_added_sum": 8}],
            "totals_by_feature": [{"feature": "agent_edit", "loc_added_sum": 3}],
            "totals_by_language_feature": [{"language": "rust", "feature": "agent_edit", "loc_added_sum": 3}],
            "totals_by_language_model": [{"language": "rust", "model": "m", "loc_added_sum": 1}],
            "totals_by_model_feature": [{"model": "m", "feature": "agent_edit", "loc_added_sum": 1}],
            "totals_by_cli": {"session_count": 2},
            "pull_requests": {"totals_by_ide": [{"ide": "nested", "total_created": 1}]}})
        .to_string();
        let on = Breakdowns::of(&[Breakdown::Ide, Breakdown::Cli]);
        let mut fast = TeamAggregator::new(directory(), &org()).with_breakdowns(on);
        let mut exact = TeamAggregator::new(directory(), &org()).with_breakdowns(on);
        assert_eq!(fast.add_line(line.as_bytes(), day()), LineOutcome::Added);
        assert_eq!(
            exact.add_line_slow(line.as_bytes(), day()),
            LineOutcome::Added
        );
        assert_eq!(fast.exact_path_lines(), 1, "first sight of the names");
        assert_eq!(fast.add_line(line.as_bytes(), day()), LineOutcome::Added);
        assert_eq!(
            exact.add_line_slow(line.as_bytes(), day()),
            LineOutcome::Added
        );
        assert_eq!(fast.exact_path_lines(), 1, "then the fast path");
        let s = fast.finish();
        assert_eq!(s, exact.finish());
        let fe = [("org", "octo"), ("team", "frontend")];
        assert_eq!(s.value("copilot_team_loc_added", &fe), Some(16.0));
        assert_eq!(s.value("copilot_team_cli_session", &fe), Some(4.0));
        let ide = [("org", "octo"), ("team", "frontend"), ("ide", "vscode")];
        assert_eq!(s.value("copilot_team_loc_added_by_ide", &ide), Some(16.0));
        // Only top-level fields are switches: a nested `totals_by_ide` is
        // part of `pull_requests`.
        let nested = [("org", "octo"), ("team", "frontend"), ("ide", "nested")];
        assert_eq!(
            s.value("copilot_team_pull_requests_total_created_by_ide", &nested),
            Some(2.0)
        );
        for off in ["_by_feature", "_by_language_", "_by_model_"] {
            assert!(s.names().all(|n| !n.contains(off)), "{off}: {s:?}");
        }
        let mut none = TeamAggregator::new(directory(), &org()).with_breakdowns(Breakdowns::NONE);
        none.add_line(line.as_bytes(), day());
        let s = none.finish();
        assert!(
            s.names().all(|n| n == "copilot_team_daily_active_users"
                || n == "copilot_team_loc_added"
                || n == "copilot_team_pull_requests_total_created_by_ide"),
            "{s:?}"
        );
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

    /// Ordinal and categorical numbers, and unknown fields whose name is no
    /// amount form, never enter a team sum; amount forms do. The fast and
    /// the exact path agree.
    #[test]
    fn only_quantities_are_summed() {
        let lines: Vec<String> = [(1001, 1), (1002, 3)]
            .iter()
            .map(|(user, phase)| {
                json!({"user_id": user, "day": "2026-05-07",
                    "ai_adoption_phase": {"phase": "P", "phase_number": phase, "version": "v1"},
                    "maturity_level": 4, "tier_number": 2, "adoption_score": 0.5,
                    "review_comments_sum": 5, "agent_handoff_count": 1, "ai_credits_used": 1.5,
                    "totals_by_ai_adoption_phase": [{"phase": "Phase 1", "phase_number": 1,
                        "total_pull_requests_merged": 2, "avg_pull_requests_review_cycles": 1.5}]})
                .to_string()
            })
            .collect();
        let mut fast = TeamAggregator::new(directory(), &org());
        let mut exact = TeamAggregator::new(directory(), &org());
        for _ in 0..2 {
            for line in &lines {
                assert_eq!(fast.add_line(line.as_bytes(), day()), LineOutcome::Added);
                assert_eq!(
                    exact.add_line_slow(line.as_bytes(), day()),
                    LineOutcome::Added
                );
            }
        }
        let s = fast.finish();
        assert_eq!(s, exact.finish());
        for word in [
            "phase_number",
            "maturity",
            "tier",
            "score",
            "avg",
            "version",
        ] {
            assert!(s.names().all(|n| !n.contains(word)), "{word} summed: {s:?}");
        }
        let fe = [("org", "octo"), ("team", "frontend")];
        assert_eq!(s.value("copilot_team_review_comments", &fe), Some(20.0));
        assert_eq!(s.value("copilot_team_agent_handoff", &fe), Some(4.0));
        assert_eq!(s.value("copilot_team_ai_credits_used", &fe), Some(6.0));
        assert_eq!(
            s.value(
                "copilot_team_total_pull_requests_merged_by_ai_adoption_phase",
                &[("org", "octo"), ("team", "frontend"), ("phase", "Phase 1")]
            ),
            Some(8.0)
        );
    }
}
