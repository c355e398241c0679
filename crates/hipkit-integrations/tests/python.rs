//! Python integrations over loopback: the seed example unchanged, tokens, storage across a
//! restart, replies, failures (timeout, crash, flood, exceptions) and reloading.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod common;

use common::*;
use hipkit_integrations::IntegrationsConfig;
use hipkit_testkit::wait_until_async;
use serde_json::{Value, json};
use std::time::Duration;

#[path = "fixtures/seed_example.rs"]
mod seed_example;

use seed_example::EXAMPLE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_example_does_its_four_effects() {
    let emu = emulator().await;
    let room = room_id(&emu).await;
    let (dir, db, _data) = folders();
    write(dir.path(), "example.py", EXAMPLE, 0o644);
    // Binary, not UTF-8: the seed's helper could only upload text.
    seed_example::write_upload_file();
    let config = seed_example_config(room, IntegrationsConfig::default());
    let stack = Stack::start(dir.path(), &db, &emu, config).await;
    let (status, body) = stack.command(room, "/example hello 50% world").await;
    assert_eq!(status, 204, "{body}");
    let items = emu.api().history("Build Room").await;
    let shown: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            let from = match &i["from"] {
                Value::String(s) => s.clone(),
                other => other["name"].as_str().unwrap_or("").to_owned(),
            };
            (from, i["message"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert_eq!(items.len(), 4, "{shown:?}");
    assert_eq!(items[0]["file"]["size"], 6, "{}", items[0]);
    assert_eq!(shown[1], ("example".into(), "hello 50% world".into()));
    assert_eq!(shown[2].1, "hello 50% world");
    assert_eq!(shown[3], ("Test sender".into(), "Test message".into()));
    assert_eq!(items[3]["card"]["title"], "Test title");
    assert_eq!(
        stack.store().export("example").await.unwrap()["#0"],
        json!("hello 50% world")
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_tokens_win_over_global_ones() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(
        dir.path(),
        "who.py",
        "def run_integration(notification, query, all_tokens, token, storage, log):\n    \
         return 'token=%s rooms=%s' % (token, sorted(k for k in all_tokens if k.isdigit()))\n",
        0o644,
    );
    let config = IntegrationsConfig {
        tokens: vec![
            "who:global-one".parse().unwrap(),
            "7:who:room-seven:with:colons".parse().unwrap(),
        ],
        ..IntegrationsConfig::default()
    };
    let stack = Stack::start(dir.path(), &db, &emu, config).await;
    assert_eq!(
        stack.reply_text(7, "/who").await,
        "token=room-seven:with:colons rooms=['7']"
    );
    assert_eq!(
        stack.reply_text(8, "/who").await,
        "token=global-one rooms=['7']"
    );
    stack.stop().await;
}

const COUNTER: &str = "
def run_integration(notification, query, all_tokens, token, storage, log):
    storage[len(storage)] = query
    storage['#tag'] = 'hash'
    storage['last'] = {'query': query, 'lines': query.split('\\n')}
    keys = sorted((type(k).__name__, k) for k in storage)
    return {'message': '%d %s' % (len(storage), keys), 'color': 'green', 'message_format': 'text'}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_survives_a_restart_with_its_key_types() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(dir.path(), "count.py", COUNTER, 0o644);
    let stack = Stack::start(dir.path(), &db, &emu, IntegrationsConfig::default()).await;
    stack.reply_text(1, "/count a").await;
    let (_, reply) = stack.command(1, "/count b\nsecond line").await;
    assert_eq!(reply["color"], "green");
    stack.stop().await;

    let stack = Stack::start(dir.path(), &db, &emu, IntegrationsConfig::default()).await;
    assert_eq!(
        stack.reply_text(1, "/count c").await,
        "5 [('int', 0), ('int', 3), ('int', 4), ('str', '#tag'), ('str', 'last')]"
    );
    let stored = stack.store().export("count").await.unwrap();
    assert_eq!(stored["#3"], json!("b\nsecond line"));
    assert_eq!(stored["##tag"], json!("hash"));
    assert_eq!(stored["last"]["lines"], json!(["c"]));

    // A value JSON cannot hold is refused by name; the host and the stored keys stay.
    write(
        dir.path(),
        "nan.py",
        "def run_integration(storage):\n    storage['x'] = float('nan')\n    \
         return {'message': 'kept', 'extra': float('inf')}\n",
        0o644,
    );
    let refused = stack.reply_text(1, "/nan").await;
    assert!(
        refused.contains("storage['x'] is not JSON") && refused.contains("the reply is not JSON"),
        "{refused}"
    );
    assert!(stack.store().get("nan", "x").await.unwrap().is_none());
    assert_eq!(
        stack.reply_text(1, "/count d").await,
        "6 [('int', 0), ('int', 3), ('int', 4), ('int', 5), ('str', '#tag'), ('str', 'last')]"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_reported_and_the_server_keeps_serving() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    let d = dir.path();
    write(
        d,
        "sleepy.py",
        "import time\ndef run_integration(**kw):\n    time.sleep(60)\n",
        0o644,
    );
    write(
        d,
        "crash.py",
        "import os\ndef run_integration(**kw):\n    os._exit(3)\n",
        0o644,
    );
    write(
        d,
        "flood.py",
        "def run_integration(**kw):\n    while True:\n        print('x' * 1000)\n",
        0o644,
    );
    write(
        d,
        "raises.py",
        "def run_integration(query, log):\n    log.error('about to fail: 100%')\n    raise ValueError('no ' + query)\n",
        0o644,
    );
    write(d, "broken.py", "def run_integration(:\n", 0o644);
    write(
        d,
        "ok.py",
        "def run_integration(query):\n    return 'ok ' + query\n",
        0o644,
    );
    write(
        d,
        "badreply.py",
        "def run_integration():\n    return [1, 2]\n",
        0o644,
    );
    write(
        d,
        "nonjson.py",
        "def run_integration():\n    return object()\n",
        0o644,
    );
    let config = IntegrationsConfig {
        timeout_secs: 1,
        max_output_bytes: 64 * 1024,
        ..IntegrationsConfig::default()
    };
    let stack = Stack::start(d, &db, &emu, config).await;
    for (command, expected) in [
        ("/sleepy", "did not finish within 1 s"),
        ("/crash", "crashed"),
        ("/flood", "flooded its output"),
        ("/raises x", "ValueError: no x"),
        ("/broken", "could not start: SyntaxError"),
        ("/badreply", "must be None, a string or a dict, not a list"),
        ("/nonjson", "the reply is not JSON"),
    ] {
        let (status, reply) = stack.command(1, command).await;
        assert_eq!(status, 200, "{command}: {reply}");
        assert_eq!(reply["color"], "red", "{command}: {reply}");
        let text = reply["message"].as_str().unwrap();
        assert!(text.contains(expected), "{command}: {text}");
        assert_eq!(stack.reply_text(1, "/ok still").await, "ok still");
    }
    // A host that crashed is started again.
    assert!(stack.reply_text(1, "/crash").await.contains("crashed"));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_and_changed_integrations_are_picked_up_without_a_restart() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    let d = dir.path();
    write(
        d,
        "v.py",
        "def run_integration():\n    return 'one'\n",
        0o644,
    );
    let stack = Stack::start(d, &db, &emu, IntegrationsConfig::default()).await;
    assert_eq!(stack.reply_text(1, "/v").await, "one");
    write(
        d,
        "v.py",
        "def run_integration():\n    return 'two, longer'\n",
        0o644,
    );
    write(
        d,
        "fresh.py",
        "def run_integration():\n    return 'fresh'\n",
        0o644,
    );
    let stack_ref = &stack;
    wait_until_async(
        "the changed script's reply",
        Duration::from_secs(10),
        move || async move { stack_ref.reply_text(1, "/v").await == "two, longer" },
    )
    .await;
    assert_eq!(stack.reply_text(1, "/fresh").await, "fresh");
    assert_folder_stays_quiet(&stack.integrations).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_missing_is_a_clear_start_error() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(
        dir.path(),
        "echo.py",
        "def run_integration():\n    pass\n",
        0o644,
    );
    let config = IntegrationsConfig {
        python: "/nonexistent/python3".into(),
        ..IntegrationsConfig::default()
    };
    let err = Stack::try_start(dir.path(), &db, &emu, config)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("echo.py") && err.contains("Python 3.7"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_calls_of_one_integration_run_side_by_side_up_to_concurrency() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(
        dir.path(),
        "busy.py",
        "import threading, time\nlock = threading.Lock()\nstate = {'now': 0, 'most': 0}\n\
         def run_integration():\n    with lock:\n        state['now'] += 1\n        \
         state['most'] = max(state['most'], state['now'])\n    time.sleep(0.05)\n    \
         with lock:\n        state['now'] -= 1\n    return str(state['most'])\n",
        0o644,
    );
    let config = IntegrationsConfig {
        concurrency: 2,
        ..IntegrationsConfig::default()
    };
    let stack = std::sync::Arc::new(Stack::start(dir.path(), &db, &emu, config).await);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let stack = stack.clone();
            tokio::spawn(async move { stack.reply_text(1, "/busy").await })
        })
        .collect();
    let mut most = 0;
    for call in calls {
        most = most.max(call.await.unwrap().parse::<u32>().unwrap());
    }
    // The host starts with one thread and adds one while calls wait behind a blocked call.
    assert_eq!(most, 2, "{most} calls ran at once");
    // Once nothing blocks, the added thread retires: one worker and the watcher are left.
    write(
        dir.path(),
        "threads.py",
        "import threading
def run_integration():
    return str(threading.active_count())
",
        0o644,
    );
    let stack_ref = &stack;
    wait_until_async(
        "two threads in the host",
        Duration::from_secs(10),
        move || async move { stack_ref.reply_text(1, "/threads").await == "2" },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notification_is_the_seeds_attribute_tree_whenever_it_is_first_used() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    // The payload is parsed at the notification's first use: whichever use comes first
    // (vars, an attribute, setting one, isinstance), the integration sees the whole tree.
    write(
        dir.path(),
        "tree.py",
        "from notification import Notification\n\
         def describe(n):\n    \
             m = n.item.message\n    \
             return '%s %s %s %s %s %s %s' % (type(n).__name__, isinstance(n, Notification), \
             m.content, m.sender.name, n.item.room.id, n.web_hook, n.not_sent)\n\
         def run_integration(notification, query):\n    \
             if query == 'vars':\n        \
                 return ' '.join(sorted(vars(notification))) + ' | ' + describe(notification)\n    \
             if query == 'set':\n        \
                 notification.mine = 1\n        \
                 return '%s %s' % (notification.mine, describe(notification))\n    \
             if query == 'isinstance':\n        \
                 return '%s %s' % (isinstance(notification, Notification), describe(notification))\n    \
             return describe(notification)\n",
        0o644,
    );
    let stack = Stack::start(dir.path(), &db, &emu, IntegrationsConfig::default()).await;
    let tree = "Notification True /tree";
    let plain = stack.reply_text(9, "/tree").await;
    assert!(plain.starts_with(tree), "{plain}");
    assert!(plain.ends_with("Alice Smith 9 578829 None"), "{plain}");
    let fields = stack.reply_text(9, "/tree vars").await;
    assert!(
        fields.starts_with("event item oauth_client_id web_hook webhook_id | Notification True"),
        "{fields}"
    );
    let set = stack.reply_text(9, "/tree set").await;
    assert!(set.starts_with("1 Notification True"), "{set}");
    let checked = stack.reply_text(9, "/tree isinstance").await;
    assert!(checked.starts_with("True Notification True"), "{checked}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_hosts_subprocesses_die_with_it() {
    let emu = emulator().await;
    let (dir, db, data) = folders();
    let d = dir.path();
    let pid = data.path().join("child");
    write(
        d,
        "spawns.py",
        &format!(
            "import subprocess, time\n\
             def run_integration():\n    \
             child = subprocess.Popen(['sleep', '60'])\n    \
             open({:?}, 'w').write(str(child.pid))\n    \
             time.sleep(60)\n",
            pid.display().to_string()
        ),
        0o644,
    );
    let config = IntegrationsConfig {
        timeout_secs: 1,
        ..IntegrationsConfig::default()
    };
    let stack = Stack::start(d, &db, &emu, config).await;
    let text = stack.reply_text(1, "/spawns").await;
    assert!(text.contains("did not finish within 1 s"), "{text}");
    wait_ended(&pid, "the script's subprocess outlived its killed host").await;
    stack.stop().await;
}

/// Issue 20: what a script starts in a new session (`setsid`), even daemonised by a double
/// fork, does not outlive its host, whether the call times out or the host is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_started_in_a_new_session_die_with_their_host() {
    let emu = emulator().await;
    let (dir, db, data) = folders();
    let d = dir.path();
    let pid = |name: &str| data.path().join(name);
    // `setsid sleep` (a new session), and `setsid -f` whose forked child is orphaned at once.
    let script = |name: &str, then: &str| {
        format!(
            "import os, subprocess, time\n\
             QUIET = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, \
             stderr=subprocess.DEVNULL)\n\
             def run_integration():\n    \
             subprocess.Popen(['setsid', 'sh', '-c', 'echo $$ > {a}; exec sleep 1000'], **QUIET)\n    \
             subprocess.run(['setsid', '-f', 'sh', '-c', 'echo $$ > {b}; exec sleep 1000'], **QUIET)\n    \
             for f in ('{a}', '{b}'):\n        \
             while not (os.path.exists(f) and os.path.getsize(f)):\n            \
             time.sleep(0.01)\n    \
             {then}\n",
            a = pid(&format!("{name}-session")).display(),
            b = pid(&format!("{name}-daemon")).display(),
        )
    };
    write(d, "hangs.py", &script("hangs", "time.sleep(60)"), 0o644);
    write(
        d,
        "leaves.py",
        &script("leaves", "return 'left them'"),
        0o644,
    );
    let config = IntegrationsConfig {
        timeout_secs: 2,
        ..IntegrationsConfig::default()
    };
    let stack = Stack::start(d, &db, &emu, config).await;
    let text = stack.reply_text(1, "/hangs").await;
    assert!(text.contains("did not finish within 2 s"), "{text}");
    for name in ["hangs-session", "hangs-daemon"] {
        wait_ended(&pid(name), "a setsid process outlived its timed-out host").await;
    }
    assert_eq!(stack.reply_text(1, "/leaves").await, "left them");
    for name in ["leaves-session", "leaves-daemon"] {
        assert!(runs(&pid(name)), "{name} did not start");
    }
    stack.stop().await;
    for name in ["leaves-session", "leaves-daemon"] {
        wait_ended(&pid(name), "a setsid process outlived its stopped host").await;
    }
}
