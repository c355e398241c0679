//! The host protocol's lines (JSON, one per line): the settings hipkit sends first, then one
//! line per call; from the host its first line (ready, or failed to load), then log records
//! and finished calls.

use super::super::quota::Quota;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The host's first input: the integration to load, how its helpers reach HipChat, its
/// thread limit and its storage quota. Its storage follows, one `[key, size, value]` line per
/// entry, and an empty line after the last.
#[derive(Serialize)]
pub(super) struct Init<'a> {
    pub name: &'a str,
    pub path: &'a Path,
    pub endpoint: &'a str,
    pub insecure: bool,
    pub http_timeout: u64,
    pub concurrency: usize,
    pub quota: Quota,
}

/// A call as the host reads it, borrowed from the [`super::super::Invocation`]. On the wire
/// it is followed by a tab and the webhook payload (already on one line), which the host
/// parses only if the integration uses it (compact JSON has no raw tab, so the first one ends
/// the call's part).
#[derive(Serialize)]
pub(super) struct CallRequest<'a> {
    pub id: u64,
    pub query: &'a str,
    pub all_tokens: &'a Value,
    pub token: Option<&'a str>,
}

/// The host's first line: the integration loaded, or why not.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Hello {
    /// Loaded; calls may come.
    Ready,
    /// The script could not be loaded.
    Failed {
        /// The exception, as `Type: message`.
        #[serde(default)]
        error: Option<String>,
        /// Its traceback.
        #[serde(default)]
        traceback: String,
    },
}

/// What a line from the host is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Op {
    /// A log record (`id`, `level`, `message`).
    Log,
    /// A finished call (`id`, `result` or `error`, storage changes `set` and `del`).
    Done,
}

/// A line from the host after its first. One flat struct rather than an enum tagged by `op`:
/// serde reads a tagged enum by first copying the whole line into a tree of its own, on every
/// call.
#[derive(Debug, Deserialize)]
pub(super) struct FromHost {
    pub op: Op,
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub result: Value,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    #[serde(default)]
    pub del: Vec<String>,
}
