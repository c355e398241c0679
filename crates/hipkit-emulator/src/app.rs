//! The whole emulator app: `/v2`, HipChat's `/v1`, the `/_emulator` control API and the web UI, under the
//! body limit and the body deadline, every error answered with HipChat's envelope (all
//! three from `hipkit-server`, the plumbing `hipkit serve` uses too).

use crate::config::EmulatorConfig;
use crate::state::Shared;
use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router, middleware};
use hipkit_server::{BodyLimit, envelope_errors, stamp_deadline};
use std::time::Duration;

/// Every route, with `shared` as state.
pub fn router(shared: Shared, config: &EmulatorConfig) -> Router {
    let body_deadline = Duration::from_secs(config.body_read_timeout_secs);
    Router::new()
        // The API root the capabilities document links as `api` answers that document.
        .route("/v2/", axum::routing::get(crate::api::capabilities))
        .nest("/v2", crate::api::router(shared.clone(), config))
        .nest("/v1", crate::api::v1::router())
        .nest("/_emulator", crate::control::router())
        .merge(crate::ui::router(shared.clone(), config))
        .fallback(crate::api::not_found)
        .layer(middleware::from_fn_with_state(
            body_deadline,
            stamp_deadline,
        ))
        .layer(Extension(BodyLimit(config.max_body)))
        .layer(middleware::from_fn(envelope_errors))
        .layer(DefaultBodyLimit::max(config.max_body))
        .with_state(shared)
}
