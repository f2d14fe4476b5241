//! The user → teams directory of one day, from `user-teams-1-day`, and the
//! team labels.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::{object_row, Id};

/// The teams of one user: two inline, more in the directory's overflow
/// list (16 bytes a user, 24 with the key: the member table is the one
/// structure that grows with the report), plus whether the user already
/// had a row.
#[derive(Debug, Clone)]
struct Membership {
    first: [u32; 2],
    /// Index into [`TeamDirectory::overflow`], or `NONE`.
    more: u32,
    len: u8,
    seen: bool,
}

const NONE: u32 = u32::MAX;

impl Default for Membership {
    fn default() -> Self {
        Membership {
            first: [0; 2],
            more: NONE,
            len: 0,
            seen: false,
        }
    }
}

impl Membership {
    fn teams<'a>(&'a self, overflow: &'a [Vec<u32>]) -> &'a [u32] {
        match overflow.get(self.more as usize) {
            Some(all) => all,
            None => &self.first[..self.len as usize],
        }
    }

    fn add(&mut self, team: u32, overflow: &mut Vec<Vec<u32>>) {
        if self.teams(overflow).contains(&team) {
            return;
        }
        match overflow.get_mut(self.more as usize) {
            Some(all) => all.push(team),
            None if (self.len as usize) < self.first.len() => {
                self.first[self.len as usize] = team;
                self.len += 1;
            }
            None => {
                let mut all = self.first.to_vec();
                all.push(team);
                self.more = overflow.len() as u32;
                overflow.push(all);
            }
        }
    }
}

/// Which teams each user belongs to on one day, from `user-teams-1-day`.
/// Teams are identified by `team_id`; their slugs only name them.
#[derive(Debug, Clone)]
pub struct TeamDirectory {
    day: NaiveDate,
    /// By team index: `team_id` and slug.
    teams: Vec<(u64, String)>,
    by_team_id: HashMap<u64, u32>,
    members: FxHashMap<u64, Membership>,
    /// Team lists of users on more than two teams.
    overflow: Vec<Vec<u32>>,
}

impl TeamDirectory {
    /// An empty directory for `day`.
    pub fn new(day: NaiveDate) -> Self {
        TeamDirectory {
            day,
            teams: Vec::new(),
            by_team_id: HashMap::new(),
            members: FxHashMap::default(),
            overflow: Vec::new(),
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
        let raw: Raw<'_> = object_row(line, "not a user-team row")?;
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
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("team-{team}"));
        self.add(user, team, &slug);
        Ok(true)
    }

    /// Records that `user` is on team `team_id` (`slug`). Should rows give
    /// one team several slugs, the smallest (byte order) names it, whatever
    /// the row order.
    pub fn add(&mut self, user: u64, team_id: u64, slug: &str) {
        let index = match self.by_team_id.get(&team_id) {
            Some(i) => {
                let known = &mut self.teams[*i as usize].1;
                if slug < known.as_str() {
                    *known = slug.to_string();
                }
                *i
            }
            None => {
                self.teams.push((team_id, slug.to_string()));
                let i = (self.teams.len() - 1) as u32;
                self.by_team_id.insert(team_id, i);
                i
            }
        };
        self.members
            .entry(user)
            .or_default()
            .add(index, &mut self.overflow);
    }

    /// The team indices of a user (empty when on no reported team).
    pub fn teams_of(&self, user: u64) -> &[u32] {
        self.members
            .get(&user)
            .map(|m| m.teams(&self.overflow))
            .unwrap_or(&[])
    }

    /// Marks that `user` had a row; true the first time (the user then
    /// counts as active on each of their teams).
    pub(super) fn mark_seen(&mut self, user: u64) -> bool {
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

    /// The `team` label value of every team, by team index. A team is
    /// labelled with its slug; when several teams of the day share a slug
    /// (an enterprise team and an organization team, say), the one with the
    /// smallest `team_id` keeps the slug and every other one is labelled
    /// `<slug>-<team_id>` (`-<team_id>` repeated while that text is another
    /// team's label). The labels depend only on the set of (team id, slug)
    /// pairs of the day, never on the order of the rows.
    pub fn team_labels(&self) -> Vec<String> {
        let mut order: Vec<usize> = (0..self.teams.len()).collect();
        order.sort_unstable_by_key(|&i| self.teams[i].0);
        let slugs: HashSet<&str> = self.teams.iter().map(|(_, s)| s.as_str()).collect();
        let mut taken: HashSet<String> = HashSet::new();
        let mut labels = vec![String::new(); self.teams.len()];
        for &i in &order {
            let slug = &self.teams[i].1;
            if taken.insert(slug.clone()) {
                labels[i] = slug.clone();
            }
        }
        for &i in &order {
            if !labels[i].is_empty() {
                continue;
            }
            let (id, slug) = &self.teams[i];
            let mut label = format!("{slug}-{id}");
            while taken.contains(&label) || slugs.contains(label.as_str()) {
                label = format!("{label}-{id}");
            }
            taken.insert(label.clone());
            labels[i] = label;
        }
        labels
    }

    /// The label value of one team (see [`TeamDirectory::team_labels`]).
    pub fn team_label(&self, index: u32) -> String {
        self.team_labels()
            .into_iter()
            .nth(index as usize)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 7).unwrap()
    }

    #[test]
    fn directory_from_the_docs_example() {
        let mut dir = TeamDirectory::new(day());
        for line in include_str!("../../../tests/fixtures/github/usage-metrics-ndjson-org-user-teams-1-day.docs-example.ndjson").lines() {
            assert!(dir.add_line(line.as_bytes()).unwrap());
        }
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
        // Same slug, a larger team id: kept apart.
        dir.add(5, 3, "x");
        assert_eq!(dir.team_labels(), ["x", "x-3"]);
    }

    /// Labels of (team id, slug) pairs added in this order.
    fn labels_of(teams: &[(u64, &str)]) -> Vec<(u64, String)> {
        let mut dir = TeamDirectory::new(day());
        for (i, (id, slug)) in teams.iter().enumerate() {
            dir.add(i as u64, *id, slug);
        }
        let mut out: Vec<(u64, String)> = teams
            .iter()
            .map(|(id, _)| *id)
            .zip(dir.team_labels())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn slug_clashes_resolve_the_same_in_any_row_order() {
        let teams = [
            (40, "ops"),
            (12, "ops"),
            (7, "web"),
            (99, "ops-40"),
            (5, "ops-40"),
        ];
        let want = labels_of(&teams);
        assert_eq!(
            want,
            [
                (5, "ops-40".to_string()),
                (7, "web".into()),
                (12, "ops".into()),
                (40, "ops-40-40".into()),
                (99, "ops-40-99".into()),
            ]
        );
        let mut reversed = teams;
        reversed.reverse();
        assert_eq!(labels_of(&reversed), want);
        for shift in 1..teams.len() {
            let mut rotated = teams;
            rotated.rotate_left(shift);
            assert_eq!(labels_of(&rotated), want, "rotation {shift}");
        }
    }

    #[test]
    fn a_team_keeps_its_smallest_slug_whatever_the_row_order() {
        let mut a = TeamDirectory::new(day());
        a.add(1, 9, "zeta");
        a.add(2, 9, "alpha");
        let mut b = TeamDirectory::new(day());
        b.add(2, 9, "alpha");
        b.add(1, 9, "zeta");
        assert_eq!(a.team_labels(), ["alpha"]);
        assert_eq!(b.team_labels(), ["alpha"]);
    }
}
