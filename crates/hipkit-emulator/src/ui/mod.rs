//! The web UI: rooms and their history as HipChat showed them, live over SSE from the event
//! stream (with reconnect and a polling fallback), search, a render check per message, a
//! composer, and pages for tokens, webhooks, rate limits, faults and the request log.
//! Server-rendered minijinja templates and a little plain JavaScript, all embedded in the
//! binary.

mod admin;
mod allow;
mod assets;
mod check;
mod feed;
mod forms;
mod gate;
mod live;
mod pages;
mod render;
mod search;
mod streams;

use crate::state::Shared;
use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use feed::Firings;
use minijinja::Environment;
use render::Sanitizer;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What every UI handler shares.
#[derive(Clone)]
pub struct Ui {
    shared: Shared,
    templates: Arc<Environment<'static>>,
    sanitizer: Arc<Sanitizer>,
    firings: Firings,
    /// When each room was last read in the UI (ISO time), for unread counts.
    reads: Arc<Mutex<HashMap<u64, String>>>,
    /// The budget of open event streams.
    streams: streams::Streams,
}

impl FromRef<Ui> for Shared {
    fn from_ref(ui: &Ui) -> Shared {
        ui.shared.clone()
    }
}

/// The templates, embedded at build time.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("index.html", include_str!("templates/index.html")),
    ("rooms.html", include_str!("templates/rooms.html")),
    ("room.html", include_str!("templates/room.html")),
    ("chat.html", include_str!("templates/chat.html")),
    ("message.html", include_str!("templates/message.html")),
    ("search.html", include_str!("templates/search.html")),
    ("tokens.html", include_str!("templates/tokens.html")),
    ("webhooks.html", include_str!("templates/webhooks.html")),
    ("firing.html", include_str!("templates/firing.html")),
    ("rates.html", include_str!("templates/rates.html")),
    ("faults.html", include_str!("templates/faults.html")),
    ("requests.html", include_str!("templates/requests.html")),
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        // The templates are part of the binary and covered by tests: a syntax error is a
        // build defect, reported on the page that uses the template.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "UI template does not parse");
        }
    }
    env
}

/// The UI routes (`/`, `/rooms/...`, `/search`, `/tokens`, `/webhooks`, `/rates`,
/// `/faults`, `/requests`, `/ui/...`) over `shared`.
pub fn router(shared: Shared, config: &crate::EmulatorConfig) -> Router<Shared> {
    let ui = Ui {
        firings: Firings::record(&shared),
        shared,
        templates: Arc::new(environment()),
        sanitizer: Arc::new(Sanitizer::default()),
        reads: Arc::default(),
        // Streams never take more than half the connections, whatever the config says.
        streams: streams::Streams::new(config.max_event_streams.min(config.max_connections / 2)),
    };
    Router::new()
        .route("/", get(pages::index))
        .route("/rooms/{id}", get(pages::room))
        .route("/rooms/{id}/fragment", get(pages::room_fragment))
        .route("/rooms/{id}/messages", post(forms::compose))
        .route("/rooms/{id}/clear", post(forms::clear_room))
        .route("/rooms/{id}/read", post(forms::mark_read))
        .route(
            "/rooms/{id}/messages/{message}/delete",
            post(forms::delete_message),
        )
        .route("/chats/{a}/{b}", get(pages::chat_page))
        .route("/chats/{a}/{b}/fragment", get(pages::chat_fragment))
        .route("/search", get(pages::search))
        .route("/tokens", get(admin::tokens).post(forms::add_token))
        .route("/webhooks", get(admin::webhooks).post(forms::add_webhook))
        .route("/webhooks/{room}/{id}/delete", post(forms::delete_webhook))
        .route("/rates", get(admin::rates))
        .route("/faults", get(admin::faults).post(forms::add_fault))
        .route("/faults/clear", post(forms::clear_faults))
        .route("/requests", get(admin::requests))
        .route("/ui/events", get(live::events))
        .route("/ui/fragment/rooms", get(pages::rooms_fragment))
        .route("/ui/fragment/firings", get(admin::firings_fragment))
        .route("/ui/app.js", get(assets::script))
        .route("/ui/app.css", get(assets::style))
        .route_layer(axum::middleware::from_fn_with_state(
            gate::Gate::new(config),
            gate::check,
        ))
        .with_state(ui)
}

/// A serialisable value for a template context.
fn ser<T: serde::Serialize>(value: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

impl Ui {
    /// Renders a template; a template error becomes a 500 naming it.
    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, UiError> {
        self.templates
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| UiError::Template(format!("{name}: {e}")))
    }

    /// A whole page: the template rendered, never cached (it changes with every message).
    fn page(&self, name: &str, ctx: minijinja::Value) -> Result<Response, UiError> {
        let body = self.render(name, ctx)?;
        let mut resp = Html(body).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(resp)
    }
}

/// Why a UI request failed.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// An API-level error (unknown room, bad form value): answered with HipChat's envelope.
    #[error("{}", .0.message())]
    Emu(hipkit_server::ApiError),
    /// A template did not render.
    #[error("template {0}")]
    Template(String),
    /// No token could be minted.
    #[error(transparent)]
    Random(#[from] crate::state::RandomSourceError),
}

impl From<hipkit_server::ApiError> for UiError {
    fn from(e: hipkit_server::ApiError) -> Self {
        UiError::Emu(e)
    }
}

impl From<hipchat::ValidationError> for UiError {
    fn from(e: hipchat::ValidationError) -> Self {
        UiError::Emu(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::Emu(e) => e.into_response(),
            UiError::Template(what) => {
                tracing::error!(template = %what, "UI template failed");
                hipkit_server::ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("the page could not be rendered ({what})"),
                )
                .into_response()
            }
            UiError::Random(e) => {
                tracing::error!(error = %hipchat::error_chain(&e), "no token was minted");
                hipkit_server::ApiError::from(e).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_files_get_a_download_link_and_images_a_preview() {
        let env = environment();
        let sanitizer = Sanitizer::default();
        let item: hipchat::HistoryItem = serde_json::from_value(serde_json::json!({
            "id": "f1", "date": "2026-01-01T00:00:00+00:00", "message": "see file",
            "type": "message", "message_format": "text",
            "from": {"id": 1, "mention_name": "admin", "name": "HipKit Admin"},
            "file": {"name": "shot.PNG", "size": 2048, "url": "http://127.0.0.1:1/_emulator/files/x/shot.PNG"}
        }))
        .unwrap();
        let view = render::message_view(&sanitizer, &item, Some(1));
        let html = env
            .get_template("message.html")
            .and_then(|t| t.render(minijinja::context! { m => ser(view) }))
            .unwrap();
        assert!(html.contains("download>shot.PNG</a>"), "{html}");
        assert!(html.contains("2.0 KiB"), "{html}");
        assert!(html.contains("<img class=\"preview\""), "{html}");
    }

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                panic!("{name}: {e:#}");
            }
        }
    }
}
