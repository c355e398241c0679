//! Secrets in the configuration (`[integrations.slack] signing_secret`, `[integrations.mattermost]
//! tokens`): inline text, `{ env = "NAME" }` or `{ file = "path" }`, read once at start. The
//! bridge reads the same form in its own crate; the two are to be unified. A secret is never
//! shown: its `Debug` says where it comes from, not what it is.

use serde::Deserialize;
use std::path::PathBuf;

/// Where a secret comes from.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "a secret: its text, { env = \"NAME\" } or { file = \"path\" }"
)]
pub enum SecretSource {
    /// The secret itself.
    Inline(String),
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
            Self::Inline(_) => f.write_str("<inline secret>"),
            Self::Env { env } => write!(f, "<secret from ${env}>"),
            Self::File { file } => write!(f, "<secret from {}>", file.display()),
        }
    }
}

/// Why a secret cannot be read (names where it was looked for, never a value).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The variable is unset or not Unicode.
    #[error("{what}: environment variable {env} is not set")]
    Env {
        /// The setting.
        what: &'static str,
        /// The variable.
        env: String,
    },
    /// The file cannot be read.
    #[error("{what}: cannot read {}", file.display())]
    File {
        /// The setting.
        what: &'static str,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The secret is empty.
    #[error("{what} is empty")]
    Empty {
        /// The setting.
        what: &'static str,
    },
}

impl SecretSource {
    /// Reads the secret; `what` names the setting in errors.
    pub fn read(&self, what: &'static str) -> Result<String, SecretError> {
        let text = match self {
            Self::Inline(text) => text.clone(),
            Self::Env { env } => std::env::var(env).map_err(|_| SecretError::Env {
                what,
                env: env.clone(),
            })?,
            Self::File { file } => {
                std::fs::read_to_string(file).map_err(|source| SecretError::File {
                    what,
                    file: file.clone(),
                    source,
                })?
            }
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(SecretError::Empty { what });
        }
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_forms_read_and_never_show() {
        let parse = |s: &str| serde_json::from_str::<SecretSource>(s).unwrap();
        assert_eq!(parse(r#""s3cret""#).read("x").unwrap(), "s3cret");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "from-file\n").unwrap();
        let file = SecretSource::File { file: path };
        assert_eq!(file.read("x").unwrap(), "from-file");
        let env = parse(r#"{"env": "HIPKIT_TEST_SURELY_UNSET_SECRET"}"#);
        assert!(matches!(env.read("x"), Err(SecretError::Env { .. })));
        let wrong = serde_json::from_str::<SecretSource>(r#"{"nope": "x"}"#).unwrap_err();
        assert!(wrong.to_string().contains("a secret: its text"), "{wrong}");
        assert!(!format!("{:?}", parse(r#""s3cret""#)).contains("s3cret"));
        assert!(matches!(
            parse(r#"" ""#).read("x"),
            Err(SecretError::Empty { .. })
        ));
    }
}
