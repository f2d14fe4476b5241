//! Which breakdowns of a per-user row become team and per-user series
//! (`TEAM_BREAKDOWNS`, `USER_BREAKDOWNS`).
//!
//! A breakdown is a top-level `totals_by_<name>` field of a `users-1-day`
//! row: the arrays `totals_by_ide[]`, `totals_by_feature[]`,
//! `totals_by_language_feature[]`, `totals_by_language_model[]`,
//! `totals_by_model_feature[]` and the object `totals_by_cli`. A breakdown
//! that is off is not walked at all: the field is skipped like bookkeeping,
//! by the fast row walker and by the exact naming rule alike, so it never
//! becomes a series (and costs no memory). A `totals_by_*` field GitHub adds
//! later is not one of these switches: it follows the naming rule like every
//! new field (drop it with `METRICS_EXCLUDE` if it is too large).
//!
//! Entity (organization / enterprise) rows always keep every breakdown:
//! they make one set of series per scope, not one per team or user.

use std::fmt;

use crate::settings::ConfigError;

/// One breakdown of a per-user row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breakdown {
    /// `totals_by_ide[]`: `…_by_ide{ide}`.
    Ide,
    /// `totals_by_feature[]`: `…_by_feature{feature}`.
    Feature,
    /// `totals_by_language_feature[]`: `…_by_language_feature{language,feature}`.
    LanguageFeature,
    /// `totals_by_language_model[]`: `…_by_language_model{language,model}`.
    LanguageModel,
    /// `totals_by_model_feature[]`: `…_by_model_feature{model,feature}`.
    ModelFeature,
    /// `totals_by_cli` (an object): `…_cli_*`.
    Cli,
}

impl Breakdown {
    /// Every breakdown, in the order of the documentation.
    pub const ALL: [Breakdown; 6] = [
        Breakdown::Ide,
        Breakdown::Feature,
        Breakdown::LanguageFeature,
        Breakdown::LanguageModel,
        Breakdown::ModelFeature,
        Breakdown::Cli,
    ];

    /// Its name in the settings (`language_feature`).
    pub fn name(self) -> &'static str {
        match self {
            Breakdown::Ide => "ide",
            Breakdown::Feature => "feature",
            Breakdown::LanguageFeature => "language_feature",
            Breakdown::LanguageModel => "language_model",
            Breakdown::ModelFeature => "model_feature",
            Breakdown::Cli => "cli",
        }
    }

    /// The row field it comes from (`totals_by_language_feature`).
    pub fn field(self) -> &'static str {
        match self {
            Breakdown::Ide => "totals_by_ide",
            Breakdown::Feature => "totals_by_feature",
            Breakdown::LanguageFeature => "totals_by_language_feature",
            Breakdown::LanguageModel => "totals_by_language_model",
            Breakdown::ModelFeature => "totals_by_model_feature",
            Breakdown::Cli => "totals_by_cli",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of breakdowns that are on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Breakdowns(u8);

impl Breakdowns {
    /// Every breakdown on (what the aggregators do unless told otherwise).
    pub const ALL: Breakdowns = Breakdowns(0b11_1111);
    /// No breakdown: totals only.
    pub const NONE: Breakdowns = Breakdowns(0);

    /// The default of `TEAM_BREAKDOWNS`: `ide,feature,cli` (about a hundred
    /// series a team; the language and model breakdowns multiply a team's
    /// series by the languages × features or models it uses).
    pub const TEAM_DEFAULT: Breakdowns =
        Breakdowns::of(&[Breakdown::Ide, Breakdown::Feature, Breakdown::Cli]);

    /// The default of `USER_BREAKDOWNS`: `ide,feature,cli`, as for teams.
    pub const USER_DEFAULT: Breakdowns =
        Breakdowns::of(&[Breakdown::Ide, Breakdown::Feature, Breakdown::Cli]);

    /// The set of `list`.
    pub const fn of(list: &[Breakdown]) -> Breakdowns {
        let mut bits = 0u8;
        let mut i = 0;
        while i < list.len() {
            bits |= 1 << (list[i] as u8);
            i += 1;
        }
        Breakdowns(bits)
    }

    /// True when `b` is on.
    pub fn contains(self, b: Breakdown) -> bool {
        self.0 & b.bit() != 0
    }

    /// True when the top-level row field `field` is a breakdown that is
    /// off: it is not walked.
    pub fn skips_field(self, field: &str) -> bool {
        self.0 != Self::ALL.0
            && field.starts_with("totals_by_")
            && Breakdown::ALL
                .iter()
                .any(|b| b.field() == field && !self.contains(*b))
    }

    /// Parses a setting: a comma-separated list of breakdown names, or
    /// `all`, or `none` (alone). Errors name `setting` and list the valid
    /// values.
    pub fn parse(setting: &'static str, raw: &str) -> Result<Breakdowns, ConfigError> {
        let valid = || {
            let names: Vec<&str> = Breakdown::ALL.iter().map(|b| b.name()).collect();
            format!("valid values: {}, or `all` or `none`", names.join(", "))
        };
        let items: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return Err(ConfigError::new(
                setting,
                format!("{setting} is empty; {}", valid()),
            ));
        }
        let mut set = Breakdowns::NONE;
        for item in &items {
            let lower = item.to_ascii_lowercase();
            match lower.as_str() {
                "all" | "none" if items.len() > 1 => {
                    return Err(ConfigError::new(
                        setting,
                        format!("{setting}: `{item}` cannot be combined with other values"),
                    ))
                }
                "all" => return Ok(Breakdowns::ALL),
                "none" => return Ok(Breakdowns::NONE),
                name => match Breakdown::ALL.iter().find(|b| b.name() == name) {
                    Some(b) => set.0 |= b.bit(),
                    None => {
                        return Err(ConfigError::new(
                            setting,
                            format!("{setting}: unknown breakdown `{item}`; {}", valid()),
                        ))
                    }
                },
            }
        }
        Ok(set)
    }
}

impl Default for Breakdowns {
    fn default() -> Self {
        Breakdowns::ALL
    }
}

impl fmt::Display for Breakdowns {
    /// `all`, `none`, or the names that are on, comma-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Breakdowns::ALL => f.write_str("all"),
            Breakdowns::NONE => f.write_str("none"),
            set => {
                let names: Vec<&str> = Breakdown::ALL
                    .iter()
                    .filter(|b| set.contains(**b))
                    .map(|b| b.name())
                    .collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

impl fmt::Debug for Breakdowns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Breakdowns({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_all_and_none() {
        let set = Breakdowns::parse("TEAM_BREAKDOWNS", " ide , Language_Feature,").unwrap();
        assert!(set.contains(Breakdown::Ide));
        assert!(set.contains(Breakdown::LanguageFeature));
        assert!(!set.contains(Breakdown::Feature));
        assert_eq!(set.to_string(), "ide,language_feature");
        assert_eq!(Breakdowns::parse("X", "all").unwrap().to_string(), "all");
        assert_eq!(Breakdowns::parse("X", "NONE").unwrap(), Breakdowns::NONE);
        let every = Breakdown::ALL.map(|b| b.name()).join(",");
        assert_eq!(Breakdowns::parse("X", &every).unwrap(), Breakdowns::ALL);
        assert_eq!(Breakdowns::TEAM_DEFAULT.to_string(), "ide,feature,cli");
    }

    #[test]
    fn unknown_or_empty_values_name_the_setting_and_the_valid_values() {
        for bad in [
            "ide,langauge",
            "",
            " , ",
            "all,ide",
            "none,cli",
            "totals_by_ide",
        ] {
            let e = Breakdowns::parse("USER_BREAKDOWNS", bad).unwrap_err();
            assert_eq!(e.setting, "USER_BREAKDOWNS", "{bad}");
            assert!(e.message.starts_with("USER_BREAKDOWNS"), "{}", e.message);
            if !bad.contains("all") && !bad.contains("none") {
                assert!(
                    e.message.contains("language_feature, language_model"),
                    "{}",
                    e.message
                );
            }
        }
    }

    #[test]
    fn only_top_level_fields_of_breakdowns_that_are_off_are_skipped() {
        let set = Breakdowns::of(&[Breakdown::Ide]);
        assert!(!set.skips_field("totals_by_ide"));
        assert!(set.skips_field("totals_by_feature"));
        assert!(set.skips_field("totals_by_cli"));
        assert!(set.skips_field("totals_by_language_model"));
        // Not a switch: unknown breakdowns and other fields.
        assert!(!set.skips_field("totals_by_ai_adoption_phase"));
        assert!(!set.skips_field("loc_added_sum"));
        assert!(!set.skips_field("totals_by_idea"));
        assert!(!Breakdowns::ALL.skips_field("totals_by_feature"));
        assert!(Breakdowns::NONE.skips_field("totals_by_ide"));
    }
}
