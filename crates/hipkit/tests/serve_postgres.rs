//! `hipkit serve` on PostgreSQL: real `hipkit serve` and `hipkit emulator` processes over
//! loopback, a real PostgreSQL server (the one `scripts/test` starts, or
//! `HIPKIT_TEST_POSTGRES_URL`), a fresh database per test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_store::DatabaseUrl;
use hipkit_testkit::{BlockingApi, Proc, TOKEN, hipkit_bin, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A new, empty database on the test server.
fn fresh_database() -> DatabaseUrl {
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(hipkit_store::contract::postgres::fresh_database())
}

/// `hipkit serve` against `emulator`, its store the PostgreSQL database `url`.
fn serve(emulator: &str, url: &DatabaseUrl) -> Proc {
    hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0", "--timeout", "1"],
        &[
            ("HIPCHAT_ENDPOINT", emulator),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", url.expose()),
            ("HIPKIT_DELIVERY__BACKOFF_MIN_MS", "20"),
            ("HIPKIT_DELIVERY__BACKOFF_MAX_MS", "200"),
        ],
        "delivery:",
    )
}

/// POSTs a message (with an `Idempotency-Key` when given); status and answer.
fn send(serve: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let api = BlockingApi::anonymous(serve);
    let mut req = api.request(Method::POST, "/api/v1/messages").json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let (status, _, answer) = api.send(req);
    (status, answer)
}

fn room_count(emulator: &str, room: &str) -> u64 {
    BlockingApi::at(emulator).get(&format!("/v2/room/{room}/statistics"))["messages_sent"]
        .as_u64()
        .unwrap_or(0)
}

/// The password of `url` (the test server always has one).
fn password(url: &DatabaseUrl) -> String {
    let rest = url.expose().split_once("://").expect("a URL").1;
    let user_info = rest.rsplit_once('@').expect("a user").0;
    user_info.split_once(':').expect("a password").1.to_owned()
}

#[test]
fn messages_sent_to_serve_on_postgres_are_delivered() {
    let url = fresh_database();
    let emu = hipkit_bin!().emulator(&["--room", "Pg"]);
    let server = serve(&emu.base, &url);
    let banner = server.lines.concat();
    assert!(banner.contains("PostgreSQL"), "{banner}");
    assert!(!banner.contains(&password(&url)), "{banner}");
    for i in 0..25 {
        let (status, answer) = send(
            &server.base,
            None,
            &json!({"room": "Pg", "message": format!("pg {i}")}),
        );
        assert_eq!(status, 202, "{answer}");
    }
    wait_until("25 deliveries", Duration::from_secs(30), || {
        room_count(&emu.base, "Pg") == 25
    });
    let records = hipkit_bin!().outbox_records(Path::new(url.expose()));
    assert_eq!(records.len(), 25);
    wait_until("every record delivered", Duration::from_secs(30), || {
        hipkit_bin!()
            .outbox_records(Path::new(url.expose()))
            .iter()
            .all(|r| r["state"] == "delivered")
    });
}

#[test]
fn one_idempotency_key_sent_to_two_replicas_is_one_record() {
    let url = fresh_database();
    let emu = hipkit_bin!().emulator(&["--room", "Once"]);
    let (a, b) = (serve(&emu.base, &url), serve(&emu.base, &url));
    let body = json!({"room": "Once", "message": "exactly once"});
    let (status, first) = send(&a.base, Some("deploy-42"), &body);
    assert_eq!(status, 202, "{first}");
    let (status, second) = send(&b.base, Some("deploy-42"), &body);
    // 200 when the first replica has delivered it already.
    assert!(matches!(status, 200 | 202), "{status} {second}");
    assert_eq!(first["id"], second["id"], "{first} {second}");
    let records = hipkit_bin!().outbox_records(Path::new(url.expose()));
    assert_eq!(records.len(), 1, "{records:?}");
    wait_until("the delivery", Duration::from_secs(30), || {
        room_count(&emu.base, "Once") >= 1
    });
    // Another message through the second replica still gets through (it is not stuck on
    // the first one's record), and nothing was sent twice.
    let (status, _) = send(&b.base, None, &json!({"room": "Once", "message": "next"}));
    assert_eq!(status, 202);
    wait_until("the second delivery", Duration::from_secs(30), || {
        room_count(&emu.base, "Once") == 2
    });
}

#[test]
fn two_replicas_deliver_a_rooms_messages_in_acceptance_order() {
    let url = fresh_database();
    let emu = hipkit_bin!().emulator(&["--room", "Ordered"]);
    // The room's first call is held back: without per-room order across replicas, the
    // messages behind it (on either replica) overtook it.
    BlockingApi::at(&emu.base).add_fault(&json!({"method": "POST", "path": "/v2/room/Ordered/",
        "times": 1, "action": {"delay": {"delay_ms": 1500}}}));
    let replicas = [serve(&emu.base, &url), serve(&emu.base, &url)];
    let expected: Vec<String> = (1..=12).map(|n| format!("message {n}")).collect();
    for (n, text) in expected.iter().enumerate() {
        let (status, answer) = send(
            &replicas[n % 2].base,
            None,
            &json!({"room": "Ordered", "message": text}),
        );
        assert_eq!(status, 202, "{answer}");
    }
    let history = || -> Vec<String> {
        BlockingApi::at(&emu.base)
            .items("/v2/room/Ordered/history/latest?max-results=1000")
            .iter()
            .map(|i| i["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    wait_until("every message delivered", Duration::from_secs(60), || {
        history().len() >= expected.len()
    });
    assert_eq!(history(), expected, "the room's order");
}

/// Every emulator call to `room` is held back `delay_ms`, so deliveries take a while.
fn slow_room(emulator: &str, room: &str, delay_ms: u64) {
    BlockingApi::at(emulator).add_fault(&json!({"method": "POST",
        "path": format!("/v2/room/{room}/"), "times": 1_000_000,
        "action": {"delay": {"delay_ms": delay_ms}}}));
}

/// The texts of every message `room` received (all of its history).
fn delivered_texts(emulator: &str, room: &str) -> Vec<String> {
    BlockingApi::at(emulator)
        .history(room)
        .iter()
        .map(|i| i["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `GET /healthz`'s status (0 when serve does not answer).
fn health(serve: &str) -> u16 {
    let api = BlockingApi::anonymous(serve);
    api.try_send_text(api.request(Method::GET, "/healthz"))
        .map_or(0, |(status, _, _)| status)
}

/// The ids a query of the outbox returns (run directly on the database).
fn outbox_ids(url: &DatabaseUrl, sql: &'static str) -> Vec<String> {
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(async {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url.expose())
                .await
                .expect("connect to the test database");
            sqlx::query_scalar(sql)
                .fetch_all(&mut conn)
                .await
                .expect("query the outbox")
        })
}

#[test]
fn postgres_restarted_mid_delivery_refuses_intake_while_down_and_loses_nothing() {
    let cluster = hipkit_testkit::postgres::Cluster::start_new();
    let url = DatabaseUrl::new(cluster.url());
    let emu = hipkit_bin!().emulator(&["--room", "Restart"]);
    slow_room(&emu.base, "Restart", 40);
    let server = serve(&emu.base, &url);
    let mut accepted: Vec<String> = (0..60).map(|i| format!("before {i}")).collect();
    for text in &accepted {
        let (status, answer) = send(
            &server.base,
            None,
            &json!({"room": "Restart", "message": text}),
        );
        assert_eq!(status, 202, "{answer}");
    }
    wait_until("the first deliveries", Duration::from_secs(60), || {
        room_count(&emu.base, "Restart") >= 5
    });
    assert_eq!(health(&server.base), 200);

    cluster.stop();
    let delivered_at_stop = room_count(&emu.base, "Restart");
    assert!(
        delivered_at_stop < accepted.len() as u64,
        "PostgreSQL went away mid-delivery ({delivered_at_stop} delivered)"
    );
    wait_until("health red", Duration::from_secs(30), || {
        health(&server.base) == 503
    });
    let (status, answer) = send(
        &server.base,
        Some("while-down"),
        &json!({"room": "Restart", "message": "while down"}),
    );
    assert_eq!(status, 503, "{answer}");
    hipkit_testkit::assert_envelope(&answer, 503, "");
    assert!(!answer.to_string().contains(cluster.password()), "{answer}");

    cluster.start();
    wait_until("health green", Duration::from_secs(60), || {
        health(&server.base) == 200
    });
    // Accepted again (the key makes a retried send one message).
    wait_until("intake accepts again", Duration::from_secs(60), || {
        send(
            &server.base,
            Some("after-1"),
            &json!({"room": "Restart", "message": "after 1"}),
        )
        .0 == 202
    });
    accepted.push("after 1".into());
    for i in 2..=10 {
        let text = format!("after {i}");
        let (status, answer) = send(
            &server.base,
            None,
            &json!({"room": "Restart", "message": text}),
        );
        assert_eq!(status, 202, "{answer}");
        accepted.push(text);
    }
    wait_until(
        "every accepted message delivered",
        Duration::from_secs(120),
        || {
            let got = delivered_texts(&emu.base, "Restart");
            accepted.iter().all(|t| got.contains(t))
        },
    );
    let got = delivered_texts(&emu.base, "Restart");
    assert!(
        !got.iter().any(|t| t == "while down"),
        "a refused message was not stored"
    );
}

#[test]
fn a_replica_killed_mid_delivery_has_its_claimed_messages_delivered_by_the_other() {
    let url = fresh_database();
    let rooms: Vec<String> = (0..8).map(|i| format!("Take{i}")).collect();
    let mut args: Vec<&str> = Vec::new();
    for room in &rooms {
        args.extend(["--room", room.as_str()]);
    }
    let emu = hipkit_bin!().emulator(&args);
    for room in &rooms {
        slow_room(&emu.base, room, 300);
    }
    let replica = |name: &str| {
        hipkit_bin!().spawn(
            &["serve", "--listen", "127.0.0.1:0", "--timeout", "5"],
            &[
                ("HIPCHAT_ENDPOINT", emu.base.as_str()),
                ("HIPCHAT_API_TOKEN", TOKEN),
                ("HIPKIT_STORE", url.expose()),
                ("HIPKIT_STORE__REPLICA", name),
            ],
            "delivery:",
        )
    };
    let mut replicas = [replica("a"), replica("b")];
    let mut accepted = Vec::new();
    for i in 0..160 {
        let room = &rooms[i % rooms.len()];
        let text = format!("take {i}");
        let (status, answer) = send(
            &replicas[i % 2].base,
            None,
            &json!({"room": room, "message": text}),
        );
        assert_eq!(status, 202, "{answer}");
        accepted.push((room.clone(), text));
    }
    // Whichever replica holds claims right now is the one killed.
    let holders = "SELECT claimed_by FROM outbox WHERE state = 'in_flight' ORDER BY claimed_by";
    let mut victim = String::new();
    wait_until("a replica delivering", Duration::from_secs(60), || {
        victim = outbox_ids(&url, holders).pop().unwrap_or_default();
        !victim.is_empty()
    });
    let index = usize::from(victim == "b");
    replicas[index].kill();
    let claimed = if index == 0 {
        "SELECT id FROM outbox WHERE state = 'in_flight' AND claimed_by = 'a' ORDER BY id"
    } else {
        "SELECT id FROM outbox WHERE state = 'in_flight' AND claimed_by = 'b' ORDER BY id"
    };
    let orphaned = outbox_ids(&url, claimed);
    assert!(!orphaned.is_empty(), "{victim} died holding claims");

    wait_until(
        "a's claims taken over and delivered",
        Duration::from_secs(120),
        || {
            let delivered = outbox_ids(
                &url,
                "SELECT id FROM outbox WHERE state = 'delivered' ORDER BY id",
            );
            orphaned.iter().all(|id| delivered.contains(id))
        },
    );
    wait_until(
        "every accepted message delivered",
        Duration::from_secs(120),
        || {
            rooms.iter().all(|room| {
                let got = delivered_texts(&emu.base, room);
                accepted
                    .iter()
                    .filter(|(r, _)| r == room)
                    .all(|(_, t)| got.contains(t))
            })
        },
    );
}

/// A TCP relay to 127.0.0.1:`upstream` that a test can cut as a network would: while cut,
/// it neither forwards nor closes anything (no error reaches either side), new connections
/// hang, and what was held back flows again once it is restored.
struct Cable {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Cable {
    fn to(upstream: u16) -> Self {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let wait_while_cut = {
            let cut = cut.clone();
            move || {
                while cut.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        };
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                wait_while_cut();
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    let wait = wait_while_cut.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            wait();
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { port, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.store(cut, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_network_cut_to_postgres_turns_health_red_and_delivery_resumes_after() {
    let cluster = hipkit_testkit::postgres::Cluster::start_new();
    let cable = Cable::to(cluster.port());
    let url = DatabaseUrl::new(cluster.url().replace(
        &format!(":{}/", cluster.port()),
        &format!(":{}/", cable.port),
    ));
    let emu = hipkit_bin!().emulator(&["--room", "Cut"]);
    slow_room(&emu.base, "Cut", 40);
    let server = serve(&emu.base, &url);
    let mut accepted: Vec<String> = (0..40).map(|i| format!("before {i}")).collect();
    for text in &accepted {
        let (status, answer) = send(&server.base, None, &json!({"room": "Cut", "message": text}));
        assert_eq!(status, 202, "{answer}");
    }
    wait_until("the first deliveries", Duration::from_secs(60), || {
        room_count(&emu.base, "Cut") >= 3
    });

    cable.set_cut(true);
    wait_until("health red", Duration::from_secs(60), || {
        health(&server.base) == 503
    });
    let (status, answer) = send(
        &server.base,
        Some("while-cut"),
        &json!({"room": "Cut", "message": "while cut"}),
    );
    assert_eq!(status, 503, "{answer}");
    hipkit_testkit::assert_envelope(&answer, 503, "");

    cable.set_cut(false);
    wait_until("health green", Duration::from_secs(60), || {
        health(&server.base) == 200
    });
    wait_until("intake accepts again", Duration::from_secs(60), || {
        send(
            &server.base,
            Some("after-cut"),
            &json!({"room": "Cut", "message": "after the cut"}),
        )
        .0 == 202
    });
    accepted.push("after the cut".into());
    wait_until(
        "every accepted message delivered",
        Duration::from_secs(120),
        || {
            let got = delivered_texts(&emu.base, "Cut");
            accepted.iter().all(|t| got.contains(t))
        },
    );
}
