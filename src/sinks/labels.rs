//! Label names the sinks own: external labels (`EXTERNAL_LABELS`, like
//! Prometheus' `external_labels`) and the names a receiver reserves.
//!
//! A data label named `job` or `instance`, after an external label, or
//! starting with `__` becomes `exported_<name>` (Prometheus' own rule for
//! scraped label clashes), once, before the data reaches the store: so
//! `/metrics`, the Pushgateway and remote-write all show the same series
//! and no report field can make a receiver refuse a group. (A data label
//! named after the series' own scope label, `org` or `enterprise`, is
//! already renamed so by the naming rule.)

use crate::model::{SampleSet, ScopeData, SeriesKey, SeriesRef};
use crate::settings::ConfigError;

/// The setting that holds the external labels.
pub const SETTING: &str = "EXTERNAL_LABELS";

/// Label names no external label may take: the scope labels and the
/// Pushgateway's `job`.
const RESERVED: &[&str] = &["org", "enterprise", "job"];

/// Label names a receiver owns besides the external ones: Prometheus sets
/// `job` and `instance` on scrape, the Pushgateway's grouping key has `job`.
const OWNED: &[&str] = &["job", "instance"];

/// `EXTERNAL_LABELS`: `name=value` pairs put on every remote-written series
/// and into every Pushgateway grouping key (not on `/metrics`: the
/// Prometheus that scrapes it adds its own external labels).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalLabels(Vec<(String, String)>);

impl ExternalLabels {
    /// Parses `name=value,name2=value2`. Errors name [`SETTING`]: a name
    /// that is not `[a-zA-Z_][a-zA-Z0-9_]*`, starts with `__`, is a scope
    /// label (`org`, `enterprise`) or `job`, or is given twice; an empty
    /// value (Prometheus reads it as no label).
    pub fn parse(raw: &str) -> Result<ExternalLabels, ConfigError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((name, value)) = item.split_once('=') else {
                return Err(ConfigError::new(
                    SETTING,
                    format!("`{}` is not name=value", item.escape_debug()),
                ));
            };
            let (name, value) = (name.trim(), value.trim());
            if !is_label_name(name) || name.starts_with("__") {
                return Err(ConfigError::new(
                    SETTING,
                    format!(
                        "`{}` is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)",
                        name.escape_debug()
                    ),
                ));
            }
            if RESERVED.contains(&name) {
                return Err(ConfigError::new(
                    SETTING,
                    format!(
                        "`{name}` is taken: org and enterprise are the scope labels, job is \
                         PUSHGATEWAY_JOB's; choose another name (e.g. cluster)"
                    ),
                ));
            }
            if value.is_empty() {
                return Err(ConfigError::new(
                    SETTING,
                    format!("`{name}` has an empty value"),
                ));
            }
            if pairs.iter().any(|(n, _)| n == name) {
                return Err(ConfigError::new(
                    SETTING,
                    format!("`{name}` is given twice"),
                ));
            }
            pairs.push((name.to_string(), value.to_string()));
        }
        Ok(ExternalLabels(pairs))
    }

    /// The pairs, in the configured order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// True when no external label is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a data label called `name` must become `exported_<name>`.
    pub fn owns(&self, name: &str) -> bool {
        name.starts_with("__") || OWNED.contains(&name) || self.0.iter().any(|(n, _)| n == name)
    }

    /// `data` with every label a receiver owns ([`ExternalLabels::owns`])
    /// renamed to `exported_<name>` (repeated while taken). Sets without
    /// such a label are kept as they are, without a copy.
    pub fn protect(&self, mut data: ScopeData) -> ScopeData {
        for set in data.days.values_mut() {
            self.protect_set(set);
        }
        self.protect_set(&mut data.current);
        data
    }

    fn protect_set(&self, set: &mut SampleSet) {
        let needs = |key: &SeriesRef<'_>| key.labels().any(|(n, _)| self.owns(n));
        if !set.iter().any(|(key, _)| needs(&key)) {
            return;
        }
        let mut renamed = SampleSet::new();
        for (key, value) in set.iter() {
            let help = key.help().unwrap_or_default();
            if !needs(&key) {
                let labels = renamed.intern_labels(key.labels());
                renamed.insert_in(key.name(), labels, value, help);
                continue;
            }
            let mut labels: Vec<(String, String)> = Vec::with_capacity(key.labels().len());
            for (name, value) in key.labels() {
                let mut name = name.to_string();
                if self.owns(&name) {
                    name = format!("exported_{name}");
                    while key.labels().any(|(n, _)| *n == name) {
                        name = format!("exported_{name}");
                    }
                }
                labels.push((name, value.to_string()));
            }
            renamed.insert(SeriesKey::new(key.name(), labels), value, help);
        }
        *set = renamed;
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scope::Scope;

    #[test]
    fn external_labels_parse_and_name_the_setting() {
        let l = ExternalLabels::parse(" cluster=eu-1 , environment = prod,").unwrap();
        assert_eq!(
            l.pairs().collect::<Vec<_>>(),
            [("cluster", "eu-1"), ("environment", "prod")]
        );
        assert!(ExternalLabels::parse("").unwrap().is_empty());
        for bad in [
            "org=x",
            "enterprise=y",
            "job=j",
            "__x=1",
            "1abc=2",
            "a-b=1",
            "noequals",
            "a=",
            "a=1,a=2",
        ] {
            let e = ExternalLabels::parse(bad).unwrap_err();
            assert_eq!(e.setting, SETTING, "{bad}");
            assert!(e.to_string().starts_with("EXTERNAL_LABELS"), "{e}");
        }
    }

    #[test]
    fn labels_a_receiver_owns_become_exported() {
        let l = ExternalLabels::parse("cluster=eu").unwrap();
        let mut data = ScopeData::new(Scope::org("o"));
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        let mut set = SampleSet::new();
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        set.insert(
            SeriesKey::new(
                "copilot_a",
                labels(&[
                    ("org", "o"),
                    ("job", "j"),
                    ("instance", "i"),
                    ("cluster", "c"),
                    ("exported_job", "taken"),
                    ("__x", "y"),
                ]),
            ),
            1.0,
            "A.",
        );
        set.insert(
            SeriesKey::new("copilot_b", labels(&[("org", "o")])),
            2.0,
            "B.",
        );
        data.days.insert(day, set);
        let data = l.protect(data);
        let set = &data.days[&day];
        assert_eq!(
            set.value(
                "copilot_a",
                &[
                    ("org", "o"),
                    ("exported_exported_job", "j"),
                    ("exported_instance", "i"),
                    ("exported_cluster", "c"),
                    ("exported_job", "taken"),
                    ("exported___x", "y"),
                ]
            ),
            Some(1.0)
        );
        assert_eq!(set.value("copilot_b", &[("org", "o")]), Some(2.0));
        assert_eq!(set.help("copilot_a"), Some("A."));
    }
}
