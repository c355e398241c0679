//! The re-entrancy guard: a record emitted while this thread is handling a record (a field's
//! `Debug` that logs, the transport logging while it posts) is not handled again.
//!
//! The flag is thread-local on purpose: handling a record is synchronous on the emitting
//! thread, so "this thread is inside the layer" is exactly the state to detect, and a
//! per-thread flag needs no lock on the hot path. The background task's thread sets it for its
//! whole life: everything emitted there is the layer's own delivery path.

use std::cell::Cell;

thread_local! {
    static HANDLING: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is already handling a record (or is the delivery thread).
pub(crate) fn active() -> bool {
    HANDLING.with(Cell::get)
}

/// Marks this thread as handling a record until the returned guard drops; `None` if it
/// already is.
pub(crate) fn enter() -> Option<Handling> {
    HANDLING.with(|flag| (!flag.replace(true)).then_some(Handling(())))
}

/// Marks this thread as the delivery thread for good: nothing emitted on it is posted.
pub(crate) fn mark_delivery_thread() {
    HANDLING.with(|flag| flag.set(true));
}

/// Proof that this thread is handling a record; clears the flag on drop.
pub(crate) struct Handling(());

impl Drop for Handling {
    fn drop(&mut self) {
        HANDLING.with(|flag| flag.set(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_entry_is_refused_until_the_guard_drops() {
        assert!(!active());
        let outer = enter().expect("first entry");
        assert!(active());
        assert!(enter().is_none(), "re-entry refused");
        drop(outer);
        assert!(!active());
        assert!(enter().is_some());
    }
}
