//! The webhook intake's parse (issue 9's hot path: every slash command goes through it), beside
//! building serde_json's `Value` tree of the same body in the same run, which is what intake
//! did before it read only the fields it needs.
//!
//! `cargo bench -p hipkit-bench --bench intake`; prints the ratio after criterion's report.

mod common;

use common::mean_ns;
use std::hint::black_box;

/// A `room_message` webhook as HipChat sends it (the integrations benchmark's body).
const BODY: &str = r#"{"event":"room_message","item":{"message":{"date":"2026-12-02T10:11:12+00:00","id":"m","type":"message","message":"/append bench query","mentions":[],"from":{"id":1,"links":{},"mention_name":"bench","name":"Bench","version":"1"}},"room":{"id":1,"is_archived":false,"links":{},"name":"Bench","privacy":"public","version":"1"}},"oauth_client_id":"bench","webhook_id":1}"#;

fn main() {
    let (mut c, dir) = common::criterion("intake");
    c.bench_function("intake/parse", |b| {
        b.iter(|| hipkit_integrations::intake::parse(black_box(BODY.as_bytes())))
    });
    c.bench_function("intake/value_tree", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(BODY.as_bytes())))
    });
    c.final_summary();
    match (
        mean_ns(&dir, "intake/parse"),
        mean_ns(&dir, "intake/value_tree"),
    ) {
        (Some(ours), Some(tree)) => println!(
            "\nratio (same run): intake/parse {ours:.0} ns vs intake/value_tree {tree:.0} ns = {:.2}x",
            ours / tree
        ),
        _ => println!("\nno estimates (filtered out on the command line?)"),
    }
}
