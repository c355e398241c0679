//! DNS-rebinding defence: every listener answers only to the names it serves. A web page
//! whose name an attacker re-points at 127.0.0.1 still sends its own name in `Host`, so
//! a request naming any other host is refused before any handler runs.
//!
//! Served names: the address the client connected to (`IP:port`), `localhost`,
//! `127.0.0.1` and `[::1]`, each with the listener's port, and the configured names
//! (`name` for any port, `name:port` for one). A port left out means the scheme's default
//! (80, or 443 with TLS). A request without `Host` is HTTP/1.0 from a non-browser client
//! (browsers always send one) and is served; an HTTP/1.1 request without one is a 400, as
//! RFC 9112 requires.

use crate::ApiError;
use axum::http::uri::Authority;
use axum::http::{Request, StatusCode, Version, header};
use std::net::SocketAddr;
use std::sync::Arc;

/// A configured host name that is not `name` or `name:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowed_hosts: {0:?} is not a host name or host:port")]
pub struct HostError(pub String);

/// One configured name, lower-case, without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    host: String,
    port: Option<u16>,
}

/// The names a listener answers to beyond its own address and loopback (`allowed_hosts`).
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    names: Arc<[Allowed]>,
}

impl AllowedHosts {
    /// Parses configured names (`name`, `name:port`, `IP`, `[v6]:port`).
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, HostError> {
        let names = names
            .iter()
            .map(|name| {
                let name = name.as_ref();
                let (host, port) = split(name).ok_or_else(|| HostError(name.to_owned()))?;
                Ok(Allowed { host, port })
            })
            .collect::<Result<Vec<_>, HostError>>()?;
        Ok(Self {
            names: names.into(),
        })
    }

    /// Checks a request that arrived on a connection to `local` (`tls`: HTTPS): `None` to
    /// serve it, or the refusal.
    pub fn check<B>(&self, req: &Request<B>, local: SocketAddr, tls: bool) -> Option<ApiError> {
        let default_port = if tls { 443 } else { 80 };
        let mut named = false;
        let from_uri = req.uri().authority().map(Authority::as_str);
        let from_header = match req.headers().get(header::HOST) {
            Some(value) => match value.to_str() {
                Ok(v) => Some(v),
                Err(_) => return Some(refused("(not text)")),
            },
            None => None,
        };
        for given in [from_uri, from_header].into_iter().flatten() {
            named = true;
            let Some((host, port)) = split(given) else {
                return Some(refused(given));
            };
            if !self.serves(&host, port.unwrap_or(default_port), local) {
                return Some(refused(given));
            }
        }
        if !named && req.version() != Version::HTTP_10 && req.version() != Version::HTTP_09 {
            return Some(ApiError::bad_request(
                "the Host header is required (HTTP/1.1)",
            ));
        }
        None
    }

    fn serves(&self, host: &str, port: u16, local: SocketAddr) -> bool {
        if port == local.port()
            && (["localhost", "127.0.0.1", "[::1]"].contains(&host) || host == own_name(local))
        {
            return true;
        }
        self.names
            .iter()
            .any(|a| a.host == host && a.port.is_none_or(|p| p == port))
    }
}

/// The listener's own address as a `Host` names it (`192.0.2.7`, `[2001:db8::1]`); only
/// formatted when a request names neither `localhost` nor a loopback address.
fn own_name(local: SocketAddr) -> String {
    match local {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("[{}]", a.ip()),
        },
    }
}

/// `name[:port]` as a lower-case name without a trailing dot and its port.
fn split(given: &str) -> Option<(String, Option<u16>)> {
    let authority: Authority = given.trim().parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    // A port that is present but not a number (`name:`) is no port to match.
    if authority.as_str().len() > authority.host().len() && authority.port_u16().is_none() {
        return None;
    }
    Some((host, authority.port_u16()))
}

/// 421: the request named a host this listener does not serve.
fn refused(given: &str) -> ApiError {
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "this server does not answer to the host {:?}; add it to allowed_hosts if it is yours",
            crate::one_line(given)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(host: Option<&str>, version: Version) -> Request<()> {
        let mut b = Request::builder().uri("/").version(version);
        if let Some(h) = host {
            b = b.header(header::HOST, h);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn own_names_pass_and_foreign_ones_are_refused() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let hosts = AllowedHosts::parse(&["hipkit.example", "ci.example:9000"]).unwrap();
        let ok = |h| {
            hosts
                .check(&req(Some(h), Version::HTTP_11), local, false)
                .is_none()
        };
        assert!(ok("127.0.0.1:8080"));
        assert!(ok("LOCALHOST:8080"));
        assert!(ok("[::1]:8080"));
        assert!(ok("hipkit.example"));
        assert!(ok("hipkit.example.:443"));
        assert!(ok("ci.example:9000"));
        assert!(!ok("ci.example:9001"));
        assert!(!ok("localhost"));
        assert!(!ok("localhost:8081"));
        assert!(!ok("evil.example:8080"));
        assert!(!ok("127.0.0.1.evil.example:8080"));
        assert!(!ok("localhost:"));
        assert!(
            hosts
                .check(&req(None, Version::HTTP_10), local, false)
                .is_none()
        );
        let missing = hosts.check(&req(None, Version::HTTP_11), local, false);
        assert_eq!(missing.map(|e| e.status()), Some(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn a_bad_configured_name_is_refused() {
        assert!(AllowedHosts::parse(&["a b"]).is_err());
        assert!(AllowedHosts::parse(&["user@host"]).is_err());
    }
}
