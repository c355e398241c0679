//! Choosing a transport by name: `[delivery] backend` or `HIPCHAT_BACKEND`, including the
//! Django library's dotted backend paths.

use std::fmt;
use std::str::FromStr;

/// The transports a configuration can name.
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
}
