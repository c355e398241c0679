//! Why settings could not be resolved, naming the key and where its value came from.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// A configuration problem; its message names each bad key and its source.
#[derive(Debug, Error)]
pub enum SettingsError {
    /// `--config` / `HIPKIT_CONFIG` names a file that does not exist.
    #[error("config file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// A value is missing, unknown or of the wrong type. The figment error is kept but not
    /// chained as the source: the message already says all it says, and a printed chain
    /// would repeat it.
    #[error("configuration: {}", describe(.0))]
    Invalid(Box<figment::Error>),
    /// The file is not valid TOML. Neither the offending line nor the parser's error (which
    /// quotes it) is kept: the line may hold a token.
    #[error(
        "configuration: TOML syntax error in {} at line {line}, column {column}{}: {problem} (the line is not shown: it may hold a secret)",
        file.display(),
        key.as_ref().map(|k| format!(" (key `{k}`)")).unwrap_or_default()
    )]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The key written on that line, if one is.
        key: Option<String>,
        /// What the parser expected, without quoting the text.
        problem: String,
    },
    /// The resolved settings could not be turned into a table to show.
    #[error("cannot show the settings: {0}")]
    Show(#[source] serde_json::Error),
}

impl From<figment::Error> for SettingsError {
    fn from(e: figment::Error) -> Self {
        let file = match &e.metadata {
            Some(meta) => match &meta.source {
                Some(figment::Source::File(path)) => Some(path.clone()),
                _ => None,
            },
            None => None,
        };
        match (&e.kind, file) {
            (figment::error::Kind::Message(m), Some(file)) if m.starts_with("TOML parse error") => {
                syntax(&file)
            }
            _ => Self::Invalid(Box::new(e)),
        }
    }
}

/// The syntax error of `file`, re-parsed to place it without quoting the line.
fn syntax(file: &Path) -> SettingsError {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let (at, problem) = match toml_edit::ImDocument::parse(text.as_str()) {
        Err(e) => (
            e.span().map_or(0, |s| s.start),
            e.message().lines().collect::<Vec<_>>().join("; "),
        ),
        Ok(_) => (0, "cannot be read as TOML".to_owned()),
    };
    let before = text.get(..at).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_text = text[line_start..].lines().next().unwrap_or_default();
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        })
        .map(str::to_owned);
    SettingsError::Syntax {
        file: file.to_path_buf(),
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
        key,
        problem,
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
