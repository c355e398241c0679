//! Why settings could not be resolved, naming the key and where its value came from.

use std::path::PathBuf;
use thiserror::Error;

/// A configuration problem; its message names each bad key and its source.
#[derive(Debug, Error)]
pub enum SettingsError {
    /// `--config` / `HIPKIT_CONFIG` names a file that does not exist.
    #[error("config file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// A value is missing, unknown or of the wrong type.
    #[error("configuration: {}", describe(.0))]
    Invalid(#[source] Box<figment::Error>),
    /// The resolved settings could not be turned into a table to show.
    #[error("cannot show the settings: {0}")]
    Show(#[source] serde_json::Error),
}

impl From<figment::Error> for SettingsError {
    fn from(e: figment::Error) -> Self {
        Self::Invalid(Box::new(e))
    }
}

/// Each error as `<what> for `<key>` in <source>`, joined by `; `.
fn describe(errors: &figment::Error) -> String {
    errors
        .clone()
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let mut text = e.kind.to_string();
            if !key.is_empty() {
                text.push_str(&format!(" for `{key}`"));
            }
            if let Some(meta) = &e.metadata {
                let place = match &meta.source {
                    Some(figment::Source::File(path)) => path.display().to_string(),
                    _ => {
                        let profile = e.profile.clone().unwrap_or_default();
                        format!("{} {}", meta.name, meta.interpolate(&profile, &e.path))
                    }
                };
                text.push_str(&format!(" in {place}"));
            }
            if let figment::error::Kind::UnknownField(field, expected) = &e.kind
                && let Some(hint) = hint(field, expected)
            {
                text.push_str(&format!("; {hint}"));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Keys pasted from djhipchat2's settings and logging handler, and what hipkit calls them.
const SEED_KEYS: &[(&str, &str)] = &[
    ("critical", "error"),
    ("fatal", "error"),
    ("room_id", "room"),
    ("room_name", "room"),
];

/// What an unknown key most likely means: a seed's name for a known key, the HipChat token
/// (which lives in `[hipchat]`), or the nearest known key.
fn hint(field: &str, expected: &[&str]) -> Option<String> {
    let lower = field.to_ascii_lowercase();
    if let Some((_, key)) = SEED_KEYS
        .iter()
        .find(|(seed, key)| *seed == lower && expected.contains(key))
    {
        return Some(format!("did you mean `{key}`?"));
    }
    let token = matches!(lower.as_str(), "token" | "auth_token" | "api_token");
    if token && !expected.iter().any(|k| k.ends_with("token")) {
        return Some(
            "the HipChat token is `[hipchat] token` (or HIPCHAT_API_TOKEN), not set here"
                .to_owned(),
        );
    }
    hipchat::did_you_mean(field, expected).map(|key| format!("did you mean `{key}`?"))
}
