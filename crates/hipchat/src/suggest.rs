//! "Did you mean …?" for configuration keys: Buildbot's camelCase parameter names and
//! near-miss spellings map to the key hipkit knows.

/// The key of `known` that `given` most likely means: its snake_case form (`wantProperties`
/// → `want_properties`), its lower-case form, or the nearest key within two edits.
pub fn did_you_mean<'a>(given: &str, known: &[&'a str]) -> Option<&'a str> {
    let snake = snake_case(given);
    let lower = given.to_ascii_lowercase();
    if let Some(k) = known.iter().find(|k| **k == snake || **k == lower) {
        return Some(k);
    }
    let limit = (snake.chars().count() / 3).clamp(1, 2);
    known
        .iter()
        .map(|k| (edits(&snake, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `wantProperties` → `want_properties`; `room-id` → `room_id`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn camel_case_typos_and_nothing_close() {
        let known = ["want_properties", "want_steps", "server_url", "room"];
        assert_eq!(
            did_you_mean("wantProperties", &known),
            Some("want_properties")
        );
        assert_eq!(did_you_mean("serverUrl", &known), Some("server_url"));
        assert_eq!(did_you_mean("want_step", &known), Some("want_steps"));
        assert_eq!(did_you_mean("ROOM", &known), Some("room"));
        assert_eq!(did_you_mean("colour_scheme", &known), None);
        assert_eq!(did_you_mean("x", &known), None);
    }
}
