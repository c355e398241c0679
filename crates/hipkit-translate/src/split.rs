//! Text longer than a platform's limit cut into numbered parts at line or word boundaries.

/// `text` in parts of at most `limit` as measured by `size` (characters or bytes), each part
/// but a lone one prefixed `(i/n) `. Cuts at the last line break that fits, else the last space,
/// else inside a word; a code fence left open at a cut is closed and reopened in the next part.
/// Nothing is dropped but the white space at a cut.
pub(crate) fn split(text: &str, limit: usize, size: fn(&str) -> usize) -> Vec<String> {
    if size(text) <= limit {
        return vec![text.to_owned()];
    }
    // Room for `(99/99) ` and a fence closed and reopened.
    let room = limit
        .saturating_sub(size("(999/999) ") + size("\n```") + size("```\n"))
        .max(1);
    let mut parts: Vec<String> = Vec::new();
    let mut rest = text;
    let mut reopen = false;
    while !rest.is_empty() {
        let mut part = String::new();
        if reopen {
            part.push_str("```\n");
        }
        let cut = cut_at(rest, room.saturating_sub(size(&part)).max(1), size);
        let (head, tail) = rest.split_at(cut);
        part.push_str(head.trim_end());
        reopen = part.matches("```").count() % 2 == 1;
        if reopen {
            part.push_str("\n```");
        }
        parts.push(part);
        rest = tail.trim_start();
    }
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| format!("({}/{n}) {p}", i + 1))
        .collect()
}

/// Where to cut `text` so the head fits in `room`: a byte index on a char boundary, > 0.
fn cut_at(text: &str, room: usize, size: fn(&str) -> usize) -> usize {
    if size(text) <= room {
        return text.len();
    }
    // The longest prefix that fits (both measures add up character by character).
    let mut fits = 0;
    let mut used = 0;
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        used += size(&text[i..end]);
        if used > room {
            break;
        }
        fits = end;
    }
    if fits == 0 {
        // One character larger than the room: it still goes, alone.
        return text.chars().next().map_or(text.len(), char::len_utf8);
    }
    let head = &text[..fits];
    if let Some(nl) = head.rfind('\n').filter(|&i| i > 0) {
        return nl + 1;
    }
    if let Some(sp) = head.rfind(' ').filter(|&i| i > 0) {
        return sp + 1;
    }
    fits
}

/// Size in Unicode scalar values.
pub(crate) fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Size in UTF-8 bytes.
pub(crate) fn bytes(s: &str) -> usize {
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_unnumbered_part() {
        assert_eq!(split("hello", 5, chars), vec!["hello"]);
    }

    #[test]
    fn long_text_is_cut_at_lines_then_words_and_numbered_within_the_limit() {
        let text = format!("{}\n{}", "word ".repeat(30).trim_end(), "x".repeat(70));
        let parts = split(&text, 50, chars);
        assert!(parts.iter().all(|p| chars(p) <= 50), "{parts:?}");
        assert!(parts[0].starts_with(&format!("(1/{}) word", parts.len())));
        let joined: String = parts
            .iter()
            .map(|p| p.split_once(") ").unwrap().1)
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            joined.split_whitespace().collect::<String>(),
            text.split_whitespace().collect::<String>()
        );
    }

    #[test]
    fn open_code_fences_are_closed_and_reopened() {
        let text = format!("```\n{}\n```", "line\n".repeat(40));
        let parts = split(&text, 60, bytes);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(p.len() <= 60, "{p}");
            assert_eq!(p.matches("```").count(), 2, "{p}");
        }
    }
}
