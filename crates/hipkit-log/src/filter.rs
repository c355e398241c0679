//! The layer's own (per-layer) filter: events at its level and above, spans at INFO and
//! above (or its level, if lower) so the span chain of a posted record is there. Being a
//! per-layer filter, it tells the subscriber which call sites it never wants, so an event
//! below every layer's level costs the application next to nothing, and it never hides
//! anything from the other layers.

use std::cmp::max;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter};

/// Which call sites the room layer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomFilter {
    events: LevelFilter,
    spans: LevelFilter,
}

impl RoomFilter {
    pub(crate) fn new(events: LevelFilter) -> Self {
        Self {
            events,
            spans: max(events, LevelFilter::INFO),
        }
    }

    fn wants(&self, meta: &Metadata<'_>) -> bool {
        let level = if meta.is_span() {
            self.spans
        } else {
            self.events
        };
        *meta.level() <= level
    }
}

impl<S: Subscriber> Filter<S> for RoomFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.wants(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.wants(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(max(self.events, self.spans))
    }
}
