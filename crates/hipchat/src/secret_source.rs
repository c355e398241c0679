//! Secrets in `hipkit.toml` (the bridge's tokens and destination secrets, the integrations'
//! Slack signing secret and Mattermost tokens): inline text, `{ env = "NAME" }` or
//! `{ file = "path" }`, read once at start into a [`Token`]. One definition, so every section
//! takes the same three forms and says the same things when one cannot be read.

use crate::secret::Token;
use serde::Deserialize;
use std::path::PathBuf;

/// Where a secret comes from, as written in `hipkit.toml`. `Debug` says where, never what.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "a secret: its text, { env = \"NAME\" } or { file = \"path\" }"
)]
pub enum SecretSource {
    /// The secret itself (an all-digit value is taken as its digits).
    Inline(Token),
    /// An environment variable holding it.
    Env {
        /// The variable's name.
        env: String,
    },
    /// A file holding it (surrounding whitespace and a final newline are dropped).
    File {
        /// The file's path.
        file: PathBuf,
    },
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inline(t) => write!(f, "{t:?}"),
            Self::Env { env } => write!(f, "{{ env = {env:?} }}"),
            Self::File { file } => write!(f, "{{ file = {:?} }}", file.display()),
        }
    }
}

/// Why a secret cannot be read: names the setting (`key`) and where it was looked for, never
/// a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The variable is unset or not Unicode.
    #[error("{key}: environment variable {env} is not set")]
    Env {
        /// The setting.
        key: String,
        /// The variable.
        env: String,
    },
    /// The file cannot be read.
    #[error("{key}: cannot read secret file {}", file.display())]
    File {
        /// The setting.
        key: String,
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The secret is empty.
    #[error("{key} is empty")]
    Empty {
        /// The setting.
        key: String,
    },
}

impl SecretSource {
    /// Reads the secret; `key` names the setting in errors (`[integrations.slack]
    /// signing_secret`, `access_token`).
    pub fn read(&self, key: &str) -> Result<Token, SecretError> {
        let raw = match self {
            Self::Inline(t) => t.expose().to_owned(),
            Self::Env { env } => std::env::var(env).map_err(|_| SecretError::Env {
                key: key.to_owned(),
                env: env.clone(),
            })?,
            Self::File { file } => {
                std::fs::read_to_string(file).map_err(|source| SecretError::File {
                    key: key.to_owned(),
                    file: file.clone(),
                    source,
                })?
            }
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(SecretError::Empty {
                key: key.to_owned(),
            });
        }
        Ok(Token::new(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> SecretSource {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn three_forms_read_name_the_key_and_never_show() {
        let inline = parse(r#""s3cret-inline""#);
        assert_eq!(inline.read("k").unwrap().expose(), "s3cret-inline");
        assert!(!format!("{inline:?}").contains("s3cret"));
        assert_eq!(parse("12345").read("k").unwrap().expose(), "12345");
        let path = std::env::temp_dir().join(format!("hipchat-secret-{}", std::process::id()));
        std::fs::write(&path, "from-file\n").unwrap();
        let file = SecretSource::File { file: path.clone() };
        assert_eq!(file.read("k").unwrap().expose(), "from-file");
        std::fs::remove_file(&path).unwrap();
        let missing = parse(r#"{"env": "HIPCHAT_TEST_SURELY_UNSET_SECRET"}"#);
        assert_eq!(
            missing.read("api_key").unwrap_err().to_string(),
            "api_key: environment variable HIPCHAT_TEST_SURELY_UNSET_SECRET is not set"
        );
        assert_eq!(
            parse(r#"" ""#).read("url").unwrap_err().to_string(),
            "url is empty"
        );
        let wrong = serde_json::from_str::<SecretSource>(r#"{"nope": "x"}"#).unwrap_err();
        assert!(wrong.to_string().contains("a secret: its text"), "{wrong}");
    }
}
