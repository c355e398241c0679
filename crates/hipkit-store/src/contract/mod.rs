//! The store contract as executable scenarios, written against the traits only, so every
//! backend (SQLite and PostgreSQL) passes the same suite unchanged.
//!
//! Each scenario is an `async fn` taking a fresh, empty store as a trait object and
//! asserting (it panics on a breach). [`contract_suite!`](crate::contract_suite) turns them
//! into one `#[tokio::test]` each:
//!
//! ```ignore
//! async fn fresh() -> (tempfile::TempDir, SqliteStore) { /* a store in a new tempdir */ }
//! hipkit_store::contract_suite!(fresh);
//! ```
//!
//! Only built with the `contract` feature (test support: it panics instead of returning
//! errors).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a scenario fails its test by panicking, as a #[test] does"
)]

pub mod kv;
pub mod last_build;
pub mod outbox;
pub mod postgres;
pub mod rates;

/// Defines one `#[tokio::test]` per contract scenario. `$fresh` is an async fn returning
/// `(guard, store)`: a new empty store implementing every store trait, and whatever must
/// live as long as it (a temporary directory). The caller needs tokio's `macros` and `rt`.
#[macro_export]
macro_rules! contract_suite {
    ($fresh:path) => {
        $crate::contract_suite!(@each $fresh;
            outbox::outbox_enqueue_keeps_order_and_ids,
            outbox::outbox_claim_limits_due_order_and_leases,
            outbox::outbox_delivered_outcome,
            outbox::outbox_retry_outcome,
            outbox::outbox_dead_outcome,
            outbox::outbox_release_gives_the_attempt_back,
            outbox::outbox_late_outcomes_of_an_expired_claim_change_nothing,
            outbox::outbox_renewal_extends_a_held_lease_and_keeps_its_claim,
            outbox::outbox_takeover_of_an_expired_lease_fences_the_old_claim,
            outbox::outbox_outcomes_after_delivery_change_nothing,
            outbox::outbox_mixed_outcomes_in_one_batch,
            outbox::outbox_requeue_requeue_all_dead_and_purge,
            outbox::outbox_requeue_leaves_in_flight_records_unless_forced,
            outbox::outbox_idempotency_keys_store_a_message_once,
            outbox::outbox_idempotency_keys_outlive_delivered_records,
            outbox::outbox_health_size_and_compact,
            outbox::outbox_counts_next_due_and_list,
            outbox::outbox_recover_leases_requeues_in_flight_records,
            outbox::outbox_other_destinations_round_trip_byte_exact,
            outbox::outbox_lane_keeps_order_through_a_retry,
            outbox::outbox_lanes_go_in_parallel,
            outbox::outbox_dead_letter_unblocks_its_lane,
            outbox::outbox_expired_lease_reclaim_keeps_lane_order,
            outbox::outbox_claim_takes_the_earliest_due_across_lanes,
            kv::kv_get_put_overwrite,
            kv::kv_delete_reports_whether_the_key_existed,
            kv::kv_list_is_sorted_by_key,
            kv::kv_export_and_import_replace_or_merge,
            kv::kv_erase_touches_one_namespace_only,
            kv::kv_unicode_keys_and_large_values_round_trip,
            kv::kv_failed_import_writes_nothing,
            kv::kv_apply_sets_and_removes_all_or_nothing,
            kv::kv_rejects_empty_and_overlong_keys,
            last_build::last_build_put_swaps_and_returns_the_previous,
            last_build::last_build_scopes_and_builders_are_independent,
            last_build::last_build_concurrent_swaps_see_distinct_previous_values,
            rates::rates_limit_per_key_and_span,
            rates::rates_reserve_all_budgets_or_none,
            rates::rates_hold_until_the_reset,
        );
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn rates_concurrent_reservations_keep_the_limit() {
            let (_guard, store) = $fresh().await;
            $crate::contract::rates::rates_concurrent_reservations_keep_the_limit(
                std::sync::Arc::new(store),
            )
            .await;
        }
    };
    (@each $fresh:path; $($module:ident :: $scenario:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                let (_guard, store) = $fresh().await;
                $crate::contract::$module::$scenario(&store).await;
            }
        )*
    };
}
