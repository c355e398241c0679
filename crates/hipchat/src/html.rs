//! Text made safe inside HipChat's HTML messages (and any HTML page).

/// `&`, `<`, `>`, `"` and `'` as entities; `/` stays as it is, so a URL or path reads the
/// same in a message's source as on screen.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_quotes_become_entities_and_slashes_stay() {
        assert_eq!(
            super::escape_html(r#"<a href="https://x/y">it's & more</a>"#),
            "&lt;a href=&quot;https://x/y&quot;&gt;it&#39;s &amp; more&lt;/a&gt;"
        );
    }
}
