//! Which report metrics are exported (`METRICS_INCLUDE`, `METRICS_EXCLUDE`).
//!
//! Both are regular expressions (the `regex` crate's syntax, RE2-like) on the
//! metric name, **fully anchored** like Prometheus relabelling regexes:
//! `copilot_team_.*_by_ide` matches the whole name, never a part of it.
//! A name is exported when it matches the include pattern (or none is set)
//! and does not match the exclude pattern: exclude wins.
//!
//! The filter applies to report data only (`copilot_*` series of a scope,
//! seats included), when a scope's data is produced, so no sink and not the
//! snapshot store ever holds an excluded series. It never applies to:
//! - the exporter's own metrics (`copilot_exporter_*`, `process_*`): they
//!   are not report data and the shipped alerts need them;
//! - [`REPORT_DAY_METRIC`]: it says which report day the values belong to;
//!   the dashboard, the stale-report-day alert and remote-write's day
//!   stamps rely on it, so no pattern can remove it by accident.

use regex::Regex;

use crate::model::{SampleSet, ScopeData};
use crate::report::naming::REPORT_DAY_METRIC;
use crate::settings::ConfigError;

/// The include/exclude rule on metric names.
#[derive(Clone, Debug, Default)]
pub struct MetricFilter {
    include: Option<Regex>,
    exclude: Option<Regex>,
}

/// An anchored regular expression from `setting`; `None` when the value is
/// empty or unset.
fn anchored(setting: &'static str, raw: Option<&str>) -> Result<Option<Regex>, ConfigError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    let invalid = |e: regex::Error| {
        ConfigError::new(
            setting,
            format!("{setting}: `{raw}` is not a valid regular expression: {e}"),
        )
    };
    // Checked alone first, so a pattern cannot close the anchoring group
    // (`a)|(b`) and match a part of a name.
    Regex::new(raw).map_err(invalid)?;
    Regex::new(&format!("^(?:{raw})$"))
        .map(Some)
        .map_err(invalid)
}

impl MetricFilter {
    /// The filter of `METRICS_INCLUDE` (`include`) and `METRICS_EXCLUDE`
    /// (`exclude`); empty values mean unset. An invalid pattern is a
    /// [`ConfigError`] naming its setting.
    pub fn new(include: Option<&str>, exclude: Option<&str>) -> Result<MetricFilter, ConfigError> {
        Ok(MetricFilter {
            include: anchored("METRICS_INCLUDE", include)?,
            exclude: anchored("METRICS_EXCLUDE", exclude)?,
        })
    }

    /// True when neither pattern is set: everything is exported.
    pub fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// Whether the report metric `name` is exported. [`REPORT_DAY_METRIC`]
    /// always is.
    pub fn allows(&self, name: &str) -> bool {
        if name == REPORT_DAY_METRIC {
            return true;
        }
        if self.exclude.as_ref().is_some_and(|re| re.is_match(name)) {
            return false;
        }
        self.include.as_ref().is_none_or(|re| re.is_match(name))
    }

    /// True when the patterns would have removed [`REPORT_DAY_METRIC`],
    /// which is kept anyway (worth a note at start-up).
    pub fn spares_report_day(&self) -> bool {
        self.exclude
            .as_ref()
            .is_some_and(|re| re.is_match(REPORT_DAY_METRIC))
            || self
                .include
                .as_ref()
                .is_some_and(|re| !re.is_match(REPORT_DAY_METRIC))
    }

    /// Drops the series of `set` that are not exported; returns how many.
    pub fn apply(&self, set: &mut SampleSet) -> usize {
        self.apply_counting(set).0
    }

    /// [`MetricFilter::apply`], plus how many report metric names (not
    /// [`REPORT_DAY_METRIC`]) it kept.
    fn apply_counting(&self, set: &mut SampleSet) -> (usize, usize) {
        if self.is_empty() {
            return (0, 0);
        }
        let mut kept = 0;
        let dropped = set.retain_names(|name| {
            let keep = self.allows(name);
            kept += usize::from(keep && name != REPORT_DAY_METRIC);
            keep
        });
        (dropped, kept)
    }

    /// Drops the series of every day and the current values of `data`
    /// that are not exported; returns how many. When the patterns drop
    /// report metrics and keep none, says so (a warning): an anchored
    /// pattern like `loc_added` silently matching nothing is the usual
    /// mistake.
    pub fn apply_to_scope(&self, data: &mut ScopeData) -> usize {
        let (mut dropped, mut kept) = self.apply_counting(&mut data.current);
        for set in data.days.values_mut() {
            let (d, k) = self.apply_counting(set);
            dropped += d;
            kept += k;
        }
        if dropped > 0 && kept == 0 {
            tracing::warn!(
                scope = %data.scope,
                dropped,
                "METRICS_INCLUDE/METRICS_EXCLUDE leave no report metric of this scope: \
                 the patterns match whole metric names (`copilot_team_.*`, not `team`); \
                 check them against copilot_exporter_series or an unfiltered run"
            );
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeriesKey;

    fn filter(include: &str, exclude: &str) -> MetricFilter {
        MetricFilter::new(Some(include), Some(exclude)).unwrap()
    }

    #[test]
    fn a_pattern_keeping_no_report_metric_is_told_apart() {
        let mut set = SampleSet::new();
        set.insert(SeriesKey::new("copilot_loc_added", vec![]), 1.0, "h");
        set.insert(SeriesKey::new(REPORT_DAY_METRIC, vec![]), 0.0, "d");
        // `loc_added` is anchored: it matches no name here, only the report
        // day stays, and that is what the warning is about.
        assert_eq!(
            filter("loc_added", "").apply_counting(&mut set.clone()),
            (1, 0)
        );
        assert_eq!(
            filter("copilot_loc_.*", "").apply_counting(&mut set),
            (0, 1)
        );
    }

    #[test]
    fn patterns_are_anchored_and_exclude_wins() {
        let f = filter(
            "copilot_team_.*|copilot_daily_active_users",
            ".*_by_language_.*",
        );
        assert!(f.allows("copilot_team_loc_added"));
        assert!(f.allows("copilot_daily_active_users"));
        assert!(
            !f.allows("copilot_team_loc_added_by_language_feature"),
            "exclude wins"
        );
        // Anchored: a pattern matches the whole name, not a part of it.
        assert!(!f.allows("copilot_daily_active_users_x"));
        assert!(!f.allows("x_copilot_team_loc_added"));
        let f = filter("", "loc_added");
        assert!(f.allows("copilot_loc_added"), "no substring match");
        assert!(!filter("", "copilot_loc_added").allows("copilot_loc_added"));
        // `a|b` is anchored as a whole, not as `^a|b$`.
        let f = filter("copilot_a|copilot_b", "");
        assert!(!f.allows("copilot_ab"));
        assert!(!f.allows("xcopilot_b"));
        assert!(f.allows("copilot_b"));
    }

    #[test]
    fn unset_or_empty_patterns_export_everything() {
        let f = MetricFilter::new(None, Some("  ")).unwrap();
        assert!(f.is_empty());
        assert!(f.allows("copilot_anything"));
        let mut set = SampleSet::new();
        set.insert(SeriesKey::new("copilot_x", vec![]), 1.0, "h");
        assert_eq!(f.apply(&mut set), 0);
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn the_report_day_is_never_removed() {
        for f in [
            filter("", ".*"),
            filter("copilot_team_.*", ""),
            filter("x", "copilot_.*"),
        ] {
            assert!(f.allows(REPORT_DAY_METRIC));
            assert!(f.spares_report_day());
        }
        assert!(!filter("copilot_.*", "copilot_team_.*").spares_report_day());
    }

    #[test]
    fn invalid_patterns_name_their_setting() {
        let e = MetricFilter::new(Some("copilot_(team"), None).unwrap_err();
        assert_eq!(e.setting, "METRICS_INCLUDE");
        assert!(e.message.starts_with("METRICS_INCLUDE"), "{}", e.message);
        assert!(e.message.contains("copilot_(team"), "{}", e.message);
        let e = MetricFilter::new(Some("ok"), Some("[z-a]")).unwrap_err();
        assert_eq!(e.setting, "METRICS_EXCLUDE");
        // A pattern that closes the anchoring group early is refused too.
        assert!(MetricFilter::new(Some("a)|(b"), None).is_err());
    }

    #[test]
    fn sets_and_scopes_lose_what_is_not_exported() {
        let org = || vec![("org".to_string(), "o".to_string())];
        let mut set = SampleSet::new();
        for (name, n) in [("copilot_a", 3), ("copilot_b_by_ide", 2), ("copilot_c", 1)] {
            for i in 0..n {
                let mut labels = org();
                labels.push(("i".into(), i.to_string()));
                set.insert(SeriesKey::new(name, labels), 1.0, "h");
            }
        }
        set.set(SeriesKey::new(REPORT_DAY_METRIC, org()), 0.0, "d");
        let f = filter("", ".*_by_ide|copilot_c|copilot_report_day_.*");
        let mut data = ScopeData::new(crate::model::scope::Scope::org("o"));
        data.days.insert(chrono::NaiveDate::MIN, set.clone());
        data.current = set.clone();
        assert_eq!(f.apply(&mut set), 3);
        let names: Vec<&str> = set.names().collect();
        assert_eq!(names, ["copilot_a", REPORT_DAY_METRIC]);
        assert_eq!(set.len(), 4);
        assert_eq!(f.apply_to_scope(&mut data), 6);
        assert_eq!(data.current, set);
    }
}
