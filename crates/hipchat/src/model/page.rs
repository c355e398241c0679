//! The paged envelope and `links` objects.

use serde::{Deserialize, Serialize};

/// A page of a collection: `{"items", "startIndex", "maxResults", "links"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Index of the first item (0-based).
    #[serde(rename = "startIndex", default)]
    pub start_index: usize,
    /// Page size requested.
    #[serde(rename = "maxResults", default)]
    pub max_results: usize,
    /// `self`, `prev` and `next` links.
    #[serde(default)]
    pub links: Links,
}

/// Hypermedia links; absent ones are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Links {
    /// This resource.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_: Option<String>,
    /// Previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// Next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// A room's webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<String>,
    /// A room's members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<String>,
    /// A room's participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<String>,
}
