//! Executable integrations: the request on stdin, the reply on stdout; limits enforced.

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
