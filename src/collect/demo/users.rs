//! The demo's people: who is active on a day and what they did, as activity
//! cells (IDE × feature × language × model). A users-1-day row and every
//! entity figure (day totals, each `totals_by_*` breakdown, active-user
//! counts) are sums or distinct counts of these cells, so they agree the
//! way GitHub's reports do.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::data::{
    id_field, is_active, login, on_call, scope_id, seed, Rng, IDES, LANGUAGES, MODELS,
};
use crate::model::scope::Scope;

/// The additive activity fields, in the order of [`Cell::counts`].
pub(super) const FIELDS: [&str; 7] = [
    "code_generation_activity_count",
    "code_acceptance_activity_count",
    "user_initiated_interaction_count",
    "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum",
    "loc_added_sum",
    "loc_deleted_sum",
];
/// Features of IDE activity (CLI use is reported in `totals_by_cli`).
pub(super) const FEATURES: &[&str] = &[
    "code_completion",
    "agent_edit",
    "chat_panel_ask_mode",
    "chat_panel_agent_mode",
];

/// One user's activity in one IDE, feature, language and model.
#[derive(Clone, Debug)]
pub(super) struct Cell {
    pub ide: &'static str,
    pub feature: &'static str,
    pub language: &'static str,
    pub model: &'static str,
    /// Values of [`FIELDS`].
    pub counts: [u64; 7],
}

/// One user's Copilot CLI use on a day.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Cli {
    pub sessions: u64,
    pub requests: u64,
    pub prompts: u64,
    pub output_tokens: u64,
    pub prompt_tokens: u64,
}

impl Cli {
    pub fn add(&mut self, o: &Cli) {
        self.sessions += o.sessions;
        self.requests += o.requests;
        self.prompts += o.prompts;
        self.output_tokens += o.output_tokens;
        self.prompt_tokens += o.prompt_tokens;
    }

    /// `totals_by_cli` (GitHub's average: tokens per request).
    pub fn json(&self) -> Value {
        let mut usage = json!({"output_tokens_sum": self.output_tokens, "prompt_tokens_sum": self.prompt_tokens});
        if self.requests > 0 {
            usage["avg_tokens_per_request"] =
                json!((self.output_tokens + self.prompt_tokens) as f64 / self.requests as f64);
        }
        json!({"session_count": self.sessions, "request_count": self.requests,
            "prompt_count": self.prompts, "token_usage": usage})
    }
}

/// What one user did on one day.
#[derive(Clone, Debug)]
pub(super) struct UserDay {
    pub user: u64,
    pub cells: Vec<Cell>,
    pub cli: Option<Cli>,
    /// Used Copilot code review that day.
    pub code_review: bool,
}

impl UserDay {
    pub fn used_agent(&self) -> bool {
        self.cells
            .iter()
            .any(|c| matches!(c.feature, "agent_edit" | "chat_panel_agent_mode"))
    }
    pub fn used_chat(&self) -> bool {
        self.cells.iter().any(|c| c.feature.starts_with("chat_"))
    }
}

fn cell(rng: &mut Rng, ide: &'static str, feature: &'static str) -> Cell {
    let language = LANGUAGES[rng.below(LANGUAGES.len() as u64) as usize];
    let model = MODELS[rng.below(MODELS.len() as u64) as usize];
    let completion = feature == "code_completion";
    let generated = if completion {
        5 + rng.below(40)
    } else {
        1 + rng.below(12)
    };
    let accepted = generated * (20 + rng.below(30)) / 100;
    let interactions = if completion { 0 } else { 1 + rng.below(10) };
    let suggested = generated * (3 + rng.below(4));
    let added = suggested * (15 + rng.below(30)) / 100;
    Cell {
        ide,
        feature,
        language,
        model,
        counts: [
            generated,
            accepted,
            interactions,
            suggested,
            suggested / 10,
            added,
            added / 8,
        ],
    }
}

/// User `i`'s activity on `day` (`None`: not active, no row).
pub(super) fn user_day(i: u64, day: NaiveDate) -> Option<UserDay> {
    if !is_active(i, day) {
        return None;
    }
    let mut rng = Rng::new(seed(&format!("user/{i}/{day}")));
    let ide = IDES[(i % IDES.len() as u64) as usize];
    let mut cells = vec![cell(&mut rng, ide, "code_completion")];
    // Some users never chat, some never use agents.
    let chats = i % 4 != 3;
    let agents = i % 3 != 0;
    for feature in &FEATURES[1..] {
        let allowed = if feature.contains("agent") {
            agents
        } else {
            chats
        };
        if allowed && rng.below(2) == 0 {
            cells.push(cell(&mut rng, ide, feature));
        }
    }
    if rng.below(4) == 0 {
        // A second IDE now and then.
        let other = IDES[((i + 1) % IDES.len() as u64) as usize];
        cells.push(cell(&mut rng, other, "code_completion"));
    }
    let cli = (rng.below(3) == 0 || on_call(i, day)).then(|| {
        let requests = 1 + rng.below(20);
        Cli {
            sessions: 1 + rng.below(4),
            requests,
            prompts: 1 + rng.below(requests),
            output_tokens: requests * (1000 + rng.below(2000)),
            prompt_tokens: requests * (800 + rng.below(1500)),
        }
    });
    Some(UserDay {
        user: i,
        cells,
        cli,
        code_review: rng.below(5) == 0,
    })
}

/// Sums of [`FIELDS`] over `cells`, as a JSON object.
pub(super) fn sums<'a>(cells: impl IntoIterator<Item = &'a Cell>) -> Map<String, Value> {
    let mut total = [0u64; 7];
    for c in cells {
        for (t, v) in total.iter_mut().zip(c.counts) {
            *t += v;
        }
    }
    FIELDS
        .iter()
        .zip(total)
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

/// One breakdown: the cells grouped by the labels `key` gives, each group
/// summed, with the labels as fields.
pub(super) fn breakdown<'a>(
    cells: &[&'a Cell],
    key: impl Fn(&Cell) -> Vec<(&'static str, &'static str)>,
) -> Vec<Value> {
    let mut groups: BTreeMap<Vec<(&str, &str)>, Vec<&'a Cell>> = BTreeMap::new();
    for c in cells {
        groups.entry(key(c)).or_default().push(c);
    }
    groups
        .into_iter()
        .map(|(labels, group)| {
            let mut row = sums(group);
            for (k, v) in labels {
                row.insert(k.into(), json!(v));
            }
            Value::Object(row)
        })
        .collect()
}

/// The five `totals_by_*` activity breakdowns of `cells`, plus their total.
pub(super) fn activity_json(cells: &[&Cell]) -> Map<String, Value> {
    let mut out = sums(cells.iter().copied());
    let by: [(&str, Vec<Value>); 5] = [
        ("totals_by_ide", breakdown(cells, |c| vec![("ide", c.ide)])),
        (
            "totals_by_feature",
            breakdown(cells, |c| vec![("feature", c.feature)]),
        ),
        (
            "totals_by_language_feature",
            breakdown(cells, |c| {
                vec![("language", c.language), ("feature", c.feature)]
            }),
        ),
        (
            "totals_by_language_model",
            breakdown(cells, |c| {
                vec![("language", c.language), ("model", c.model)]
            }),
        ),
        (
            "totals_by_model_feature",
            breakdown(cells, |c| vec![("model", c.model), ("feature", c.feature)]),
        ),
    ];
    for (name, rows) in by {
        out.insert(name.into(), Value::Array(rows));
    }
    out
}

/// The users-1-day row of one user's day in `scope`.
pub(super) fn user_row(scope: &Scope, day: NaiveDate, u: &UserDay) -> Value {
    let cells: Vec<&Cell> = u.cells.iter().collect();
    let mut row = activity_json(&cells);
    if let Some(Value::Array(ides)) = row.get_mut("totals_by_ide") {
        for ide in ides {
            ide["last_known_ide_version"] =
                json!({"ide_version": "1.99.0", "sampled_at": format!("{day}T09:00:00.000Z")});
        }
    }
    let mut row = Value::Object(row);
    row["day"] = json!(day.to_string());
    row["user_id"] = json!(5000 + u.user);
    row["user_login"] = json!(login(u.user));
    row["used_agent"] = json!(u.used_agent());
    row["used_chat"] = json!(u.used_chat());
    row["used_cli"] = json!(u.cli.is_some());
    row["etl_id"] = json!("demo");
    if let Some(cli) = &u.cli {
        row["totals_by_cli"] = cli.json();
    }
    row[id_field(scope)] = json!(scope_id(scope));
    row
}
