//! Buildbot's modes, their string and list forms, and the mode check.

use crate::build::PrevBuild;
use crate::results::{CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS};
use std::fmt;
use std::str::FromStr;

/// One mode of `BuildStatusGenerator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The build failed.
    Failing,
    /// The build succeeded.
    Passing,
    /// The build failed where the previous one did not.
    Problem,
    /// The build has warnings.
    Warnings,
    /// The build ended in an exception.
    Exception,
    /// The build was cancelled.
    Cancelled,
    /// The result differs from the previous build's.
    Change,
}

impl Mode {
    /// Every mode, in Buildbot's `possible_modes` order.
    pub const ALL: [Mode; 7] = [
        Self::Change,
        Self::Failing,
        Self::Passing,
        Self::Problem,
        Self::Warnings,
        Self::Exception,
        Self::Cancelled,
    ];

    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failing => "failing",
            Self::Passing => "passing",
            Self::Problem => "problem",
            Self::Warnings => "warnings",
            Self::Exception => "exception",
            Self::Cancelled => "cancelled",
            Self::Change => "change",
        }
    }

    /// Buildbot's check of one mode against a result and the previous build.
    fn matches(self, results: Option<i64>, prev: Option<PrevBuild>) -> bool {
        match self {
            Self::Failing => results == Some(FAILURE),
            Self::Passing => results == Some(SUCCESS),
            Self::Warnings => results == Some(WARNINGS),
            Self::Exception => results == Some(EXCEPTION),
            Self::Cancelled => results == Some(CANCELLED),
            Self::Problem => {
                results == Some(FAILURE) && prev.is_some_and(|p| p.results != Some(FAILURE))
            }
            Self::Change => prev.is_some_and(|p| p.results != results),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mode configuration Buildbot refuses, worded as Buildbot's config errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    /// An unknown mode name.
    #[error("mode {0} is not a valid mode")]
    Invalid(String),
    /// `all` inside a list.
    #[error("mode 'all' is not valid in an iterator and must be passed in as a separate string")]
    AllInList,
}

impl FromStr for Mode {
    type Err = ModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| match s {
                "all" => ModeError::AllInList,
                other => ModeError::Invalid(other.to_owned()),
            })
    }
}

/// The finished results a generator reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modes {
    /// Every finished build, whatever its result (HipChatStatusPush 0.9–2.8, no generator).
    Every,
    /// Builds matching any of these modes.
    Any(Vec<Mode>),
}

impl Modes {
    /// The string form: `all` is (failing, passing, warnings, exception, cancelled), the
    /// string `warnings` is (failing, warnings), any other name is itself alone.
    pub fn from_name(name: &str) -> Result<Self, ModeError> {
        use Mode::*;
        Ok(Self::Any(match name {
            "all" => vec![Failing, Passing, Warnings, Exception, Cancelled],
            "warnings" => vec![Failing, Warnings],
            other => vec![other.parse()?],
        }))
    }

    /// The list form: used as given (`["warnings"]` is warnings only); `all` is refused.
    pub fn from_list<S: AsRef<str>>(names: &[S]) -> Result<Self, ModeError> {
        names
            .iter()
            .map(|n| n.as_ref().parse())
            .collect::<Result<_, _>>()
            .map(Self::Any)
    }

    /// Whether a check needs the previous build.
    pub fn needs_previous(&self) -> bool {
        match self {
            Self::Every => false,
            Self::Any(modes) => modes
                .iter()
                .any(|m| matches!(m, Mode::Change | Mode::Problem)),
        }
    }

    /// Whether a finished build with `results` is reported.
    pub fn matches(&self, results: Option<i64>, prev: Option<PrevBuild>) -> bool {
        match self {
            Self::Every => true,
            Self::Any(modes) => modes.iter().any(|m| m.matches(results, prev)),
        }
    }
}
