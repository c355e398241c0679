//! The two sources hipkit adds to figment's file and `HIPKIT_*__*` environment: the
//! documented environment names, and the command line.

use figment::value::{Dict, Map, Value};
use figment::{Error, Figment, Metadata, Profile, Provider};
use serde::Serialize;

/// Whether a documented variable is taken as text or parsed (numbers, booleans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Kept as written: tokens, names and URLs are text even when they look like numbers.
    Text,
    /// Parsed like `HIPKIT_*__*` values.
    Parsed,
}

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
];

fn kind(key: &str) -> Kind {
    if key == "delivery.concurrency" {
        Kind::Parsed
    } else {
        Kind::Text
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
            let value = match kind(key) {
                Kind::Text => Value::from(raw),
                Kind::Parsed => raw.parse().unwrap_or_else(|_| Value::from(raw.clone())),
            };
            values.push((*key, value));
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
fn nested(values: Vec<(&str, Value)>) -> Dict {
    let mut root = Dict::new();
    for (key, value) in values {
        let parts: Vec<&str> = key.split('.').collect();
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
