//! [`one_line`]: outside text made safe to print on one log or terminal line.

/// `text` with every character that could forge or disguise a line printed escaped: control
/// characters (newlines, which would start a forged log line; escape sequences, which could
/// retitle or clear a terminal) and bidirectional controls (which reorder what is shown).
/// `\n`, `\t` and `\r` read as such, the rest as `\u{..}`.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The Unicode bidirectional formatting characters (UAX #9): marks, embeddings, overrides
/// and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn controls_are_escaped() {
        assert_eq!(one_line("a\nb\t%s\u{1b}"), "a\\nb\\t%s\\u{1b}");
        assert_eq!(one_line("line\r\nforged"), "line\\r\\nforged");
        assert_eq!(
            one_line("room:\u{1b}]0;pwned\u{7}"),
            "room:\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(one_line("a\u{0}b\u{9b}c\u{7f}"), "a\\u{0}b\\u{9b}c\\u{7f}");
    }

    #[test]
    fn bidi_controls_are_escaped() {
        assert_eq!(one_line("a\u{202e}cba"), "a\\u{202e}cba");
        assert_eq!(
            one_line("\u{200e}\u{200f}\u{061c}\u{2066}x\u{2069}"),
            "\\u{200e}\\u{200f}\\u{61c}\\u{2066}x\\u{2069}"
        );
    }

    #[test]
    fn everything_else_is_kept() {
        for text in [
            "room:Build Room",
            "Zürich ☃",
            "quote \" and \\ backslash",
            "שלום",
        ] {
            assert_eq!(one_line(text), text);
        }
    }
}
