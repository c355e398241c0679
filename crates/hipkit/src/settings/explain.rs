//! The effective settings, each with where its value came from (`hipkit config`), secrets
//! redacted.

use super::{Overrides, Settings, SettingsError};
use figment::{Figment, Profile, Provider, Source};
use hipkit_transport::push::{header_is_shown, redact_url};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// What a redacted value is shown as.
pub const REDACTED: &str = "<redacted>";

/// One effective setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    /// Its dotted key, e.g. `serve.listen`.
    pub key: String,
    /// Its value with secrets redacted (`null`: unset).
    pub value: Value,
    /// Where it came from: `default`, `FILE:LINE`, `environment variable NAME`,
    /// `command-line flag --NAME`.
    pub source: String,
}

impl Settings {
    /// Every setting [`Settings::load`] would resolve, in section order, with its source.
    pub fn explain(
        config_file: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Vec<Explained>, SettingsError> {
        let figment = Self::figment(config_file, overrides)?;
        let settings: Settings = figment.extract_lossy()?;
        let effective = serde_json::to_value(&settings).map_err(SettingsError::Show)?;
        let mut leaves = Vec::new();
        flatten(&effective, "", &mut leaves);
        // An empty table (a section whose only keys are secrets) covers nothing below it.
        let known: BTreeSet<String> = leaves
            .iter()
            .filter(|(_, v)| !v.as_object().is_some_and(|o| o.is_empty()))
            .map(|(k, _)| k.clone())
            .collect();
        // Secrets are never serialized: what the sources set of them shows as redacted.
        if let Some(given) = figment
            .data()
            .ok()
            .and_then(|d| d.get(&Profile::Default).cloned())
        {
            let given = serde_json::to_value(&given).map_err(SettingsError::Show)?;
            let mut set = Vec::new();
            flatten(&given, "", &mut set);
            for (key, _) in set {
                let covered = known
                    .iter()
                    .any(|k| key == *k || key.starts_with(&format!("{k}.")));
                if !covered {
                    leaves.retain(|(k, _)| !key.starts_with(&format!("{k}.")));
                    leaves.push((key, Value::String(REDACTED.to_owned())));
                }
            }
        }
        // Grouped by table, so each `[table]` is written once.
        leaves.sort_by(|(a, _), (b, _)| table_and_key(a).cmp(&table_and_key(b)));
        let lines = FileLines::of(&figment);
        Ok(leaves
            .into_iter()
            .map(|(key, mut value)| {
                let last = key.rsplit('.').next().unwrap_or_default().to_owned();
                redact(&last, &mut value);
                let source = source(&figment, &key, &lines);
                Explained { key, value, source }
            })
            .collect())
    }
}

/// `a.b.c` → `("a.b", "c")`.
fn table_and_key(key: &str) -> (&str, &str) {
    key.rsplit_once('.').unwrap_or(("", key))
}

/// Leaves of `value` as `(dotted key, value)`; arrays and empty tables are leaves.
fn flatten(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &key, out);
            }
        }
        _ if !prefix.is_empty() => out.push((prefix.to_owned(), value.clone())),
        _ => {}
    }
}

/// Whether a key names a secret (`auth_token`, `secret`, `password`, `auth`, `tokens`, ...).
fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwd",
        "auth",
        "credential",
        "credentials",
        "api_key",
    ]
    .iter()
    .any(|s| key == *s || key.ends_with(&format!("_{s}")))
}

/// Redacts `value`, found under `key`: secret keys, header values that are not allow-listed,
/// and the secret parts of URLs.
fn redact(key: &str, value: &mut Value) {
    match value {
        // Nothing to hide in an unset or empty value, a number or a boolean.
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
        Value::String(s) if s.is_empty() => {}
        Value::Array(a) if a.is_empty() => {}
        Value::Object(o) if o.is_empty() => {}
        _ if secret_key(key) => *value = Value::String(REDACTED.to_owned()),
        Value::Object(map) if key == "headers" => {
            for (name, v) in map.iter_mut() {
                if !header_is_shown(name) {
                    *v = Value::String(REDACTED.to_owned());
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                redact(k, v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact(key, v)),
        Value::String(text) if text.contains("://") => *text = redact_url(text),
        _ => {}
    }
}

/// Where `key`'s value came from.
fn source(figment: &Figment, key: &str, lines: &FileLines) -> String {
    let Some(meta) = figment.find_metadata(key) else {
        return "default".to_owned();
    };
    let keys: Vec<&str> = key.split('.').collect();
    match &meta.source {
        Some(Source::File(path)) => match lines.line(path, &keys) {
            Some(line) => format!("{}:{line}", path.display()),
            None => path.display().to_string(),
        },
        _ => format!(
            "{} {}",
            meta.name,
            meta.interpolate(&Profile::Default, &keys)
        )
        .trim()
        .to_owned(),
    }
}

/// The config file's text, to find the line a key is written on.
struct FileLines {
    file: Option<(std::path::PathBuf, String)>,
}

impl FileLines {
    /// The file figment read, if any.
    fn of(figment: &Figment) -> Self {
        let file = figment.metadata().find_map(|m| match &m.source {
            Some(Source::File(path)) => std::fs::read_to_string(path)
                .ok()
                .map(|text| (path.clone(), text)),
            _ => None,
        });
        Self { file }
    }

    /// The 1-based line `keys` is written on in `path` (the table's key for an array of
    /// tables or an inline table's member).
    fn line(&self, path: &Path, keys: &[&str]) -> Option<usize> {
        let (file, text) = self.file.as_ref()?;
        if file != path {
            return None;
        }
        let doc = toml_edit::ImDocument::parse(text.as_str()).ok()?;
        let mut table: &dyn toml_edit::TableLike = doc.as_table();
        let mut at = None;
        for key in keys {
            let Some((k, item)) = table.get_key_value(key) else {
                break;
            };
            at = k.span().map(|s| s.start).or(at);
            match item.as_table_like() {
                Some(inner) => table = inner,
                None => break,
            }
        }
        at.map(|offset| text[..offset].matches('\n').count() + 1)
    }
}
