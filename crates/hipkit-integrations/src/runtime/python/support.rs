//! The support files: the host program and the modules integrations import (the seed's
//! `notification`, `server` and `hipchat`), built into hipkit and written to a private
//! temporary folder that the host runs from.

use std::path::Path;

/// The host program's file in the support folder.
pub(super) const HOST_PROGRAM: &str = "host.py";

/// Every support file: its path in the folder and its text.
const SUPPORT_FILES: &[(&str, &str)] = &[
    (HOST_PROGRAM, include_str!("../../python/host.py")),
    (
        "_hipkit_host/__init__.py",
        include_str!("../../python/_hipkit_host/__init__.py"),
    ),
    (
        "_hipkit_host/protocol.py",
        include_str!("../../python/_hipkit_host/protocol.py"),
    ),
    (
        "_hipkit_host/storage.py",
        include_str!("../../python/_hipkit_host/storage.py"),
    ),
    (
        "_hipkit_host/calls.py",
        include_str!("../../python/_hipkit_host/calls.py"),
    ),
    (
        "_hipkit_host/pool.py",
        include_str!("../../python/_hipkit_host/pool.py"),
    ),
    (
        "notification.py",
        include_str!("../../python/notification.py"),
    ),
    ("server.py", include_str!("../../python/server.py")),
    (
        "hipchat/__init__.py",
        include_str!("../../python/hipchat/__init__.py"),
    ),
    (
        "hipchat/_client.py",
        include_str!("../../python/hipchat/_client.py"),
    ),
    (
        "hipchat/messages.py",
        include_str!("../../python/hipchat/messages.py"),
    ),
    (
        "hipchat/notifications.py",
        include_str!("../../python/hipchat/notifications.py"),
    ),
    (
        "hipchat/files.py",
        include_str!("../../python/hipchat/files.py"),
    ),
    (
        "hipchat/cards/__init__.py",
        include_str!("../../python/hipchat/cards/__init__.py"),
    ),
    (
        "hipchat/cards/Card.py",
        include_str!("../../python/hipchat/cards/Card.py"),
    ),
];

/// Writes every support file to a new private temporary folder (removed when dropped).
pub(super) fn write() -> std::io::Result<tempfile::TempDir> {
    let support = tempfile::Builder::new()
        .prefix("hipkit-python-")
        .tempdir()?;
    for (rel, text) in SUPPORT_FILES {
        write_one(&support.path().join(rel), text)?;
    }
    Ok(support)
}

fn write_one(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}
