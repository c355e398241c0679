//! The whole emulator app: `/v2`, the `/_emulator` control API and the web UI, under the
//! JSON body limit, every error answered with HipChat's envelope.

use crate::config::EmulatorConfig;
use crate::state::Shared;
use axum::extract::DefaultBodyLimit;
use axum::{Router, middleware};

/// Every route, with `shared` as state.
pub fn router(shared: Shared, config: &EmulatorConfig) -> Router {
    Router::new()
        .nest("/v2", crate::api::router(shared.clone(), config))
        .nest("/_emulator", crate::control::router())
        .merge(crate::ui::router(shared.clone(), config))
        .fallback(crate::api::not_found)
        .layer(middleware::from_fn(crate::envelope::ensure))
        .layer(DefaultBodyLimit::max(config.max_body))
        .with_state(shared)
}
