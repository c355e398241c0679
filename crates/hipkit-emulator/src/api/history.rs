//! History: room history (by date, `recent`), `history/latest`, private chat history.

use super::paging::{PageParams, flag, number, param, self_link};
use crate::auth::{Caller, query_pairs};
use crate::state::Shared;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::Uri;
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use hipchat::{HistoryItem, Links, Page, RoomRef, Scope, UserRef};
use hipkit_server::ApiError;

/// How many messages `date=recent` and `history/latest` return by default.
const RECENT: usize = 75;

fn parse_date(key: &str, raw: &str) -> Result<DateTime<FixedOffset>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc().into())
        })
        .map_err(|_| ApiError::bad_request(format!("{key} must be an ISO-8601 date or 'recent'")))
}

fn item_date(item: &HistoryItem) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(&item.date).ok()
}

/// `GET /v2/room/{room}/history`.
pub async fn room(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Page<HistoryItem>>, ApiError> {
    c.require(&[Scope::ViewMessages])?;
    let query = query_pairs(uri.query());
    let all = s.world().room(&RoomRef::parse(&room))?.history.to_vec();
    let date = param(&query, "date").unwrap_or("recent");
    if date == "recent" {
        return Ok(Json(unpaged(&s, &uri, tail(all, RECENT))));
    }
    let latest = parse_date("date", date)?;
    let earliest = param(&query, "end-date")
        .map(|d| parse_date("end-date", d))
        .transpose()?;
    let reverse = flag(&query, "reverse", true)?;
    let paging = PageParams::parse(&query, 100)?;
    let newest_first: Vec<HistoryItem> = all
        .into_iter()
        .rev()
        .filter(|m| item_date(m).is_some_and(|d| d <= latest && earliest.is_none_or(|e| d >= e)))
        .collect();
    let mut page = paging.page(&s, &uri, newest_first);
    if reverse {
        page.items.reverse();
    }
    Ok(Json(page))
}

/// `GET /v2/room/{room}/history/latest`.
pub async fn room_latest(
    State(s): State<Shared>,
    c: Caller,
    Path(room): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Page<HistoryItem>>, ApiError> {
    c.require(&[Scope::ViewMessages])?;
    let all = s.world().room(&RoomRef::parse(&room))?.history.to_vec();
    latest(&s, &uri, all).map(Json)
}

/// `GET /v2/user/{user}/history/latest`: the caller's private chat with `user`.
pub async fn private_latest(
    State(s): State<Shared>,
    c: Caller,
    Path(user): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Page<HistoryItem>>, ApiError> {
    c.require(&[Scope::ViewMessages])?;
    let all = {
        let world = s.world();
        let other = world.find_user(&UserRef::parse(&user))?.id;
        world.private_chat(c.user_id, other).cloned().collect()
    };
    latest(&s, &uri, all).map(Json)
}

/// The newest `max-results` messages, oldest first, none older than `not-before`.
fn latest(s: &Shared, uri: &Uri, all: Vec<HistoryItem>) -> Result<Page<HistoryItem>, ApiError> {
    let query = query_pairs(uri.query());
    let max = number(&query, "max-results")?.unwrap_or(RECENT);
    if max > 1000 {
        return Err(ApiError::bad_request(
            "max-results must be between 0 and 1000",
        ));
    }
    let mut all = all;
    if let Some(id) = param(&query, "not-before") {
        let pos = all
            .iter()
            .position(|m| m.id == id)
            .ok_or_else(|| ApiError::bad_request(format!("not-before: unknown message id {id}")))?;
        all.drain(..pos);
    }
    let mut page = unpaged(s, uri, tail(all, max));
    page.max_results = max;
    Ok(page)
}

fn tail(mut all: Vec<HistoryItem>, n: usize) -> Vec<HistoryItem> {
    let cut = all.len().saturating_sub(n);
    all.drain(..cut);
    all
}

fn unpaged(s: &Shared, uri: &Uri, items: Vec<HistoryItem>) -> Page<HistoryItem> {
    Page {
        max_results: items.len(),
        items,
        start_index: 0,
        links: Links {
            self_: Some(self_link(s, uri)),
            ..Links::default()
        },
    }
}
