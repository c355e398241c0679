//! Emulator settings: listen address, seeded tokens, rooms and users, limits.

use hipchat::Scope;
use std::net::SocketAddr;
use std::str::FromStr;
use thiserror::Error;

/// How the emulator starts.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Tokens to accept; empty → one generated all-scopes token.
    pub tokens: Vec<TokenSpec>,
    /// Rooms to create at start.
    pub rooms: Vec<String>,
    /// Users (emails) to create at start.
    pub users: Vec<String>,
    /// Serve HTTPS with a self-signed certificate.
    pub tls: bool,
    /// Per-token request limit; `None` reports HipChat's 500/5 min in headers without enforcing.
    pub rate_limit: Option<RateSpec>,
    /// Per-recipient message limit; `None` reports 30/min in headers without enforcing.
    pub flood_limit: Option<RateSpec>,
    /// Largest accepted JSON body in bytes.
    pub max_body: usize,
    /// Largest accepted shared file in bytes.
    pub max_file: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tokens: Vec::new(),
            rooms: Vec::new(),
            users: Vec::new(),
            tls: false,
            rate_limit: None,
            flood_limit: None,
            max_body: 1 << 20,
            max_file: 50 << 20,
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
}

/// `TOKEN[:scope,scope...]`; no scopes means all scopes.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// The raw token.
    pub token: hipchat::Token,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
}

impl std::fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

/// `N/SECONDS`: at most N requests per window of SECONDS.
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
    fn rate_specs_parse() {
        assert_eq!(
            "5/2".parse::<RateSpec>().unwrap(),
            RateSpec {
                limit: 5,
                window_secs: 2
            }
        );
        assert!("5".parse::<RateSpec>().is_err());
        assert!("5/0".parse::<RateSpec>().is_err());
    }
}
