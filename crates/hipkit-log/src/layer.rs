//! The `tracing_subscriber::Layer`: filters, captures the event with its span chain, and
//! hands it to the background task without waiting.

use crate::bridge::LogBridge;
use crate::filter::RoomFilter;
use crate::intake::Intake;
use crate::record::{Capture, Record, SpanInfo};
use crate::reentrancy;
use std::borrow::Cow;
use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The layer as built: [`RoomLayer`] behind its [`RoomFilter`] (a per-layer filter).
pub type FilteredRoomLayer<S> = Filtered<RoomLayer, RoomFilter, S>;

/// Posts the events it sees at or above its level to a HipChat room, via a background task;
/// built behind its [`RoomFilter`] ([`FilteredRoomLayer`], `.inner()` reaches it).
#[derive(Debug, Clone)]
pub struct RoomLayer {
    intake: Intake,
}

/// A span's fields as captured at creation and on `record`, kept in the span's extensions.
struct SpanFields(String);

impl RoomLayer {
    pub(crate) fn new(intake: Intake) -> Self {
        Self { intake }
    }

    /// A `log::Log` feeding the same room, channel, budget and guard as this layer.
    pub fn log_bridge(&self) -> LogBridge {
        LogBridge::new(self.intake.clone())
    }

    fn capture_span<S>(values: impl FnOnce(&mut Capture<'_>), id: &Id, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Some(_handling) = reentrancy::enter() else {
            return;
        };
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        let mut ignored = String::new();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values(&mut Capture {
                message: &mut ignored,
                fields,
                errors: None,
            });
            return;
        }
        let mut fields = String::new();
        values(&mut Capture {
            message: &mut ignored,
            fields: &mut fields,
            errors: None,
        });
        extensions.insert(SpanFields(fields));
    }
}

impl<S> Layer<S> for RoomLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        Self::capture_span(|visitor| attrs.record(visitor), id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &SpanValues<'_>, ctx: Context<'_, S>) {
        Self::capture_span(|visitor| values.record(visitor), id, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !self.intake.wants(*meta.level(), meta.target()) || !self.intake.has_room() {
            return;
        }
        let Some(_handling) = reentrancy::enter() else {
            return;
        };
        let mut record = Record::new(
            *meta.level(),
            Cow::Borrowed(meta.target()),
            Cow::Borrowed(meta.name()),
            String::new(),
        );
        event.record(&mut Capture {
            message: &mut record.message,
            fields: &mut record.fields,
            errors: Some(&mut record.errors),
        });
        if let Some(scope) = ctx.event_scope(event) {
            record.spans = scope
                .from_root()
                .map(|span| SpanInfo {
                    name: span.name(),
                    fields: span
                        .extensions()
                        .get::<SpanFields>()
                        .map(|SpanFields(f)| f.clone())
                        .unwrap_or_default(),
                })
                .collect();
        }
        self.intake.submit(record);
    }
}
