//! Executable integrations: the request on stdin, the reply on stdout; limits enforced.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

mod common;

use common::*;
use hipkit_integrations::IntegrationsConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executables_reply_with_text_or_json_and_are_limited() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    let d = dir.path();
    write(
        d,
        "hello.sh",
        "#!/bin/sh\nread -r request\necho \"hello: $request\" | cut -c1-40\n",
        0o755,
    );
    write(
        d,
        "json",
        "#!/usr/bin/env python3\nimport json, sys\nr = json.load(sys.stdin)\n\
         print(json.dumps({'message': r['query'].upper(), 'color': 'purple', \
         'message_format': 'text', 'from': str(r['token']) + str(len(r['storage']))}))\n",
        0o755,
    );
    write(
        d,
        "fails",
        "#!/bin/sh\necho 'bad thing happened' >&2\nexit 3\n",
        0o755,
    );
    write(d, "hangs", "#!/bin/sh\nexec sleep 60\n", 0o755);
    write(d, "floods", "#!/bin/sh\nexec yes\n", 0o755);
    write(d, "silent", "#!/bin/sh\ncat >/dev/null\n", 0o755);
    write(d, "notes.txt", "not executable", 0o644);
    let config = IntegrationsConfig {
        timeout_secs: 1,
        max_output_bytes: 64 * 1024,
        tokens: vec!["json:tok".parse().unwrap()],
        ..IntegrationsConfig::default()
    };
    let stack = Stack::start(d, &db, &emu, config).await;
    assert_eq!(
        stack.reply_text(1, "/hello a").await,
        "hello: {\"notification\":{\"event\":\"room_me"
    );
    let (status, reply) = stack.command(1, "/json shout").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["message"], "SHOUT");
    assert_eq!(reply["color"], "purple");
    assert_eq!(reply["from"], "tok0");
    assert_eq!(stack.command(1, "/silent").await.0, 204);
    for (command, expected) in [
        ("/fails", "exited with exit status: 3: bad thing happened"),
        ("/hangs", "did not finish within 1 s"),
        ("/floods", "flooded its output"),
        ("/notes", "No integration /notes"),
    ] {
        let text = stack.reply_text(1, command).await;
        assert!(text.contains(expected), "{command}: {text}");
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_an_executable_starts_outlives_its_call() {
    let emu = emulator().await;
    let (dir, db, data) = folders();
    let d = dir.path();
    let (detached, held) = (data.path().join("detached"), data.path().join("held"));
    // Answers at once, leaving a background process that no longer holds its output.
    write(
        d,
        "detaches",
        &format!(
            "#!/bin/sh\nsleep 60 >/dev/null 2>&1 &\necho $! > {}\necho started\n",
            detached.display()
        ),
        0o755,
    );
    // Hangs, with a child that holds its stdout open: killed at the timeout, child and all.
    write(
        d,
        "holds",
        &format!(
            "#!/bin/sh\nsleep 60 &\necho $! > {}\nwait\n",
            held.display()
        ),
        0o755,
    );
    let config = IntegrationsConfig {
        timeout_secs: 1,
        ..IntegrationsConfig::default()
    };
    let stack = Stack::start(d, &db, &emu, config).await;
    assert_eq!(stack.reply_text(1, "/detaches").await, "started");
    wait_ended(&detached, "the background sleep survived its call").await;
    let text = stack.reply_text(1, "/holds").await;
    assert!(text.contains("did not finish within 1 s"), "{text}");
    wait_ended(&held, "the hanging script's child survived the kill").await;
    // Running an executable opens its file in the watched folder: not a change.
    assert_folder_stays_quiet(&stack.integrations).await;
    stack.stop().await;
}
