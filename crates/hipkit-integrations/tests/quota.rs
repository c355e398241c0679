//! Issue 20 point 7: each integration's storage has a size and a key-count quota. The script
//! sees an assignment over it refused (`StorageQuotaExceeded`, catchable); changes that slip
//! past that check (a stored list grown in place) are refused when the call ends, and the
//! storage stays as saved. Exports stream the stored entries.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::*;
use hipkit_integrations::IntegrationsConfig;

const FILL: &str = "\
def run_integration(query, storage):
    cmd, _, arg = query.partition(' ')
    if cmd == 'put':
        key, size = arg.split()
        try:
            storage[key] = 'x' * int(size)
        except storage.QuotaExceeded as e:
            return 'refused: %s' % e
        return 'stored'
    if cmd == 'putraw':
        key, size = arg.split()
        storage[key] = 'x' * int(size)
        return 'stored'
    if cmd == 'grow':
        storage.setdefault('l', []).extend(['y' * 100] * int(arg))
        return 'grown'
    if cmd == 'len':
        return '%d keys, l has %d' % (len(storage), len(storage.get('l', [])))
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_beyond_its_quota_is_refused_with_a_clear_error() {
    let emu = emulator().await;
    let (dir, db, _data) = folders();
    write(dir.path(), "fill.py", FILL, 0o644);
    let config = IntegrationsConfig {
        storage_max_bytes: 1_000,
        storage_max_keys: 3,
        ..IntegrationsConfig::default()
    };
    let stack = Stack::start(dir.path(), &db, &emu, config).await;
    assert_eq!(stack.reply_text(1, "/fill put a 100").await, "stored");
    let refused = stack.reply_text(1, "/fill put b 2000").await;
    assert!(
        refused.starts_with(
            "refused: storing 'b' (2003 bytes) would take this integration's storage to \
             2106 bytes, over its quota of 1000 bytes"
        ) && refused.contains("[integrations] storage_max_bytes"),
        "{refused}"
    );
    let raised = stack.reply_text(1, "/fill putraw b 2000").await;
    assert!(
        raised.contains("failed: StorageQuotaExceeded: storing 'b'"),
        "{raised}"
    );
    assert_eq!(stack.reply_text(1, "/fill grow 3").await, "grown");
    // Grown in place past the quota: only the check at the call's end sees it.
    let over = stack.reply_text(1, "/fill grow 10").await;
    assert!(
        over.contains(
            "ran, but its storage changes were refused: storage quota exceeded: \
             its storage would hold"
        ) && over.contains("over the quota of 1000 bytes and 3 keys"),
        "{over}"
    );
    assert_eq!(stack.reply_text(1, "/fill len").await, "2 keys, l has 3");
    assert_eq!(stack.reply_text(1, "/fill put c 1").await, "stored");
    let keys = stack.reply_text(1, "/fill put d 1").await;
    assert!(
        keys.contains("would make 4 keys, over this integration's quota of 3 keys"),
        "{keys}"
    );
    // The export (streamed) is the saved storage, as JSON.
    let exported = stack.admin().get("/admin/storage/fill").await;
    let keys: Vec<&String> = exported.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a", "c", "l"]);
    assert_eq!(exported["l"].as_array().unwrap().len(), 3);
    stack.stop().await;
}
