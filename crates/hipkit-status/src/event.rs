//! The two build events reporters act on.

use std::fmt;
use std::str::FromStr;

/// A build started (Buildbot's `new`) or finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The build started (`complete: false`).
    Started,
    /// The build finished (`complete: true`).
    Finished,
}

impl Event {
    /// Buildbot's name for it: `new` or `finished`.
    pub fn buildbot_name(self) -> &'static str {
        match self {
            Self::Started => "new",
            Self::Finished => "finished",
        }
    }

    /// hipkit's name for it: `started` or `finished`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Finished => "finished",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event name that is neither `started`, `new` nor `finished`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event `{0}`: expected started (or new) or finished")]
pub struct UnknownEvent(pub String);

impl FromStr for Event {
    type Err = UnknownEvent;

    /// `started` or Buildbot's `new`, or `finished`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "started" | "new" => Ok(Self::Started),
            "finished" => Ok(Self::Finished),
            other => Err(UnknownEvent(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!("new".parse(), Ok(Event::Started));
        assert_eq!("started".parse(), Ok(Event::Started));
        assert_eq!("finished".parse(), Ok(Event::Finished));
        assert!("done".parse::<Event>().is_err());
        assert_eq!(Event::Started.buildbot_name(), "new");
        assert_eq!(Event::Finished.to_string(), "finished");
    }
}
