//! Choosing a transport by name: `[delivery] backend` or `HIPCHAT_BACKEND`, including the
//! Django library's dotted backend paths.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The transports a configuration can name; read through [`FromStr`] (so djhipchat2's
/// dotted paths work in config files too), written as the canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Straight to HipChat.
    Http,
    /// Keep in memory.
    Memory,
    /// Drop and count.
    Null,
    /// Append JSON lines to a file.
    File,
    /// Durable outbox with workers.
    Outbox,
}

impl FromStr for BackendKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        let kind = match name.as_str() {
            "http" | "request" => Some(Self::Http),
            "memory" | "locmem" => Some(Self::Memory),
            "null" | "dummy" => Some(Self::Null),
            "file" => Some(Self::File),
            "outbox" | "celery" => Some(Self::Outbox),
            // `djhipchat.backends.locmem.HipChatBackend`: the module names the backend.
            dotted if dotted.contains('.') => dotted
                .split('.')
                .rev()
                .skip(1)
                .find_map(|part| part.parse::<BackendKind>().ok()),
            _ => None,
        };
        kind.ok_or_else(|| {
            format!("unknown delivery backend `{s}`: expected http, memory, null, file or outbox")
        })
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Http => "http",
            Self::Memory => "memory",
            Self::Null => "null",
            Self::File => "file",
            Self::Outbox => "outbox",
        })
    }
}

impl Serialize for BackendKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BackendKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_django_paths() {
        assert_eq!("outbox".parse(), Ok(BackendKind::Outbox));
        assert_eq!(
            "djhipchat.backends.locmem.HipChatBackend".parse(),
            Ok(BackendKind::Memory)
        );
        assert_eq!(
            "djhipchat.backends.dummy.HipChatBackend".parse(),
            Ok(BackendKind::Null)
        );
        assert_eq!(
            "djhipchat.backends.request.HipChatBackend".parse(),
            Ok(BackendKind::Http)
        );
        assert_eq!(
            "djhipchat.backends.celery.HipChatBackend".parse(),
            Ok(BackendKind::Outbox)
        );
        assert!("smtp".parse::<BackendKind>().is_err());
        assert!("a.b.C".parse::<BackendKind>().is_err());
    }

    #[test]
    fn serde_reads_any_name_and_writes_the_canonical_one() {
        let kind: BackendKind =
            serde_json::from_str(r#""djhipchat.backends.locmem.HipChatBackend""#).unwrap();
        assert_eq!(kind, BackendKind::Memory);
        assert_eq!(serde_json::to_string(&kind).unwrap(), r#""memory""#);
        let err = serde_json::from_str::<BackendKind>(r#""smtp""#).unwrap_err();
        assert!(
            err.to_string().contains("unknown delivery backend `smtp`"),
            "{err}"
        );
    }
}
