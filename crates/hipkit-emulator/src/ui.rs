//! A small read-only web page: rooms and their latest messages, refreshed every 2 s.

use crate::state::Shared;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use hipchat::HistoryFrom;
use std::fmt::Write;

/// `GET /`.
pub fn router() -> Router<Shared> {
    Router::new().route("/", get(page))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(State(s): State<Shared>) -> Html<String> {
    let mut out = String::from(
        "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=2>\
         <title>hipkit emulator</title><style>body{font-family:sans-serif;margin:2em}\
         .m{padding:.3em .6em;margin:.2em 0;border-radius:4px;background:#eee}\
         .yellow{background:#fff3b0}.green{background:#c8f0c8}.red{background:#f6c0c0}\
         .purple{background:#e0c8f0}.gray{background:#ddd}small{color:#666}</style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>hipkit HipChat emulator</h1><p>API base: <code>{}/v2</code></p>",
        escape(&s.base)
    );
    let world = s.world();
    for room in world.rooms() {
        let _ = write!(
            out,
            "<h2>{} <small>#{} · {} messages</small></h2>",
            escape(&room.name),
            room.id,
            room.history.len()
        );
        for m in room.history.iter().rev().take(20) {
            let from = match &m.from {
                HistoryFrom::User(u) => u.name.clone(),
                HistoryFrom::Label(l) => l.clone(),
            };
            let color = m.color.map(|c| c.as_str()).unwrap_or("");
            let _ = write!(
                out,
                "<div class=\"m {color}\"><small>{} · {}</small><br>{}</div>",
                escape(&m.date),
                escape(&from),
                escape(&m.message)
            );
        }
    }
    out.push_str("</body></html>");
    Html(out)
}
