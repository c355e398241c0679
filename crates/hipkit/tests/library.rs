//! The library entry point as a Rust service uses it: settings → backend → `send_message`,
//! against the real emulator over loopback, the memory backend, and a failing stub.

use hipchat::{Color, MessageFormat, Token};
use hipkit::{Error, Hipkit, SendOptions, Settings, StubError, StubTransport, TransportError};
use hipkit_emulator::EmulatorEvent;
use hipkit_transport::{BackendKind, Destination};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn the_memory_backend_records_what_was_sent_without_a_token() {
    let mut settings = Settings::default();
    settings.delivery.backend = BackendKind::Memory;
    settings.hipchat.default_sender = Some("Django".into());
    let hipkit = Hipkit::from_settings(&settings)
        .await
        .expect("memory backend");
    hipkit
        .send_message(
            "Ops",
            "<b>up</b>",
            SendOptions::default().color(Color::Red).notify(true),
        )
        .await
        .expect("sent");
    let sent = hipkit.sent_messages().expect("memory backend records");
    assert_eq!(sent.len(), 1);
    let body = &sent[0].body;
    assert_eq!(sent[0].to, Destination::Room("Ops".into()));
    assert_eq!(body.message, "<b>up</b>");
    assert_eq!(body.color, Some(Color::Red));
    assert!(body.notify);
    assert_eq!(
        body.message_format,
        Some(MessageFormat::Html),
        "djhipchat2's default"
    );
    assert_eq!(
        body.from.as_deref(),
        Some("Django"),
        "HIPCHAT_DEFAULT_SENDER"
    );
}

#[tokio::test]
async fn the_outbox_backend_delivers_to_the_configured_hipchat() {
    let emulator = hipkit_testkit::emulator().token("lib-token").start().await;
    let mut events = emulator.subscribe();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.hipchat.endpoint = Some(emulator.base_url.clone());
    settings.hipchat.token = Some(Token::new("lib-token"));
    settings.store.path = dir.path().join("lib.db");
    let hipkit = Hipkit::from_settings(&settings)
        .await
        .expect("outbox backend");
    assert!(hipkit.sent_messages().is_none());
    let delivery = hipkit
        .send_message(
            "Build Room",
            "from a service",
            SendOptions::default().sender("svc"),
        )
        .await
        .expect("accepted");
    assert_eq!(delivery.state, hipkit::DeliveryState::Queued);
    let delivered = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await {
                Ok(EmulatorEvent::RoomNotification { room, item }) => return (room, item),
                Ok(_) => continue,
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("the workers delivered it");
    assert_eq!(delivered.0.name, "Build Room");
    assert_eq!(delivered.1.message, "from a service");
    hipkit.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_stub_transport_lets_users_test_their_error_paths() {
    let stub = Arc::new(StubTransport::new_error(StubError::Status(503)));
    let hipkit = Hipkit::with_transport(stub.clone());
    let err = hipkit
        .send_message("Ops", "will fail", SendOptions::default())
        .await
        .expect_err("the stub fails");
    assert!(
        matches!(err, Error::Transport(TransportError::HipChat(_))),
        "{err:?}"
    );
    assert_eq!(stub.sent_messages().len(), 1, "the attempt is recorded");

    let invalid = hipkit
        .send_message("Ops", "x", SendOptions::default().sender("s".repeat(65)))
        .await
        .expect_err("a 65-character sender is refused");
    assert!(invalid.to_string().contains("from"), "{invalid}");
}

#[tokio::test]
async fn http_and_outbox_backends_need_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.store.path = dir.path().join("x.db");
    let err = Hipkit::from_settings(&settings)
        .await
        .expect_err("no token");
    assert!(err.to_string().contains("HIPCHAT_API_TOKEN"), "{err}");
}
