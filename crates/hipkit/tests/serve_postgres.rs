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
    serve_with(emulator, url, &[])
}

/// [`serve`] with more environment variables (settings). HipChat's limits are off, as the
/// emulator enforces none unless a test asks (and then gives hipkit the same).
fn serve_with(emulator: &str, url: &DatabaseUrl, more: &[(&str, &str)]) -> Proc {
    let mut env = vec![
        ("HIPCHAT_ENDPOINT", emulator),
        ("HIPCHAT_API_TOKEN", TOKEN),
        ("HIPKIT_STORE", url.expose()),
        ("HIPKIT_DELIVERY__BACKOFF_MIN_MS", "20"),
        ("HIPKIT_DELIVERY__BACKOFF_MAX_MS", "200"),
        ("HIPKIT_HIPCHAT__RATE_LIMIT", "0"),
        ("HIPKIT_HIPCHAT__FLOOD_LIMIT", "0"),
    ];
    env.extend_from_slice(more);
    hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0", "--timeout", "1"],
        &env,
        "delivery:",
    )
}

/// POSTs a message (with an `Idempotency-Key` when given); status and answer.
fn send(serve: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    send_via(&BlockingApi::anonymous(serve), key, body)
}

/// [`send`] through a client kept for many sends.
fn send_via(api: &BlockingApi, key: Option<&str>, body: &Value) -> (u16, Value) {
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

/// The emulator's limits in the three-replica test, given to hipkit too: per token 2,000
/// requests per 10 s, per room 200 messages per 10 s. Over 12 rooms both bind: 12 lanes at
/// 40 ms a call could send 300 a second, the rooms' budgets allow 240, the token's 200.
/// hipkit adds a 1 s margin to each window (a loaded machine delays some requests).
const TOKEN_LIMIT: (&str, &str) = ("2000", "10");
const ROOM_LIMIT: (&str, &str) = ("200", "10");
const ROOMS: usize = 12;
const MESSAGES: usize = 10_000;

/// Every room message the emulator stored, per room, in arrival order (its control API,
/// which no rate limit counts).
fn room_texts(emulator: &str, room: &str) -> Vec<String> {
    BlockingApi::at(emulator).get(&format!("/_emulator/rooms/{room}/messages"))["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| i["message"].as_str().unwrap_or_default().to_owned())
        .collect()
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

/// How many messages the emulator stored in all rooms.
fn stored(emulator: &str) -> u64 {
    BlockingApi::at(emulator).get("/_emulator/stats")["room_messages"]
        .as_u64()
        .unwrap_or(0)
}

/// The records in `state` now (up to 100,000).
fn records_in(url: &DatabaseUrl, state: &str) -> Vec<Value> {
    let args = ["--limit", "100000", "--state", state];
    hipkit_bin!().outbox_list(url.expose(), &args)
}

/// The payloads of the records in flight now.
fn in_flight(url: &DatabaseUrl) -> Vec<String> {
    records_in(url, "in_flight")
        .iter()
        .map(|r| r["payload"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Issue 24: three replicas on one database, HipChat's limits on (the emulator enforces
/// them, hipkit is given the same), 40 ms per room call, 10,000 messages sent round-robin
/// through the three send APIs, one replica killed (-9) twice while delivering, restarted
/// after the first kill. Every message arrives, duplicates are only messages that were in
/// flight at a kill, the emulator never answered 429, and each room's history is in
/// acceptance order.
#[test]
fn three_replicas_keep_the_shared_limits_and_lose_nothing_when_one_is_killed_twice() {
    let url = fresh_database();
    let rooms: Vec<String> = (1..=ROOMS).map(|r| format!("Scale{r}")).collect();
    let mut args = vec![
        "--rate-limit".to_owned(),
        format!("{}/{}", TOKEN_LIMIT.0, TOKEN_LIMIT.1),
        "--flood-limit".to_owned(),
        format!("{}/{}", ROOM_LIMIT.0, ROOM_LIMIT.1),
        "--retention".to_owned(),
        "20000".to_owned(),
    ];
    for room in &rooms {
        args.extend(["--room".to_owned(), room.clone()]);
    }
    let emu = hipkit_bin!().emulator(&args.iter().map(String::as_str).collect::<Vec<_>>());
    BlockingApi::at(&emu.base).add_fault(&json!({"method": "POST", "path": "/v2/room/",
        "times": 1_000_000, "action": {"delay": {"delay_ms": 40}}}));
    // The same limits for hipkit, a short lease (a killed replica's claims are taken over
    // after it), and a name per replica (a restarted one takes back its own claims at once).
    let limits = [
        ("HIPKIT_HIPCHAT__RATE_LIMIT", TOKEN_LIMIT.0),
        ("HIPKIT_HIPCHAT__RATE_WINDOW_SECS", TOKEN_LIMIT.1),
        ("HIPKIT_HIPCHAT__FLOOD_LIMIT", ROOM_LIMIT.0),
        ("HIPKIT_HIPCHAT__FLOOD_WINDOW_SECS", ROOM_LIMIT.1),
        ("HIPKIT_HIPCHAT__LIMIT_MARGIN_MS", "1000"),
        ("HIPKIT_DELIVERY__LEASE_SECS", "3"),
    ];
    let replica = |name: &'static str| {
        let mut env = limits.to_vec();
        env.push(("HIPKIT_STORE__REPLICA", name));
        serve_with(&emu.base, &url, &env)
    };
    let mut replicas = [replica("r0"), replica("r1"), replica("r2")];
    // Reported, never asserted.
    let started = std::time::Instant::now();
    let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();

    // Three senders, each owning a third of the rooms and sending its messages one after
    // another round-robin over the replicas: a room's acceptance order is its sender's order.
    let senders: Vec<_> = (0..3)
        .map(|sender| {
            let (bases, rooms) = (bases.clone(), rooms.clone());
            std::thread::spawn(move || {
                let apis: Vec<BlockingApi> =
                    bases.iter().map(|b| BlockingApi::anonymous(b)).collect();
                let mut sent: Vec<(String, String)> = Vec::new();
                for i in (sender..MESSAGES).step_by(3) {
                    let room = &rooms[(i / 3) % (ROOMS / 3) * 3 + sender];
                    let text = format!("m{i}");
                    let body = json!({"room": room, "message": text});
                    let (status, answer) = send_via(&apis[sent.len() % 3], None, &body);
                    assert_eq!(status, 202, "{answer}");
                    sent.push((room.clone(), text));
                }
                sent
            })
        })
        .collect();
    let mut accepted: Vec<(String, String)> = Vec::new();
    for sender in senders {
        accepted.extend(sender.join().expect("a sender"));
    }
    assert_eq!(accepted.len(), MESSAGES);
    let intake = started.elapsed();

    // Kill r0 while delivering, restart it, kill it again (for good).
    let mut at_kills: Vec<Vec<String>> = Vec::new();
    for (kill, after) in [(1, 3_000), (2, 6_000)] {
        wait_until(
            "deliveries before the kill",
            Duration::from_secs(120),
            || stored(&emu.base) >= after,
        );
        replicas[0].child.kill().expect("kill -9");
        replicas[0].child.wait().expect("reaped");
        at_kills.push(in_flight(&url));
        if kill == 1 {
            replicas[0] = replica("r0");
        }
    }
    wait_until("every message delivered", Duration::from_secs(180), || {
        stored(&emu.base) >= MESSAGES as u64
    });
    let delivery = started.elapsed();
    wait_until("every record settled", Duration::from_secs(60), || {
        ["queued", "in_flight"]
            .iter()
            .all(|state| records_in(&url, state).is_empty())
    });
    assert_eq!(
        records_in(&url, "dead"),
        Vec::<Value>::new(),
        "no dead letters"
    );
    assert_eq!(records_in(&url, "delivered").len(), MESSAGES);

    let log = BlockingApi::at(&emu.base).request_log();
    let refused: Vec<&Value> = log.iter().filter(|r| r["status"] == 429).collect();
    assert!(refused.is_empty(), "the emulator answered 429: {refused:?}");

    let mut duplicates: Vec<String> = Vec::new();
    for room in &rooms {
        let texts = room_texts(&emu.base, room);
        let mut seen = std::collections::HashSet::new();
        let mut order: Vec<String> = Vec::new();
        for text in texts {
            if seen.insert(text.clone()) {
                order.push(text);
            } else {
                // A message sent again follows its first delivery at once (its room's lane
                // waited for it), or the history is out of order.
                assert_eq!(
                    order.last(),
                    Some(&text),
                    "{room}: {text} again, not at once"
                );
                duplicates.push(text);
            }
        }
        let expected: Vec<String> = accepted
            .iter()
            .filter(|(r, _)| r == room)
            .map(|(_, t)| t.clone())
            .collect();
        assert_eq!(
            order, expected,
            "{room}: every message, in acceptance order"
        );
    }
    let in_flight_at_kills: Vec<&String> = at_kills.iter().flatten().collect();
    for text in &duplicates {
        assert!(
            in_flight_at_kills
                .iter()
                .any(|p| p.contains(&format!("\"{text}\""))),
            "{text} was delivered twice but was not in flight at a kill"
        );
    }
    assert!(duplicates.len() <= in_flight_at_kills.len());
    eprintln!(
        "{MESSAGES} delivered; {} duplicates; in flight at the kills: {:?}; {} requests logged, \
         none refused; all accepted after {intake:?}, all delivered after {delivery:?}",
        duplicates.len(),
        at_kills.iter().map(Vec::len).collect::<Vec<_>>(),
        log.len()
    );
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
    let emu = hipkit_bin!().emulator(&["--room", "Restart", "--room", "Bridged"]);
    slow_room(&emu.base, "Restart", 40);
    // The relay and the bridge take messages too: they must refuse as the send API does.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hipkit.toml");
    std::fs::write(&config, relay_and_bridge(&emu.base)).expect("write the config");
    let server = serve_with(
        &emu.base,
        &url,
        &[("HIPKIT_CONFIG", config.to_str().expect("a UTF-8 path"))],
    );
    let bridge = server
        .lines
        .iter()
        .find(|l| l.trim().starts_with("bridge:"))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
        .unwrap_or_else(|| panic!("no bridge: line in {:?}", server.lines))
        .to_owned();
    assert_eq!(relay_build(&server.base, 1).0, 202);
    assert_eq!(bridge_post(&bridge, "bridged before").0, 204);
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
    for (what, (status, answer)) in [
        ("the relay", relay_build(&server.base, 2)),
        ("the bridge", bridge_post(&bridge, "bridged while down")),
    ] {
        assert_eq!(status, 503, "{what}: {answer}");
        hipkit_testkit::assert_envelope(&answer, 503, "");
        assert!(!answer.to_string().contains(cluster.password()), "{answer}");
    }

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
    wait_until(
        "the relay and the bridge accept again",
        Duration::from_secs(60),
        || relay_build(&server.base, 3).0 == 202 && bridge_post(&bridge, "bridged after").0 == 204,
    );
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
        !got.iter().any(|t| t == "while down" || t == "Builder0 2"),
        "a refused message was not stored: {got:?}"
    );
    for build in ["Builder0 1", "Builder0 3"] {
        assert!(got.iter().any(|t| t == build), "{build} relayed: {got:?}");
    }
    wait_until(
        "the bridged messages delivered",
        Duration::from_secs(60),
        || {
            let bridged = delivered_texts(&emu.base, "Bridged");
            ["bridged before", "bridged after"]
                .iter()
                .all(|t| bridged.iter().any(|b| b == t))
        },
    );
    let bridged = delivered_texts(&emu.base, "Bridged");
    assert!(
        !bridged.iter().any(|t| t == "bridged while down"),
        "{bridged:?}"
    );
}

/// A relay (its secret [`RELAY_SECRET`]) reporting Builder0's builds to room Restart, and a
/// bridge (token [`BRIDGE_TOKEN`]) whose room Bridged goes to the emulator's room Bridged.
fn relay_and_bridge(emulator: &str) -> String {
    format!(
        r#"
[[reporters.hipchat]]
builder_room_map = {{ Builder0 = "Restart" }}
message = "{{{{ builder }}}} {{{{ build.number }}}}"

[reporters.relay]
secret = "{RELAY_SECRET}"

[bridge]
listen = "127.0.0.1:0"
tokens = [{{ token = "{BRIDGE_TOKEN}", scopes = ["send_notification"] }}]

[[bridge.rooms]]
name = "Bridged"
to = ["emulator"]

[[bridge.destinations]]
name = "emulator"
kind = "hipchat"
endpoint = "{emulator}"
token = "{TOKEN}"
"#
    )
}

const RELAY_SECRET: &str = "relay-secret-24";
const BRIDGE_TOKEN: &str = "bridge-token-24";

/// Posts build `number`'s finish to the relay, as Buildbot does; status and answer.
fn relay_build(serve: &str, number: u64) -> (u16, Value) {
    let api = BlockingApi::anonymous(serve);
    let build = json!({
        "buildid": 900 + number, "number": number, "builderid": 7, "buildrequestid": number,
        "complete": true, "results": 0, "state_string": "build successful",
        "url": format!("http://buildbot:8010/#/builders/7/builds/{number}"),
        "builder": {"builderid": 7, "name": "Builder0", "tags": []},
        "properties": {}, "buildset": {"bsid": number, "sourcestamps": []},
    });
    let req = api.request(Method::POST, "/hooks/buildbot");
    let req = req.header("X-Hipkit-Secret", RELAY_SECRET);
    let (status, _, answer) = api.send_text(req.json(&build));
    let answer = serde_json::from_str(&answer).unwrap_or(Value::String(answer));
    (status, answer)
}

/// Posts a room notification through the bridge, as HypChat does; status and answer.
fn bridge_post(bridge: &str, text: &str) -> (u16, Value) {
    let api = BlockingApi::new(hipkit_testkit::Api::new(bridge, BRIDGE_TOKEN));
    let body = json!({"message": text, "message_format": "text"});
    let (status, _, answer) = api.call(Method::POST, "/v2/room/Bridged/notification", Some(body));
    (status, answer)
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
