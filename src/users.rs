//! Per-user metrics (`USER_METRICS=login|hashed`): `users-1-day` rows of the
//! newest day as `copilot_user_<f'>{…, user}` by the core naming rule.
//!
//! The `user` label is the login, or the first 16 hex characters of
//! SHA-256(salt ‖ login): stable across runs for one salt, not reversible
//! without it. At most `USER_METRICS_MAX` users are exported (in report
//! order); the rest are counted as dropped. Several rows of one user (an
//! enterprise report with one row per organization) are summed.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::UserMetricsMode;
use crate::mapping::{map_object, push_label};
use crate::model::{Labels, SampleSet};
use crate::secret::Secret;
use crate::teams::SumSet;

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
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Collects per-user series for one day.
#[derive(Debug)]
pub struct UserAggregator {
    scope_labels: Labels,
    mode: UserMetricsMode,
    salt: Option<Secret>,
    max: usize,
    kept: HashMap<String, ()>,
    dropped: HashSet<String>,
    sums: SumSet,
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
        UserAggregator {
            scope_labels: scope_labels.clone(),
            mode,
            salt,
            max,
            kept: HashMap::new(),
            dropped: HashSet::new(),
            sums: SumSet::new(),
        }
    }

    /// The `user` label value of a login (`None` when per-user metrics are off).
    pub fn label_for(&self, login: &str) -> Option<String> {
        match self.mode {
            UserMetricsMode::Off => None,
            UserMetricsMode::Login => Some(login.to_string()),
            UserMetricsMode::Hashed => Some(hash_user(
                self.salt.as_ref().unwrap_or(&Secret::new("")),
                login,
            )),
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
        if !self.kept.contains_key(&user) {
            if self.kept.len() >= self.max {
                self.dropped.insert(user);
                return false;
            }
            self.kept.insert(user.clone(), ());
        }
        let mut labels = self.scope_labels.clone();
        push_label(&mut labels, USER_LABEL, &user);
        let mut values = SampleSet::new();
        map_object(USER_PREFIX, &labels, row, &mut values);
        self.sums.add_all(&values);
        true
    }

    /// Users exported so far.
    pub fn users(&self) -> usize {
        self.kept.len()
    }

    /// The series and the number of distinct users dropped by the cap.
    pub fn finish(self) -> (SampleSet, u64) {
        (self.sums.into_samples(), self.dropped.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn org() -> Labels {
        vec![("org".into(), "octo".into())]
    }

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn hashes_are_stable_salted_and_short() {
        let a = hash_user(&Secret::new("salt"), "octocat");
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, hash_user(&Secret::new("salt"), "octocat"));
        assert_ne!(a, hash_user(&Secret::new("pepper"), "octocat"));
        // SHA-256("saltoctocat"), independently: first 8 bytes.
        let digest = Sha256::digest(b"saltoctocat");
        assert_eq!(
            a,
            format!(
                "{:016x}",
                u64::from_be_bytes(digest[..8].try_into().unwrap())
            )
        );
    }

    #[test]
    fn users_from_the_docs_example_row() {
        let rows: Vec<Value> = serde_json::from_str(include_str!(
            "../tests/fixtures/github/usage-metrics-ndjson-users-1-day.docs-example.json"
        ))
        .unwrap();
        let mut agg = UserAggregator::new(&org(), UserMetricsMode::Login, None, 10);
        assert!(agg.add_row(rows[0].as_object().unwrap()));
        let (s, dropped) = agg.finish();
        assert_eq!(dropped, 0);
        let u = [("org", "octo"), ("user", "login1")];
        assert_eq!(s.value("copilot_user_loc_added", &u), Some(8.0));
        assert_eq!(s.value("copilot_user_cli_session", &u), Some(2.0));
        assert_eq!(
            s.value(
                "copilot_user_code_acceptance_activity_by_ide",
                &[("org", "octo"), ("user", "login1"), ("ide", "vscode")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn cap_drops_and_counts_distinct_users() {
        let mut agg = UserAggregator::new(&org(), UserMetricsMode::Login, None, 2);
        for login in ["a", "b", "c", "a", "d", "c"] {
            agg.add_row(&row(json!({"user_login": login, "loc_added_sum": 1})));
        }
        let (s, dropped) = agg.finish();
        assert_eq!(dropped, 2);
        assert_eq!(
            s.value("copilot_user_loc_added", &[("org", "octo"), ("user", "a")]),
            Some(2.0)
        );
        assert_eq!(
            s.value("copilot_user_loc_added", &[("org", "octo"), ("user", "c")]),
            None
        );
    }

    #[test]
    fn hashed_mode_never_shows_the_login() {
        let mut agg = UserAggregator::new(
            &org(),
            UserMetricsMode::Hashed,
            Some(Secret::new("s3cret")),
            10,
        );
        agg.add_row(&row(
            json!({"user_login": "octocat", "user_id": 1, "loc_added_sum": 1}),
        ));
        assert!(
            !agg.add_row(&row(json!({"loc_added_sum": 1}))),
            "no identity"
        );
        let (s, _) = agg.finish();
        let (key, _) = s.iter().next().unwrap();
        assert_eq!(
            key.label("user"),
            Some(hash_user(&Secret::new("s3cret"), "octocat").as_str())
        );
        assert!(!format!("{s:?}").contains("octocat"));
    }
}
