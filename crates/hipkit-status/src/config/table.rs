//! Typed reads of one reporter table, with Buildbot's wording for each type error.

use super::error::ConfigProblem;
use crate::generator::{Filters, Generator, Modes};
use crate::template::Template;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The generator keys every reporter table accepts beside its own.
pub const GENERATOR_KEYS: [&str; 6] = [
    "mode",
    "builders",
    "tags",
    "schedulers",
    "branches",
    "report_new",
];

/// One `[[reporters.KIND]]` table.
pub struct Table<'a>(pub &'a Map<String, Value>);

fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

impl Table<'_> {
    /// Refuses keys outside `known` and the generator keys, suggesting the key meant
    /// (Buildbot's `wantProperties` is `want_properties`).
    pub fn only(&self, known: &[&'static str]) -> Result<(), ConfigProblem> {
        let all: Vec<&'static str> = known.iter().chain(&GENERATOR_KEYS).copied().collect();
        match self.0.keys().find(|k| !all.contains(&k.as_str())) {
            Some(key) => Err(ConfigProblem::Unknown(
                key.clone(),
                hipchat::did_you_mean(key, &all),
            )),
            None => Ok(()),
        }
    }

    /// The raw value of `key`, if set.
    pub fn value(&self, key: &str) -> Option<&Value> {
        present(self.0, key)
    }

    /// A string.
    pub fn string(&self, key: &str) -> Result<Option<String>, ConfigProblem> {
        match present(self.0, key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ConfigProblem::NotString(key.to_owned())),
        }
    }

    /// A boolean, `default` when absent.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, ConfigProblem> {
        match present(self.0, key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ConfigProblem::NotBool(key.to_owned())),
        }
    }

    /// A table of strings (integers, such as room ids, taken as their digits).
    pub fn string_dict(&self, key: &str) -> Result<BTreeMap<String, String>, ConfigProblem> {
        let Some(value) = present(self.0, key) else {
            return Ok(BTreeMap::new());
        };
        let Value::Object(map) = value else {
            return Err(ConfigProblem::NotDict(key.to_owned()));
        };
        map.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok((k.clone(), n.to_string())),
                _ => Err(ConfigProblem::NotString(format!("{key}.{k}"))),
            })
            .collect()
    }

    /// A table kept as JSON.
    pub fn dict(&self, key: &str) -> Result<Map<String, Value>, ConfigProblem> {
        match present(self.0, key) {
            None => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(_) => Err(ConfigProblem::NotDict(key.to_owned())),
        }
    }

    /// A list of strings, or absent.
    pub fn list(&self, key: &str) -> Result<Option<Vec<String>>, ConfigProblem> {
        let not_list = || ConfigProblem::NotList(key.to_owned());
        match present(self.0, key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(not_list))
                .collect::<Result<_, _>>()
                .map(Some),
            Some(_) => Err(not_list()),
        }
    }

    /// A template, compiled.
    pub fn template(&self, key: &str) -> Result<Option<Template>, ConfigProblem> {
        self.string(key)?
            .map(|source| compile(key, &source))
            .transpose()
    }

    /// The generator keys, with the reporter's own defaults for `mode` and `report_new`.
    pub fn generator(
        &self,
        default_modes: Modes,
        default_report_new: bool,
    ) -> Result<Generator, ConfigProblem> {
        let modes = match present(self.0, "mode") {
            None => default_modes,
            Some(Value::String(name)) => Modes::from_name(name)?,
            Some(Value::Array(items)) => {
                let names: Vec<&str> = items
                    .iter()
                    .map(|v| v.as_str().ok_or(ConfigProblem::ModeType))
                    .collect::<Result<_, _>>()?;
                Modes::from_list(&names)?
            }
            Some(_) => return Err(ConfigProblem::ModeType),
        };
        let filters = Filters {
            builders: self.list("builders")?,
            tags: self.list("tags")?,
            schedulers: self.list("schedulers")?,
            branches: self.list("branches")?,
        };
        if filters.builders.is_some() && filters.tags.is_some() {
            return Err(ConfigProblem::BuildersAndTags);
        }
        Ok(Generator {
            modes,
            filters,
            report_new: self.flag("report_new", default_report_new)?,
        })
    }
}

/// Compiles a template found under `key`.
pub fn compile(key: &str, source: &str) -> Result<Template, ConfigProblem> {
    Template::compile(source).map_err(|source| ConfigProblem::Template {
        key: key.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;
    use serde_json::json;

    fn table(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("tests pass objects"),
        }
    }

    fn generator_error(v: Value) -> String {
        Table(&table(v))
            .generator(Modes::Every, true)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn generator_keys_and_buildbots_errors() {
        let g = Table(&table(
            json!({"mode": ["change", "failing"], "branches": ["main"],
            "report_new": false}),
        ))
        .generator(Modes::Every, true)
        .unwrap();
        assert_eq!(g.modes, Modes::Any(vec![Mode::Change, Mode::Failing]));
        assert_eq!(g.filters.branches, Some(vec!["main".to_owned()]));
        assert!(!g.report_new);
        let defaults = Table(&Map::new()).generator(Modes::Every, true).unwrap();
        assert_eq!((defaults.modes, defaults.report_new), (Modes::Every, true));
        assert_eq!(
            generator_error(json!({"mode": "often"})),
            "mode often is not a valid mode"
        );
        assert_eq!(
            generator_error(json!({"mode": ["all"]})),
            "mode 'all' is not valid in an iterator and must be passed in as a separate string"
        );
        assert_eq!(
            generator_error(json!({"mode": 3})),
            "mode must be a list or None (or one mode name as a string)"
        );
        for key in ["builders", "tags", "schedulers", "branches"] {
            assert_eq!(
                generator_error(json!({ key: "x" })),
                format!("{key} must be a list or None")
            );
        }
        assert_eq!(
            generator_error(json!({"builders": ["a"], "tags": ["b"]})),
            "Please specify only builders or tags to include - not both."
        );
        assert_eq!(
            generator_error(json!({"report_new": "yes"})),
            "report_new must be a boolean"
        );
    }

    #[test]
    fn value_reads() {
        let m = table(json!({"s": "x", "n": 5, "map": {"a": "1", "b": 2}, "bad": {"a": []}}));
        let t = Table(&m);
        assert_eq!(t.string("s").unwrap().as_deref(), Some("x"));
        assert_eq!(t.string("n").unwrap_err().to_string(), "n must be a string");
        let map = t.string_dict("map").unwrap();
        assert_eq!(map["b"], "2", "room ids may be integers");
        assert_eq!(
            t.string_dict("s").unwrap_err().to_string(),
            "s must be a dict"
        );
        assert_eq!(
            t.string_dict("bad").unwrap_err().to_string(),
            "bad.a must be a string"
        );
        assert_eq!(
            t.only(&["s", "n", "map"]).unwrap_err().to_string(),
            "unknown key `bad`"
        );
    }
}
