//! [`Hipkit`]: the configured backend, built from [`Settings`], and `send_message`.

use crate::{Error, Settings};
use hipchat::{Color, MessageFormat, RoomNotification};
use hipkit_transport::outbox::DeliveryMetrics;
use hipkit_transport::{
    BackendKind, Delivery, DeliveryBackend, MemoryTransport, Message, NullTransport, Transport,
};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// djhipchat2's `send_message` options: sender, format, notify, colour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// The `from` label (default: `[hipchat] default_sender` / `HIPCHAT_DEFAULT_SENDER`).
    pub sender: Option<String>,
    /// `html` (djhipchat2's default) or `text`.
    pub format: Option<MessageFormat>,
    /// Notify the room's participants.
    pub notify: bool,
    /// Background colour (HipChat's default: yellow).
    pub color: Option<Color>,
}

impl SendOptions {
    /// Sets the `from` label.
    pub fn sender(mut self, sender: impl Into<String>) -> Self {
        self.sender = Some(sender.into());
        self
    }

    /// Sets the message format.
    pub fn format(mut self, format: MessageFormat) -> Self {
        self.format = Some(format);
        self
    }

    /// Notifies participants.
    pub fn notify(mut self, notify: bool) -> Self {
        self.notify = notify;
        self
    }

    /// Sets the colour.
    pub fn color(mut self, color: Color) -> Self {
        self.color = Some(color);
        self
    }
}

/// Running outbox workers and the switch that stops them.
struct Workers {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The configured backend a service sends through: the transport the settings name
/// (the durable outbox, straight HTTP, memory, null or file), with its workers running.
pub struct Hipkit {
    transport: Arc<dyn Transport>,
    default_sender: Option<String>,
    memory: Option<MemoryTransport>,
    label: String,
    workers: Option<Workers>,
}

impl std::fmt::Debug for Hipkit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hipkit")
            .field("backend", &self.label)
            .finish_non_exhaustive()
    }
}

impl Hipkit {
    /// Builds the backend from `HIPKIT_CONFIG` / `hipkit.toml` and the environment
    /// (`HIPCHAT_ENDPOINT`, `HIPCHAT_API_TOKEN`, `HIPCHAT_BACKEND`, ...), as the CLI does.
    pub async fn from_env() -> Result<Self, Error> {
        Self::from_settings(&Settings::from_env()?).await
    }

    /// Builds the backend the settings describe; outbox workers start on the current runtime.
    /// Memory, null and file backends need no token.
    pub async fn from_settings(settings: &Settings) -> Result<Self, Error> {
        let inner: Arc<dyn Transport> = match settings.delivery.backend {
            BackendKind::Http | BackendKind::Outbox => Arc::new(
                hipkit_transport::HttpTransport::new(settings.hipchat.build()?),
            ),
            // Never used by these backends; no token or endpoint is needed.
            _ => Arc::new(NullTransport::new()),
        };
        let backend = settings
            .delivery_backend(inner, Arc::new(DeliveryMetrics::default()))
            .await?;
        Ok(Self::from_backend(
            backend,
            settings.hipchat.default_sender.clone(),
        ))
    }

    /// Wraps a built backend, starting its workers.
    fn from_backend(backend: DeliveryBackend, default_sender: Option<String>) -> Self {
        let workers = backend.workers.map(|w| {
            let (stop, stopped) = watch::channel(false);
            Workers {
                stop,
                task: tokio::spawn(w.run(stopped)),
            }
        });
        Self {
            transport: backend.transport,
            default_sender,
            memory: backend.memory,
            label: backend.label,
            workers,
        }
    }

    /// Sends through any transport (a [`hipkit_transport::StubTransport`] in tests).
    pub fn with_transport(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport,
            default_sender: None,
            memory: None,
            label: "custom".into(),
            workers: None,
        }
    }

    /// Sends `message` to a room (id or name) with djhipchat2's options.
    pub async fn send_message(
        &self,
        room: &str,
        message: &str,
        options: SendOptions,
    ) -> Result<Delivery, Error> {
        let notification = RoomNotification {
            message: message.to_owned(),
            message_format: Some(options.format.unwrap_or(MessageFormat::Html)),
            color: options.color,
            notify: options.notify,
            from: options.sender.or_else(|| self.default_sender.clone()),
            ..RoomNotification::default()
        };
        self.send(&Message::room(room, notification)).await
    }

    /// Sends a full message (a notification with a card, a private message, ...). Through
    /// the outbox, a room's (or user's) messages are delivered in the order they were sent:
    /// each destination is an ordered lane.
    pub async fn send(&self, message: &Message) -> Result<Delivery, Error> {
        let options = hipkit_transport::SendOptions {
            lane: Some(message.to.to_string()),
            ..hipkit_transport::SendOptions::default()
        };
        Ok(self.transport.send_with(message, &options).await?.delivery)
    }

    /// The transport, to hand to other hipkit parts (the log layer, reporters).
    pub fn transport(&self) -> Arc<dyn Transport> {
        self.transport.clone()
    }

    /// What the memory backend has recorded, in order (djhipchat2's `sent_messages`);
    /// `None` for other backends.
    pub fn sent_messages(&self) -> Option<Vec<Message>> {
        self.memory.as_ref().map(MemoryTransport::sent_messages)
    }

    /// A short description of the backend, e.g. `outbox (SQLite hipkit.db)`.
    pub fn backend_label(&self) -> &str {
        &self.label
    }

    /// Stops the outbox workers: deliveries in flight finish or go back to the queue.
    pub async fn shutdown(self) {
        if let Some(w) = self.workers {
            let _ = w.stop.send(true);
            let _ = w.task.await;
        }
    }
}
