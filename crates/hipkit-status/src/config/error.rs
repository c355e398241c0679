//! Configuration errors, worded as Buildbot's config errors so a translated master.cfg
//! fails the way it used to.

use crate::ModeError;
use crate::template::TemplateError;

/// What is wrong with one key of a reporter's table.
#[derive(Debug, thiserror::Error)]
pub enum ConfigProblem {
    /// `auth_token must be a string`.
    #[error("{0} must be a string")]
    NotString(String),
    /// `builder_room_map must be a dict`.
    #[error("{0} must be a dict")]
    NotDict(String),
    /// `builders must be a list or None`.
    #[error("{0} must be a list or None")]
    NotList(String),
    /// A flag that is not `true` or `false`.
    #[error("{0} must be a boolean")]
    NotBool(String),
    /// A mode of the wrong type.
    #[error("mode must be a list or None (or one mode name as a string)")]
    ModeType,
    /// An unknown mode, or `all` in a list.
    #[error(transparent)]
    Mode(#[from] ModeError),
    /// `builders` and `tags` together.
    #[error("Please specify only builders or tags to include - not both.")]
    BuildersAndTags,
    /// `user`/`password` beside `auth`.
    #[error("Only one of user/password or auth must be given")]
    UserAndAuth,
    /// A required key is absent.
    #[error("{0} is required")]
    Missing(String),
    /// A key this reporter does not know, and the known key it most likely means.
    #[error("unknown key `{0}`{hint}", hint = did_you_mean(*.1))]
    Unknown(String, Option<&'static str>),
    /// A template that does not compile.
    #[error("{key} is not a valid template: {source}")]
    Template {
        /// The key holding it.
        key: String,
        /// minijinja's error.
        #[source]
        source: TemplateError,
    },
    /// Any other malformed value.
    #[error("{key} {expected}")]
    Invalid {
        /// The key.
        key: String,
        /// What it must be, e.g. `must be { basic = [user, password] } or { bearer = token }`.
        expected: &'static str,
    },
}

/// A bad `[[reporters.KIND]]` table: which one, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("[[reporters.{kind}]] #{number}: {problem}")]
pub struct ConfigError {
    /// `hipchat` or `http`.
    pub kind: &'static str,
    /// The table's position, from 1.
    pub number: usize,
    /// What is wrong.
    #[source]
    pub problem: ConfigProblem,
}

/// `; did you mean `KEY`?` when there is a likely key.
fn did_you_mean(meant: Option<&str>) -> String {
    meant
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}
