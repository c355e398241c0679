//! `[reporters]`: the `[[reporters.hipchat]]` and `[[reporters.http]]` tables (keys named as
//! Buildbot's parameters in snake_case) and `[reporters.relay]`, checked into typed
//! reporter configurations.

use super::{ConfigError, ConfigProblem};
use crate::hipchat::HipChatConfig;
use crate::http::HttpConfig;
use hipchat::Token;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The header carrying the relay's shared secret unless configured otherwise.
pub const DEFAULT_SECRET_HEADER: &str = "X-Hipkit-Secret";

/// `[reporters]` as written; [`ReportersConfig::check`] turns it into [`CheckedReporters`]
/// with Buildbot's wording for type errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportersConfig {
    /// `[[reporters.hipchat]]`: HipChatStatusPush tables.
    pub hipchat: Vec<Map<String, Value>>,
    /// `[[reporters.http]]`: HttpStatusPush tables.
    pub http: Vec<Map<String, Value>>,
    /// `[reporters.relay]`: who may post builds to `POST /hooks/buildbot`.
    pub relay: RelayConfig,
}

/// `[reporters.relay]`: optional shared secret and basic auth for `POST /hooks/buildbot`
/// (Buildbot's HttpStatusPush sends both through its `headers` and `auth`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// The secret the header must carry (none: no header needed).
    #[serde(skip_serializing)]
    pub secret: Option<Token>,
    /// The header that carries it.
    pub secret_header: String,
    /// Basic auth user (with `password`; none: no basic auth needed).
    pub user: Option<String>,
    /// Basic auth password.
    #[serde(skip_serializing)]
    pub password: Option<Token>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            secret: None,
            secret_header: DEFAULT_SECRET_HEADER.to_owned(),
            user: None,
            password: None,
        }
    }
}

/// The reporter tables, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckedReporters {
    /// The HipChat reporters, in table order.
    pub hipchat: Vec<HipChatConfig>,
    /// The HTTP reporters, in table order.
    pub http: Vec<HttpConfig>,
}

impl CheckedReporters {
    /// Whether there are no reporters.
    pub fn is_empty(&self) -> bool {
        self.hipchat.is_empty() && self.http.is_empty()
    }

    /// Whether any reporter's modes compare with the previous build.
    pub fn need_history(&self) -> bool {
        let hipchat = self.hipchat.iter().map(|c| &c.generator);
        let http = self.http.iter().map(|c| &c.generator);
        hipchat.chain(http).any(|g| g.modes.needs_previous())
    }
}

impl ReportersConfig {
    /// Checks every table; the first problem is the error, naming the table and the key.
    pub fn check(&self) -> Result<CheckedReporters, ConfigError> {
        let at = |kind: &'static str, number: usize| {
            move |problem: ConfigProblem| ConfigError {
                kind,
                number,
                problem,
            }
        };
        let hipchat: Vec<HipChatConfig> = self
            .hipchat
            .iter()
            .enumerate()
            .map(|(i, t)| HipChatConfig::from_table(t, i + 1).map_err(at("hipchat", i + 1)))
            .collect::<Result<_, _>>()?;
        let http: Vec<HttpConfig> = self
            .http
            .iter()
            .enumerate()
            .map(|(i, t)| HttpConfig::from_table(t, i + 1).map_err(at("http", i + 1)))
            .collect::<Result<_, _>>()?;
        // Queued reports find their reporter (and its credentials) by name.
        let names = hipchat
            .iter()
            .enumerate()
            .map(|(i, c)| ("hipchat", i + 1, &c.name));
        let names = names.chain(
            http.iter()
                .enumerate()
                .map(|(i, c)| ("http", i + 1, &c.name)),
        );
        let mut seen = std::collections::HashSet::new();
        for (kind, number, name) in names {
            if !seen.insert(name) {
                return Err(at(kind, number)(ConfigProblem::Invalid {
                    key: "name".into(),
                    expected: "is already another reporter's: reporter names must be unique",
                }));
            }
        }
        if self.relay.user.is_some() != self.relay.password.is_some() {
            return Err(ConfigError {
                kind: "relay",
                number: 1,
                problem: ConfigProblem::Invalid {
                    key: "user".into(),
                    expected: "and password must be given together",
                },
            });
        }
        Ok(CheckedReporters { hipchat, http })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: Value) -> ReportersConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn errors_name_the_table_and_the_key() {
        let c = config(json!({"hipchat": [{"builder_room_map": {"a": "1"}}, {"auth_token": 1}]}));
        assert_eq!(
            c.check().unwrap_err().to_string(),
            "[[reporters.hipchat]] #2: auth_token must be a string"
        );
        let c = config(json!({"hipchat": [{"builder_room_map": "x"}]}));
        assert_eq!(
            c.check().unwrap_err().to_string(),
            "[[reporters.hipchat]] #1: builder_room_map must be a dict"
        );
        let c = config(json!({"hipchat": [{"mode": 1}]}));
        assert!(
            c.check()
                .unwrap_err()
                .to_string()
                .contains("mode must be a list or None")
        );
    }

    #[test]
    fn reporter_names_are_unique() {
        let c = config(
            json!({"hipchat": [{"name": "ci"}], "http": [{"name": "ci", "server_url": "http://x"}]}),
        );
        assert_eq!(
            c.check().unwrap_err().to_string(),
            "[[reporters.http]] #1: name is already another reporter's: reporter names must be unique"
        );
        let c = config(json!({"hipchat": [{}], "http": [{"server_url": "http://x"}]}));
        assert!(c.check().is_ok(), "hipchat-1 and http-1");
    }

    #[test]
    fn defaults() {
        let c = config(json!({}));
        assert_eq!(c, ReportersConfig::default());
        assert_eq!(c.relay.secret_header, "X-Hipkit-Secret");
        assert!(c.check().unwrap().is_empty());
        let relay = config(json!({"relay": {"user": "bb"}}));
        assert!(relay.check().is_err(), "user without password");
        let secret = config(json!({"relay": {"secret": "s3cr3t"}}));
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }
}
