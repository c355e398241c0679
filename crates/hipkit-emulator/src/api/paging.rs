//! Query parameters and paging: `start-index` / `max-results`, flags, and page links.

use crate::auth::query_pairs;
use crate::state::Shared;
use axum::http::Uri;
use hipchat::{Links, Page};
use hipkit_server::ApiError;

/// `start-index` / `max-results` as given, checked against HipChat's ranges.
#[derive(Debug, Clone, Copy)]
pub struct PageParams {
    start: usize,
    max: usize,
}

/// Reads a numeric query parameter.
pub fn number(query: &[(String, String)], key: &str) -> Result<Option<usize>, ApiError> {
    match query.iter().find(|(k, _)| k == key) {
        None => Ok(None),
        Some((_, v)) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{key} must be a non-negative integer"))),
    }
}

/// Reads a boolean query parameter.
pub fn flag(query: &[(String, String)], key: &str, default: bool) -> Result<bool, ApiError> {
    match query.iter().find(|(k, _)| k == key) {
        None => Ok(default),
        Some((_, v)) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ApiError::bad_request(format!(
                "{key} must be true or false"
            ))),
        },
    }
}

/// The value of a query parameter.
pub fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl PageParams {
    /// Parses paging with a default page size.
    pub fn parse(query: &[(String, String)], default_max: usize) -> Result<Self, ApiError> {
        let start = number(query, "start-index")?.unwrap_or(0);
        let max = number(query, "max-results")?.unwrap_or(default_max);
        if max > 1000 {
            return Err(ApiError::bad_request(
                "max-results must be between 0 and 1000",
            ));
        }
        Ok(Self { start, max })
    }

    /// Cuts one page out of `all` and links its neighbours on `uri`.
    pub fn page<T>(self, s: &Shared, uri: &Uri, mut all: Vec<T>) -> Page<T> {
        let total = all.len();
        let end = self.start.saturating_add(self.max).min(total);
        let items: Vec<T> = if self.start < total {
            all.drain(self.start..end).collect()
        } else {
            Vec::new()
        };
        let link = |start: usize| page_link(s, uri, start, self.max);
        Page {
            items,
            start_index: self.start,
            max_results: self.max,
            links: Links {
                self_: Some(self_link(s, uri)),
                prev: (self.start > 0).then(|| link(self.start.saturating_sub(self.max))),
                // An empty page size would link to itself forever.
                next: (self.max > 0 && end < total).then(|| link(end)),
                ..Links::default()
            },
        }
    }
}

/// An absolute link to `uri` with paging set and `auth_token` removed.
fn page_link(s: &Shared, uri: &Uri, start: usize, max: usize) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query_pairs(uri.query()) {
        if !matches!(k.as_str(), "start-index" | "max-results" | "auth_token") {
            q.append_pair(&k, &v);
        }
    }
    q.append_pair("start-index", &start.to_string());
    q.append_pair("max-results", &max.to_string());
    format!("{}?{}", self_link(s, uri), q.finish())
}

/// The absolute URL of the resource itself, without any query (as HipChat links it).
pub fn self_link(s: &Shared, uri: &Uri) -> String {
    format!("{}{}", s.base, uri.path())
}
