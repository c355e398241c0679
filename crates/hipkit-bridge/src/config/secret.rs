//! Secrets in the configuration: inline text, `{ env = "NAME" }` or `{ file = "path" }`,
//! read once at start-up into a [`Token`] that never shows itself.

use hipchat::Token;
use serde::Deserialize;
use std::path::PathBuf;

/// Where a secret comes from, as written in `hipkit.toml`.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretSource {
    /// The secret itself.
    Inline(Token),
    /// An environment variable holding it.
    Env {
        /// The variable's name.
        env: String,
    },
    /// A file holding it (surrounding whitespace ignored).
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

/// Why a secret could not be read (never containing the secret).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The variable is not set or not UTF-8.
    #[error("environment variable {0} is not set")]
    Env(String),
    /// The file cannot be read.
    #[error("cannot read secret file {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is empty.
    #[error("the secret is empty")]
    Empty,
}

impl SecretSource {
    /// Reads the secret.
    pub fn resolve(&self) -> Result<Token, SecretError> {
        let raw = match self {
            Self::Inline(t) => t.expose().to_owned(),
            Self::Env { env } => std::env::var(env).map_err(|_| SecretError::Env(env.clone()))?,
            Self::File { file } => {
                std::fs::read_to_string(file).map_err(|source| SecretError::File {
                    path: file.clone(),
                    source,
                })?
            }
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Token::new(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        s: SecretSource,
    }

    fn read(json: &str) -> SecretSource {
        serde_json::from_str::<Holder>(json).unwrap().s
    }

    #[test]
    fn inline_env_and_file_secrets_resolve_and_never_show() {
        let inline = read(r#"{"s": "s3cret-inline"}"#);
        assert_eq!(inline.resolve().unwrap().expose(), "s3cret-inline");
        assert!(!format!("{inline:?}").contains("s3cret"));
        let dir = std::env::temp_dir().join(format!("hipkit-secret-{}", std::process::id()));
        std::fs::write(&dir, "from-file\n").unwrap();
        let file = read(&format!(
            r#"{{"s": {{"file": {:?}}}}}"#,
            dir.display().to_string()
        ));
        assert_eq!(file.resolve().unwrap().expose(), "from-file");
        std::fs::remove_file(&dir).unwrap();
        let missing = read(r#"{"s": {"env": "HIPKIT_BRIDGE_TEST_UNSET_VARIABLE"}}"#);
        assert_eq!(
            missing.resolve().unwrap_err().to_string(),
            "environment variable HIPKIT_BRIDGE_TEST_UNSET_VARIABLE is not set"
        );
    }
}
