//! Buildbot's result codes (`buildbot.process.results`) and their names.

/// `SUCCESS`.
pub const SUCCESS: i64 = 0;
/// `WARNINGS`.
pub const WARNINGS: i64 = 1;
/// `FAILURE`.
pub const FAILURE: i64 = 2;
/// `SKIPPED`.
pub const SKIPPED: i64 = 3;
/// `EXCEPTION`.
pub const EXCEPTION: i64 = 4;
/// `RETRY`.
pub const RETRY: i64 = 5;
/// `CANCELLED`.
pub const CANCELLED: i64 = 6;

/// Names by code, as `statusToString` spells them.
const NAMES: [&str; 7] = [
    "success",
    "warnings",
    "failure",
    "skipped",
    "exception",
    "retry",
    "cancelled",
];

/// Plurals by code (`Results` plural forms), for templates.
const PLURALS: [&str; 7] = [
    "successes",
    "warnings",
    "failures",
    "skipped",
    "exceptions",
    "retries",
    "cancelled",
];

/// Buildbot's `statusToString`: the name of a result, `not finished` for none, and
/// `Invalid status` outside 0–6.
pub fn status_to_string(results: Option<i64>) -> &'static str {
    match results {
        None => "not finished",
        Some(code) => by_code(&NAMES, code).unwrap_or("Invalid status"),
    }
}

/// The plural form of a result's name (`failures`), or `None` outside 0–6.
pub fn plural(code: i64) -> Option<&'static str> {
    by_code(&PLURALS, code)
}

/// The entry of a per-result table for `code`, or `None` outside 0–6.
fn by_code(table: &[&'static str; 7], code: i64) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| table.get(i))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_plurals_are_buildbots() {
        let names: Vec<_> = (0..=6).map(|c| status_to_string(Some(c))).collect();
        assert_eq!(
            names.join(" "),
            "success warnings failure skipped exception retry cancelled"
        );
        assert_eq!(status_to_string(None), "not finished");
        assert_eq!(status_to_string(Some(-1)), "Invalid status");
        assert_eq!(status_to_string(Some(7)), "Invalid status");
        assert_eq!(plural(FAILURE), Some("failures"));
        assert_eq!(plural(RETRY), Some("retries"));
        assert_eq!(plural(9), None);
    }
}
