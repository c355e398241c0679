//! `hipkit config`: the effective settings of a command, each with its source, as TOML (a
//! `# source` comment after each value) or JSON; secrets redacted.

use crate::cli::{ConfigArgs, ConfigFormat};
use crate::failure::Failure;
use hipkit::{Explained, Settings};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// Prints the settings `args` names.
pub fn run(args: &ConfigArgs, file: Option<&Path>) -> Result<(), Failure> {
    let explained = Settings::explain(file, &args.overrides())?;
    let text = match args.format {
        ConfigFormat::Toml => toml(&explained),
        ConfigFormat::Json => json(&explained),
    };
    print!("{text}");
    Ok(())
}

/// `{"serve.listen": {"value": "127.0.0.1:8080", "source": "default"}, ...}`.
fn json(explained: &[Explained]) -> String {
    let map: serde_json::Map<String, Value> = explained
        .iter()
        .map(|e| {
            let entry = serde_json::json!({"value": e.value, "source": e.source});
            (e.key.clone(), entry)
        })
        .collect();
    format!("{:#}\n", Value::Object(map))
}

/// One `[table]` per section, `key = value  # source`; unset keys as comments.
fn toml(explained: &[Explained]) -> String {
    let mut out = String::new();
    let mut current = None;
    for e in explained {
        let (table, key) = e.key.rsplit_once('.').unwrap_or(("", e.key.as_str()));
        if current != Some(table) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "[{table}]");
            current = Some(table);
        }
        let key = toml_key(key);
        match inline(&e.value) {
            Some(value) => {
                let _ = writeln!(out, "{key} = {value}  # {}", e.source);
            }
            None => {
                let _ = writeln!(out, "# {key} is unset  # {}", e.source);
            }
        }
    }
    out
}

/// `key` bare when TOML allows, quoted otherwise.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// `value` as an inline TOML value (`None` for null, which TOML cannot write).
fn inline(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        // A JSON string or number is also TOML.
        Value::Bool(_) | Value::Number(_) | Value::String(_) => value.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().filter_map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .filter_map(|(k, v)| inline(v).map(|v| format!("{} = {v}", toml_key(k))))
                .collect();
            if members.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", members.join(", "))
            }
        }
    })
}
