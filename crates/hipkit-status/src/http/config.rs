//! `[[reporters.http]]`: HttpStatusPush's parameters in snake_case, plus an optional
//! `payload` template.

use crate::config::{ConfigProblem, Table};
use crate::generator::{Generator, Mode, Modes};
use crate::template::Template;
use hipchat::Token;
use hipkit_transport::push::Verify;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

const KEYS: [&str; 12] = [
    "name",
    "server_url",
    "auth",
    "user",
    "password",
    "headers",
    "verify",
    "debug",
    "skip_encoding",
    "payload",
    "format_fn",
    "want_logs",
];

/// How the receiver is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `{ basic = ["user", "pass"] }` (Buildbot's `auth=(user, pass)`).
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: Token,
    },
    /// `{ bearer = "TOKEN" }`.
    Bearer(Token),
}

/// One HTTP reporter's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// Its name: the scope of its previous-build memory (default `http-N`).
    pub name: String,
    /// Where builds are POSTed (Buildbot's `serverUrl`).
    pub server_url: String,
    /// Authentication.
    pub auth: Option<Auth>,
    /// Headers added to every request.
    pub headers: BTreeMap<String, String>,
    /// TLS verification.
    pub verify: Verify,
    /// Log requests and responses (secrets redacted).
    pub debug: bool,
    /// Buildbot 4.3's `skip_encoding`: no difference on the wire; accepted.
    pub skip_encoding: bool,
    /// The body template (default: the build dict exactly as received).
    pub payload: Option<Template>,
    /// Buildbot 2.x's `wantLogs`: `true` posts the steps' log content (it must be in the
    /// build received: have the forwarding HttpStatusPush ask with `wantLogs=True`);
    /// `false` leaves every log's `content` out, as Buildbot did; unset: as received.
    pub want_logs: Option<bool>,
    /// Which builds; Buildbot's default: every start, finished success/warnings/failure.
    pub generator: Generator,
}

impl HttpConfig {
    /// A reporter POSTing to `server_url` with Buildbot's defaults.
    pub fn new(name: impl Into<String>, server_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            server_url: server_url.into(),
            auth: None,
            headers: BTreeMap::new(),
            verify: Verify::Enabled(true),
            debug: false,
            skip_encoding: false,
            payload: None,
            want_logs: None,
            generator: default_generator(),
        }
    }

    /// Reads table `number` (from 1) of `[[reporters.http]]`.
    pub fn from_table(map: &Map<String, Value>, number: usize) -> Result<Self, ConfigProblem> {
        let t = Table(map);
        t.only(&KEYS)?;
        if t.value("format_fn").is_some() {
            return Err(ConfigProblem::Invalid {
                key: "format_fn".into(),
                expected: "is Python; use `payload` (a Jinja template) instead",
            });
        }
        let server_url = t
            .string("server_url")?
            .ok_or_else(|| ConfigProblem::Missing("server_url".into()))?;
        let web = reqwest::Url::parse(&server_url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !web {
            return Err(ConfigProblem::Invalid {
                key: "server_url".into(),
                expected: "must be an http:// or https:// URL",
            });
        }
        let legacy = match (t.string("user")?, t.string("password")?) {
            (Some(user), password) => Some(Auth::Basic {
                user,
                password: Token::new(password.unwrap_or_default()),
            }),
            (None, Some(_)) => return Err(ConfigProblem::Missing("user".into())),
            (None, None) => None,
        };
        let auth = match (auth(t.value("auth"))?, legacy) {
            (Some(_), Some(_)) => return Err(ConfigProblem::UserAndAuth),
            (a, b) => a.or(b),
        };
        // `user:pw@` in the URL would silently replace the configured credentials.
        let url_credentials = reqwest::Url::parse(&server_url)
            .is_ok_and(|u| !u.username().is_empty() || u.password().is_some());
        if url_credentials && auth.is_some() {
            return Err(ConfigProblem::Invalid {
                key: "server_url".into(),
                expected: "carries `user:password@` while `auth` (or `user`) is set too: the \
                           URL's credentials would replace the configured ones; keep only `auth`",
            });
        }
        let verify = match t.value("verify") {
            None => Verify::Enabled(true),
            Some(Value::Bool(b)) => Verify::Enabled(*b),
            Some(Value::String(path)) => Verify::CaBundle(PathBuf::from(path)),
            Some(_) => {
                return Err(ConfigProblem::Invalid {
                    key: "verify".into(),
                    expected: "must be true, false or a CA bundle path",
                });
            }
        };
        Ok(Self {
            name: t
                .string("name")?
                .unwrap_or_else(|| format!("http-{number}")),
            auth,
            headers: t.string_dict("headers")?,
            verify,
            debug: t.flag("debug", false)?,
            skip_encoding: t.flag("skip_encoding", false)?,
            payload: t.template("payload")?,
            want_logs: match t.value("want_logs") {
                None => None,
                Some(_) => Some(t.flag("want_logs", false)?),
            },
            generator: t.generator(default_generator().modes, true)?,
            ..Self::new("", server_url)
        })
    }
}

/// HttpStatusPush's default generator: every `new`; finished failing, passing, warnings.
fn default_generator() -> Generator {
    Generator {
        modes: Modes::Any(vec![Mode::Failing, Mode::Passing, Mode::Warnings]),
        filters: Default::default(),
        report_new: true,
    }
}

/// `{ basic = ["user", "pass"] }` or `{ bearer = "TOKEN" }`.
fn auth(value: Option<&Value>) -> Result<Option<Auth>, ConfigProblem> {
    let bad = || ConfigProblem::Invalid {
        key: "auth".into(),
        expected: "must be { basic = [\"user\", \"password\"] } or { bearer = \"TOKEN\" }",
    };
    let Some(value) = value else {
        return Ok(None);
    };
    let map = value.as_object().filter(|m| m.len() == 1).ok_or_else(bad)?;
    match (map.get("basic"), map.get("bearer")) {
        (Some(Value::Array(pair)), None) => match pair.as_slice() {
            [Value::String(user), Value::String(password)] => Ok(Some(Auth::Basic {
                user: user.clone(),
                password: Token::new(password.clone()),
            })),
            _ => Err(bad()),
        },
        (None, Some(Value::String(token))) => Ok(Some(Auth::Bearer(Token::new(token.clone())))),
        _ => Err(bad()),
    }
}
