//! The sources hipkit adds to figment's file: the `HIPKIT_*__*` environment, the documented
//! environment names, and the command line.
//!
//! Environment values are kept as text (`HIPKIT_LOG__ROOM=1234` is the room named "1234",
//! `000123` keeps its zeros); the settings are extracted lossily, so a number or boolean
//! field still reads `"16"` or `"true"`. Only a value written as a TOML-like list or table
//! (`[a, b]`, `{k = v}`) is parsed.

use figment::providers::Env;
use figment::value::{Dict, Map, Value};
use figment::{Error, Figment, Metadata, Profile, Provider};
use serde::Serialize;
use std::str::FromStr;

/// Documented environment variables and the settings key each sets.
pub const ENV_ALIASES: &[(&str, &str)] = &[
    ("HIPCHAT_ENDPOINT", "hipchat.endpoint"),
    ("HIPCHAT_API_TOKEN", "hipchat.token"),
    ("HIPCHAT_DEFAULT_SENDER", "hipchat.default_sender"),
    ("HIPCHAT_BACKEND", "delivery.backend"),
    ("HIPKIT_STORE", "store.path"),
    ("HIPKIT_CONCURRENCY", "delivery.concurrency"),
    ("HIPKIT_LISTEN", "serve.listen"),
    ("HIPKIT_EMULATOR_LISTEN", "emulator.listen"),
    ("HIPKIT_EMULATOR_WEBHOOK_SECRET", "emulator.webhook_secret"),
    ("HIPKIT_EMULATOR_UI_PASSWORD", "emulator.ui_password"),
];

/// An environment value as figment sees it: text, unless it is written as a list or table.
fn env_value(raw: String) -> Value {
    let trimmed = raw.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        Value::from_str(&raw).unwrap_or_else(|never| match never {})
    } else {
        Value::from(raw)
    }
}

/// Every `HIPKIT_<SECTION>__<KEY>` variable, as text (see the module's note).
pub(super) struct SectionEnv(Env);

impl SectionEnv {
    /// The variables with a `__` after the `HIPKIT_` prefix.
    pub(super) fn new() -> Self {
        Self(
            Env::prefixed("HIPKIT_")
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        )
    }
}

impl Provider for SectionEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_: &Profile, keys: &[&str]| {
            format!("HIPKIT_{}", keys.join("__").to_ascii_uppercase())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let values = self.0.iter().map(|(key, raw)| (key, env_value(raw)));
        Ok(Profile::Default.collect(nested(values)))
    }
}

/// The variables of [`ENV_ALIASES`] that are set.
pub(super) struct DocumentedEnv;

impl Provider for DocumentedEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            ENV_ALIASES
                .iter()
                .find(|(_, k)| *k == key)
                .map(|(name, _)| (*name).to_owned())
                .unwrap_or(key)
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut values = Vec::new();
        for (name, key) in ENV_ALIASES {
            let Ok(raw) = std::env::var(name) else {
                continue;
            };
            values.push((*key, env_value(raw)));
        }
        Ok(Profile::Default.collect(nested(values)))
    }
}

/// Values from the command line, the highest-precedence source; each remembers its flag so
/// an error names it.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    values: Vec<Flag>,
}

#[derive(Debug, Clone)]
struct Flag {
    flag: &'static str,
    key: &'static str,
    value: Result<Value, String>,
}

impl Overrides {
    /// An empty set of overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets settings key `key` (e.g. `serve.listen`) from `flag` when the flag was given.
    pub fn set<T: Serialize>(
        &mut self,
        flag: &'static str,
        key: &'static str,
        value: Option<T>,
    ) -> &mut Self {
        if let Some(v) = value {
            let value = Value::serialize(v).map_err(|e| e.to_string());
            self.values.push(Flag { flag, key, value });
        }
        self
    }

    /// Merges every flag on top of `figment`.
    pub(super) fn apply(&self, mut figment: Figment) -> Result<Figment, super::SettingsError> {
        for f in &self.values {
            let value = f
                .value
                .clone()
                .map_err(|m| Error::from(format!("{}: {m}", f.flag)))?;
            figment = figment.merge(FlagProvider {
                flag: f.flag,
                data: nested(vec![(f.key, value)]),
            });
        }
        Ok(figment)
    }
}

/// One command-line flag as a figment source.
struct FlagProvider {
    flag: &'static str,
    data: Dict,
}

impl Provider for FlagProvider {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("command-line flag {}", self.flag))
            .interpolater(|_: &Profile, _: &[&str]| String::new())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Ok(Profile::Default.collect(self.data.clone()))
    }
}

/// `[("a.b", 1), ("a.c", 2)]` → `{a: {b: 1, c: 2}}`.
fn nested<K: AsRef<str>>(values: impl IntoIterator<Item = (K, Value)>) -> Dict {
    let mut root = Dict::new();
    for (key, value) in values {
        let parts: Vec<&str> = key.as_ref().split('.').collect();
        insert(&mut root, &parts, value);
    }
    root
}

fn insert(dict: &mut Dict, path: &[&str], value: Value) {
    match path {
        [] => {}
        [leaf] => {
            dict.insert((*leaf).to_owned(), value);
        }
        [head, rest @ ..] => {
            let entry = dict
                .entry((*head).to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}
