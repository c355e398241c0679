//! The `/v2` API: routing, the gate (auth, rate limits, faults, request log) and paging.

mod files;
mod history;
mod messages;
mod rooms;
mod users;
mod webhooks;

use crate::auth::{Caller, query_pairs, raw_token};
use crate::config::EmulatorConfig;
use crate::error::EmuError;
use crate::faults::{FaultAction, take_fault};
use crate::serve::ConnectionKill;
use crate::state::{LoggedRequest, Shared};
use axum::extract::{DefaultBodyLimit, OriginalUri, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hipchat::{Links, Page};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The whole emulator app: `/v2`, `/_emulator` control, and the web UI.
pub fn router(shared: Shared, config: &EmulatorConfig) -> Router {
    let file_limit = DefaultBodyLimit::max(config.max_file);
    let v2 = Router::new()
        .route("/room", get(rooms::list).post(rooms::create))
        .route("/room/{room}", get(rooms::get_one).delete(rooms::delete))
        .route("/room/{room}/statistics", get(rooms::statistics))
        .route("/room/{room}/notification", post(messages::notification))
        .route("/room/{room}/message", post(messages::room_message))
        .route(
            "/room/{room}/share/file",
            post(files::share_with_room).layer(file_limit),
        )
        .route("/room/{room}/history", get(history::room))
        .route("/room/{room}/history/latest", get(history::room_latest))
        .route(
            "/room/{room}/webhook",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/room/{room}/webhook/{id}",
            get(webhooks::get_one).delete(webhooks::delete),
        )
        .route("/user", get(users::list).post(users::create))
        .route("/user/{user}", get(users::get_one))
        .route("/user/{user}/message", post(messages::private_message))
        .route(
            "/user/{user}/share/file",
            post(files::share_with_user).layer(file_limit),
        )
        .route("/user/{user}/history/latest", get(history::private_latest))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .route("/capabilities", get(capabilities));
    Router::new()
        .nest("/v2", v2)
        .nest("/_emulator", crate::control::router())
        .merge(crate::ui::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.max_body))
        .with_state(shared)
}

async fn not_found() -> EmuError {
    EmuError::not_found("Resource not found")
}

async fn method_not_allowed() -> EmuError {
    EmuError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

/// The rate-limit key of requests without a valid token.
const ANONYMOUS: &str = "anonymous";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Authenticates, applies faults and the token's rate limit, runs the handler, adds the
/// `X-Ratelimit-*` headers and records the request.
async fn gate(State(s): State<Shared>, mut req: Request, next: Next) -> Response {
    let at_ms = now_ms();
    let method = req.method().as_str().to_owned();
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let query = query_pairs(req.uri().query());
    let token = raw_token(req.headers(), &query);
    let (record, fault) = {
        let mut world = s.world();
        let record = token.as_ref().and_then(|t| world.tokens.get(t).cloned());
        (record, take_fault(&mut world.faults, &method, &path))
    };
    let label = record.as_ref().map(|r| r.label.clone());
    let log = |status: u16| LoggedRequest {
        at_ms,
        method: method.clone(),
        path: path.clone(),
        token: label.clone(),
        status,
    };
    let limit_key = label.clone().unwrap_or_else(|| ANONYMOUS.into());
    let mut early = None;
    match fault {
        Some(FaultAction::Drop) => {
            s.world().log_request(log(0));
            if let Some(kill) = req.extensions().get::<ConnectionKill>() {
                kill.0.notify_one();
            }
            return std::future::pending().await;
        }
        Some(FaultAction::Delay { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        Some(FaultAction::Status {
            status,
            message,
            reset_in,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = message.unwrap_or_else(|| {
                status
                    .canonical_reason()
                    .unwrap_or("Injected fault")
                    .to_owned()
            });
            if let Some(secs) = reset_in {
                s.limiter
                    .force_reset(&limit_key, at_ms / 1000 + secs.max(1));
            }
            early = Some(EmuError::new(status, message).into_response());
        }
        None => {}
    }
    let counted = s.limiter.count_token(&limit_key);
    let mut response = match (early, record) {
        (Some(resp), _) => resp,
        (None, None) if token.is_none() => EmuError::no_token().into_response(),
        (None, None) => EmuError::bad_token().into_response(),
        (None, Some(_)) if counted.exceeded => EmuError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "You have exceeded the rate limit. Please wait before making further requests.",
        )
        .into_response(),
        (None, Some(rec)) => {
            req.extensions_mut().insert(Caller {
                label: rec.label,
                scopes: rec.scopes,
                user_id: rec.user_id,
                auth_test: query.iter().any(|(k, v)| k == "auth_test" && v == "true"),
            });
            next.run(req).await
        }
    };
    counted.write_headers("ratelimit", response.headers_mut());
    if response.status() == StatusCode::NO_CONTENT {
        response
            .headers_mut()
            .remove(axum::http::header::CONTENT_TYPE);
    }
    s.world().log_request(log(response.status().as_u16()));
    response
}

async fn capabilities(State(s): State<Shared>) -> Response {
    let body = serde_json::json!({
        "name": "HipChat (hipkit emulator)",
        "description": "A local HipChat API v2 emulator",
        "key": "hipchat",
        "vendor": {"name": "hipkit", "url": s.base.as_ref()},
        "links": {"self": s.url("capabilities"), "api": s.url(""), "homepage": s.base.as_ref()},
        "capabilities": {
            "hipchatApiProvider": {"url": s.url(""), "availableScopes": hipchat::Scope::ALL},
            "oauth2Provider": {
                "authorizationUrl": format!("{}/users/authorize", s.base),
                "tokenUrl": s.url("oauth/token"),
            },
        },
    });
    let mut resp = Json(body).into_response();
    // No token here: counted like every unauthenticated request, by the same limiter.
    s.limiter
        .count_token(ANONYMOUS)
        .write_headers("ratelimit", resp.headers_mut());
    resp
}

/// `start-index` / `max-results` as given, checked against HipChat's ranges.
#[derive(Debug, Clone, Copy)]
pub struct PageParams {
    start: usize,
    max: usize,
}

/// Reads a numeric query parameter.
fn number(query: &[(String, String)], key: &str) -> Result<Option<usize>, EmuError> {
    match query.iter().find(|(k, _)| k == key) {
        None => Ok(None),
        Some((_, v)) => v
            .parse()
            .map(Some)
            .map_err(|_| EmuError::bad_request(format!("{key} must be a non-negative integer"))),
    }
}

/// Reads a boolean query parameter.
fn flag(query: &[(String, String)], key: &str, default: bool) -> Result<bool, EmuError> {
    match query.iter().find(|(k, _)| k == key) {
        None => Ok(default),
        Some((_, v)) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(EmuError::bad_request(format!(
                "{key} must be true or false"
            ))),
        },
    }
}

/// The value of a query parameter.
fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl PageParams {
    /// Parses paging with a default page size.
    pub fn parse(query: &[(String, String)], default_max: usize) -> Result<Self, EmuError> {
        let start = number(query, "start-index")?.unwrap_or(0);
        let max = number(query, "max-results")?.unwrap_or(default_max);
        if max > 1000 {
            return Err(EmuError::bad_request(
                "max-results must be between 0 and 1000",
            ));
        }
        Ok(Self { start, max })
    }

    /// Cuts one page out of `all` and links its neighbours on `uri`.
    pub fn page<T>(self, s: &Shared, uri: &Uri, mut all: Vec<T>) -> Page<T> {
        let total = all.len();
        let end = (self.start + self.max).min(total);
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
                next: (end < total).then(|| link(end)),
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
fn self_link(s: &Shared, uri: &Uri) -> String {
    format!("{}{}", s.base, uri.path())
}

/// 201 with a JSON body.
fn created(body: serde_json::Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The caller's user as a message sender.
fn sender(s: &Shared, world: &crate::state::World, caller: &Caller) -> hipchat::HistoryFrom {
    match world.users.get(&caller.user_id) {
        Some(u) => hipchat::HistoryFrom::User(s.user_link(u)),
        None => hipchat::HistoryFrom::Label(caller.label.clone()),
    }
}
