//! Killing what a Python host started, including processes that left its process group with
//! `setsid` (a new session) or daemonised by forking twice. The host makes itself a child
//! subreaper at start (`PR_SET_CHILD_SUBREAPER`), so every orphan below it is re-parented to
//! it rather than to init: while the host lives, all it ever started is in its subtree of
//! `/proc`, whatever session or group they moved to. Before the host is killed its subtree
//! is killed, leaves and parents alike, until none is left.
//!
//! Chosen over a cgroup: as root in a container without systemd, `/sys/fs/cgroup` is
//! usually read-only or not delegated, so a cgroup cannot be relied on; the subreaper needs
//! no privilege and works everywhere Linux runs.

use rustix::process::{Pid, Signal, kill_process};
use std::collections::HashMap;

/// Rounds of "find the subtree, kill it": a process forking while it is being killed leaves
/// its new child to the next round.
const ROUNDS: usize = 16;

/// Every live process's parent, read from `/proc/*/stat`.
fn parents() -> HashMap<i32, i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            let pid: i32 = name.to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
            let (_, rest) = stat.rsplit_once(')')?;
            let mut fields = rest.split_whitespace();
            // A zombie has ended already (and has no children left): nothing to kill.
            if fields.next()? == "Z" {
                return None;
            }
            let ppid: i32 = fields.next()?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// The pids below `root` (children, their children, ...).
fn descendants(root: i32) -> Vec<i32> {
    let parents = parents();
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&pid, &ppid) in &parents {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut next = vec![root];
    while let Some(pid) = next.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            found.push(child);
            next.push(child);
        }
    }
    found
}

/// Kills every process below `root` (which itself is left alone, so that orphans of the
/// ones killed keep coming to it and are found in the next round).
pub(crate) fn kill_descendants(root: Option<u32>) {
    let Some(root) = root.and_then(|pid| i32::try_from(pid).ok()) else {
        return;
    };
    for _ in 0..ROUNDS {
        let below = descendants(root);
        let mut killed = 0;
        for pid in below.into_iter().filter_map(Pid::from_raw) {
            if kill_process(pid, Signal::KILL).is_ok() {
                killed += 1;
            }
        }
        if killed == 0 {
            return;
        }
        // The host reaps them (or they become its zombies): give the kernel a moment to
        // re-parent their orphans before looking again.
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_process_has_no_descendants_it_did_not_start() {
        let me = i32::try_from(std::process::id()).unwrap();
        assert!(!super::descendants(me).contains(&me));
        assert!(super::descendants(i32::MAX).is_empty());
    }
}
