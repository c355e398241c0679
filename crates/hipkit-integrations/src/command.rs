//! Routing: the slash command anchored at the start of the message, `/name rest`. Names are
//! `[A-Za-z0-9_-]+`; the query is everything after the one separating space, every line kept.

use crate::tokens::valid_name;

/// What a message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// The message does not start with `/name`.
    None,
    /// A slash word that cannot be an integration name (e.g. `/../../x`).
    BadName(&'a str),
    /// `/name query`.
    Call {
        /// The integration's name.
        name: &'a str,
        /// The rest of the message after one separating whitespace character.
        query: &'a str,
    },
}

/// Parses the command at the start of `message`.
pub fn parse(message: &str) -> Command<'_> {
    let Some(rest) = message.strip_prefix('/') else {
        return Command::None;
    };
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let name = &rest[..end];
    if name.is_empty() {
        return Command::None;
    }
    if !valid_name(name) {
        return Command::BadName(name);
    }
    let after = &rest[end..];
    let query = after
        .chars()
        .next()
        .map_or(after, |sep| &after[sep.len_utf8()..]);
    Command::Call { name, query }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(m: &str) -> (&str, &str) {
        match parse(m) {
            Command::Call { name, query } => (name, query),
            other => panic!("{m}: {other:?}"),
        }
    }

    #[test]
    fn the_seed_table_fixed() {
        assert_eq!(call("/test testing me"), ("test", "testing me"));
        assert_eq!(call("/echo hello  world"), ("echo", "hello  world"));
        assert_eq!(call("/echo line1\nline2"), ("echo", "line1\nline2"));
        assert_eq!(call("/echo\nline2"), ("echo", "line2"));
        assert_eq!(call("/echo"), ("echo", ""));
        assert_eq!(call("/calc 50% off"), ("calc", "50% off"));
        assert_eq!(parse("see https://example.com/a b"), Command::None);
        assert_eq!(
            parse("/../../outside/evil arg1"),
            Command::BadName("../../outside/evil")
        );
        assert_eq!(parse("hello"), Command::None);
        assert_eq!(parse("/"), Command::None);
        assert_eq!(parse("/ x"), Command::None);
        assert_eq!(parse("/é x"), Command::BadName("é"));
    }
}
