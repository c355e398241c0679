//! Emulator settings, the `[emulator]` section of `hipkit.toml`: listen address, seeded
//! tokens, rooms and users, limits.

use hipchat::Scope;
use hipchat::jwt::JwtSecret;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use thiserror::Error;

/// How the emulator starts; deserialises from `[emulator]` with every key optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorConfig {
    /// Where to listen (default `127.0.0.1:8180`, the port every hipkit command assumes).
    pub listen: SocketAddr,
    /// Tokens to accept (`TOKEN[:scope,scope]`); empty → one generated all-scopes token.
    pub tokens: Vec<TokenSpec>,
    /// Rooms to create at start (default `["Build Room"]`).
    pub rooms: Vec<String>,
    /// Users (emails) to create at start.
    pub users: Vec<String>,
    /// Serve HTTPS with a self-signed certificate.
    pub tls: bool,
    /// Per-token request limit (`N/SECONDS`); `None` reports HipChat's 500/5 min without enforcing.
    pub rate_limit: Option<RateSpec>,
    /// Per-recipient message limit (`N/SECONDS`); `None` reports 30/min without enforcing.
    pub flood_limit: Option<RateSpec>,
    /// Largest accepted JSON body in bytes.
    pub max_body: usize,
    /// Largest accepted shared file in bytes.
    pub max_file: usize,
    /// Events kept for each subscriber before the slowest one starts missing some.
    pub event_capacity: usize,
    /// Seconds a client has to send a request's headers (and finish a TLS handshake);
    /// an idle keep-alive connection is closed after as long.
    pub header_read_timeout_secs: u64,
    /// Seconds a request's body has, from when its headers were read, to arrive in full
    /// (408 otherwise).
    pub body_read_timeout_secs: u64,
    /// Connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Web UI event streams (`GET /ui/events`) open at once; a newer one ends the oldest.
    /// Kept well below `max_connections` so API calls always find a connection.
    pub max_event_streams: usize,
    /// Messages kept per room; older ones are dropped as new ones arrive (default 1,000).
    pub retention: usize,
    /// Seconds a webhook call may take, connection to the end of the reply.
    pub webhook_timeout_secs: u64,
    /// Webhook calls in flight at once.
    pub webhook_concurrency: usize,
    /// Webhook calls in flight at once to one receiver (scheme, host and port), so a hung
    /// receiver cannot hold every slot.
    pub webhook_per_receiver: usize,
    /// Webhook calls waiting or in flight at once; calls beyond it are dropped and counted
    /// (`webhook_calls_dropped` in `GET /_emulator/stats`).
    pub webhook_queue: usize,
    /// Webhooks one room may have.
    pub max_webhooks_per_room: usize,
    /// Webhooks all rooms together may have.
    pub max_webhooks: usize,
    /// The shared secret that signs calls to `authentication: jwt` webhooks (HipChat's
    /// installation `oauthSecret`); without it those calls fail with a reason.
    #[serde(skip_serializing)]
    pub webhook_secret: Option<JwtSecret>,
    /// The JWT `iss` (and the payload's `oauth_client_id`) on signed webhook calls.
    pub webhook_issuer: String,
    /// The web UI's password (HTTP basic auth, any user name). Without it the UI is served
    /// only when the emulator listens on loopback.
    #[serde(skip_serializing)]
    pub ui_password: Option<hipchat::Token>,
    /// Host names served besides the bound address, `localhost`, `127.0.0.1` and `[::1]`
    /// (`name` for any port, `name:port` for one); any other `Host` is refused with a 421.
    pub allowed_hosts: Vec<String>,
}

/// The address every hipkit command assumes the emulator listens on.
pub const DEFAULT_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 8180);

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(DEFAULT_LISTEN),
            tokens: Vec::new(),
            rooms: vec!["Build Room".to_owned()],
            users: Vec::new(),
            tls: false,
            rate_limit: None,
            flood_limit: None,
            max_body: 1 << 20,
            max_file: hipchat::MAX_FILE_BYTES,
            event_capacity: 1024,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 10,
            max_connections: 1024,
            max_event_streams: 64,
            retention: DEFAULT_RETENTION,
            webhook_timeout_secs: 10,
            webhook_concurrency: 16,
            webhook_per_receiver: 4,
            webhook_queue: 1_000,
            max_webhooks_per_room: 100,
            max_webhooks: 1_000,
            webhook_secret: None,
            ui_password: None,
            webhook_issuer: "hipkit-emulator".to_owned(),
            allowed_hosts: Vec::new(),
        }
    }
}

/// Messages kept per room by default.
pub const DEFAULT_RETENTION: usize = 1_000;

/// The most messages a room may be configured to keep.
pub const MAX_RETENTION: usize = 10_000_000;

/// The most webhooks the emulator may be configured to hold.
pub const MAX_WEBHOOKS: u64 = 1_000_000;

/// The longest header or body read timeout: a day (longer deadlines are no deadline).
pub const MAX_TIMEOUT_SECS: u64 = 86_400;

impl EmulatorConfig {
    /// Checks the connection limits: 0 would refuse every client, and a huge timeout
    /// overflows the clock.
    pub fn check(&self) -> Result<(), ConfigError> {
        let max_connections = tokio::sync::Semaphore::MAX_PERMITS as u64;
        let limits = [
            (
                "header_read_timeout_secs",
                self.header_read_timeout_secs,
                MAX_TIMEOUT_SECS,
            ),
            (
                "body_read_timeout_secs",
                self.body_read_timeout_secs,
                MAX_TIMEOUT_SECS,
            ),
            (
                "max_connections",
                self.max_connections as u64,
                max_connections,
            ),
            ("retention", self.retention as u64, MAX_RETENTION as u64),
            (
                "max_event_streams",
                self.max_event_streams as u64,
                max_connections,
            ),
            (
                "webhook_per_receiver",
                self.webhook_per_receiver as u64,
                max_connections,
            ),
            ("webhook_queue", self.webhook_queue as u64, max_connections),
            (
                "max_webhooks_per_room",
                self.max_webhooks_per_room as u64,
                MAX_WEBHOOKS,
            ),
            ("max_webhooks", self.max_webhooks as u64, MAX_WEBHOOKS),
        ];
        for (key, value, max) in limits {
            if !(1..=max).contains(&value) {
                return Err(ConfigError::Range {
                    key,
                    value,
                    min: 1,
                    max,
                });
            }
        }
        Ok(())
    }

    /// The defaults, but on a free loopback port (`127.0.0.1:0`): for tests and embedding.
    pub fn ephemeral() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Self::default()
        }
    }
}

/// A config value that could not be parsed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `--token` value is malformed.
    #[error("invalid token spec: {0}")]
    Token(String),
    /// `--rate-limit` value is malformed.
    #[error("invalid rate limit `{0}`: expected N/SECONDS, e.g. 500/300")]
    Rate(String),
    /// A connection limit is outside the range it works in.
    #[error("`{key}` must be between {min} and {max}, not {value}")]
    Range {
        /// The `[emulator]` key.
        key: &'static str,
        /// The value given.
        value: u64,
        /// Smallest working value.
        min: u64,
        /// Largest working value.
        max: u64,
    },
}

/// `TOKEN[:scope,scope...]`; no scopes means all scopes. Serialises to that string form.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// The raw token.
    pub token: hipchat::Token,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
}

impl fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSpec")
            .field("token", &self.token)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl TokenSpec {
    /// A token with every scope.
    pub fn all_scopes(token: impl Into<String>) -> Self {
        Self {
            token: hipchat::Token::new(token),
            scopes: Scope::ALL.to_vec(),
        }
    }

    /// The `TOKEN[:scope,...]` form, raw token included: for config round-trips only, never logs.
    pub fn expose_spec(&self) -> String {
        let token = self.token.expose();
        if self.scopes == Scope::ALL {
            return token.to_owned();
        }
        let scopes: Vec<&str> = self.scopes.iter().map(|s| s.as_str()).collect();
        format!("{token}:{}", scopes.join(","))
    }
}

impl FromStr for TokenSpec {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (token, scopes) = match s.split_once(':') {
            None => return Ok(Self::all_scopes(s)).and_then(non_empty),
            Some((t, list)) => (t, list),
        };
        let scopes = list_scopes(scopes)?;
        non_empty(Self {
            token: hipchat::Token::new(token),
            scopes,
        })
    }
}

fn non_empty(spec: TokenSpec) -> Result<TokenSpec, ConfigError> {
    if spec.token.expose().is_empty() {
        return Err(ConfigError::Token("the token part is empty".into()));
    }
    Ok(spec)
}

fn list_scopes(list: &str) -> Result<Vec<Scope>, ConfigError> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse::<Scope>()
                .map_err(|e| ConfigError::Token(e.problem))
        })
        .collect()
}

impl Serialize for TokenSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.expose_spec())
    }
}

impl<'de> Deserialize<'de> for TokenSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_string(deserializer)
    }
}

/// `N/SECONDS`: at most N requests per window of SECONDS. Serialises to that string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    /// Requests per window.
    pub limit: u64,
    /// Window length in seconds.
    pub window_secs: u64,
}

impl FromStr for RateSpec {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ConfigError::Rate(s.to_owned());
        let (n, secs) = s.split_once('/').ok_or_else(bad)?;
        let limit = n.trim().parse().map_err(|_| bad())?;
        let window_secs: u64 = secs.trim().parse().map_err(|_| bad())?;
        if window_secs == 0 {
            return Err(bad());
        }
        Ok(Self { limit, window_secs })
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.limit, self.window_secs)
    }
}

impl Serialize for RateSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RateSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_string(deserializer)
    }
}

/// Deserialises a string through `FromStr`, reporting its error as a custom serde error.
fn from_string<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = ConfigError>,
{
    let raw = String::deserialize(deserializer)?;
    raw.parse().map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_specs_parse_with_and_without_scopes() {
        let all: TokenSpec = "abc".parse().unwrap();
        assert_eq!(all.scopes.len(), Scope::ALL.len());
        let some: TokenSpec = "abc:send_notification,view_messages".parse().unwrap();
        assert_eq!(
            some.scopes,
            vec![Scope::SendNotification, Scope::ViewMessages]
        );
        assert!("abc:nope".parse::<TokenSpec>().is_err());
        assert!(":view_group".parse::<TokenSpec>().is_err());
        assert!(!format!("{some:?}").contains("abc"));
    }

    #[test]
    fn token_spec_strings_round_trip() {
        for raw in ["abc", "abc:send_notification,view_messages", "abc:"] {
            let spec: TokenSpec = raw.parse().unwrap();
            assert_eq!(spec.expose_spec(), raw);
            assert_eq!(spec.expose_spec().parse::<TokenSpec>().unwrap(), spec);
        }
    }

    #[test]
    fn rate_specs_parse_and_print() {
        let spec = "5/2".parse::<RateSpec>().unwrap();
        assert_eq!(
            spec,
            RateSpec {
                limit: 5,
                window_secs: 2
            }
        );
        assert_eq!(spec.to_string(), "5/2");
        assert!("5".parse::<RateSpec>().is_err());
        assert!("5/0".parse::<RateSpec>().is_err());
    }

    #[test]
    fn ephemeral_differs_from_the_defaults_only_in_the_port() {
        let e = EmulatorConfig::ephemeral();
        assert_eq!(e.listen.port(), 0);
        assert_eq!(
            EmulatorConfig {
                listen: EmulatorConfig::default().listen,
                ..e
            },
            EmulatorConfig::default()
        );
    }
}
