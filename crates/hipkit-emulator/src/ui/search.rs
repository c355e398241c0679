//! Search across rooms: `room:`, `from:`, `color:`, `has:card` / `has:file`, `notify:`,
//! `after:` / `before:` / `on:` dates, and free words (all must appear, any case).
//! Values with spaces are quoted: `room:"Build Room"`.

use hipchat::{Color, HistoryFrom, HistoryItem};

/// A parsed search.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Query {
    rooms: Vec<String>,
    from: Vec<String>,
    colors: Vec<Color>,
    has_card: bool,
    has_file: bool,
    notify: Option<bool>,
    after: Option<chrono::NaiveDate>,
    before: Option<chrono::NaiveDate>,
    words: Vec<String>,
}

/// The filters a query understands, for the error message and the page's help.
pub const FILTERS: &str = "room:, from:, color:, has:card, has:file, notify:true|false, after:, before:, on: (YYYY-MM-DD)";

/// Longest search, in bytes: a query is typed, not generated.
pub const MAX_QUERY_BYTES: usize = 1024;

/// Most terms (words and filters) in one search.
pub const MAX_QUERY_TERMS: usize = 32;

/// Why a search is refused before it runs (a 400), if it is too big to be typed.
pub fn too_big(raw: &str) -> Option<String> {
    if raw.len() > MAX_QUERY_BYTES {
        return Some(format!(
            "search is {} bytes; at most {MAX_QUERY_BYTES} are searched",
            raw.len()
        ));
    }
    let n = terms(raw).len();
    (n > MAX_QUERY_TERMS)
        .then(|| format!("search has {n} terms; at most {MAX_QUERY_TERMS} are searched"))
}

/// Splits on spaces, keeping `"quoted values"` (also after `key:`) together.
fn terms(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in raw.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn date(key: &str, value: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("`{key}:{value}`: dates are written YYYY-MM-DD"))
}

impl Query {
    /// Parses a search; an unknown filter or a bad value is named in the error.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut q = Query::default();
        for term in terms(raw) {
            let Some((key, value)) = term.split_once(':').filter(|(k, _)| is_filter(k)) else {
                q.words.push(term.to_lowercase());
                continue;
            };
            let key = key.to_ascii_lowercase();
            match key.as_str() {
                "room" => q.rooms.push(value.to_lowercase()),
                "from" => q.from.push(value.trim_start_matches('@').to_lowercase()),
                "color" => {
                    q.colors.push(value.to_ascii_lowercase().parse().map_err(
                        |e: hipchat::ValidationError| format!("`{term}`: {}", e.problem),
                    )?)
                }
                "has" => match value.to_ascii_lowercase().as_str() {
                    "card" => q.has_card = true,
                    "file" => q.has_file = true,
                    _ => return Err(format!("`{term}`: has: takes card or file")),
                },
                "notify" => {
                    q.notify = Some(match value.to_ascii_lowercase().as_str() {
                        "true" | "yes" => true,
                        "false" | "no" => false,
                        _ => return Err(format!("`{term}`: notify: takes true or false")),
                    })
                }
                "after" => q.after = Some(date(&key, value)?),
                "before" => q.before = Some(date(&key, value)?),
                "on" => {
                    let d = date(&key, value)?;
                    q.after = Some(d);
                    q.before = Some(d);
                }
                _ => unreachable!("is_filter lists every key"),
            }
        }
        Ok(q)
    }

    /// Whether nothing was asked.
    pub fn is_empty(&self) -> bool {
        *self == Query::default()
    }

    /// Whether a room (by name or id) is searched.
    pub fn wants_room(&self, id: u64, name: &str) -> bool {
        self.rooms.is_empty()
            || self
                .rooms
                .iter()
                .any(|r| *r == name.to_lowercase() || *r == id.to_string())
    }

    /// Whether a message matches every filter and word.
    pub fn matches(&self, item: &HistoryItem) -> bool {
        let (name, mention) = match &item.from {
            HistoryFrom::User(u) => (u.name.to_lowercase(), u.mention_name.to_lowercase()),
            HistoryFrom::Label(l) => (l.to_lowercase(), String::new()),
        };
        if !self.from.is_empty() && !self.from.iter().any(|f| *f == name || *f == mention) {
            return false;
        }
        if !self.colors.is_empty() && !item.color.is_some_and(|c| self.colors.contains(&c)) {
            return false;
        }
        if (self.has_card && item.card.is_none()) || (self.has_file && item.file.is_none()) {
            return false;
        }
        if self
            .notify
            .is_some_and(|n| item.notify.unwrap_or(false) != n)
        {
            return false;
        }
        if self.after.is_some() || self.before.is_some() {
            let Some(day) = chrono::DateTime::parse_from_rfc3339(&item.date)
                .ok()
                .map(|d| d.date_naive())
            else {
                return false;
            };
            if self.after.is_some_and(|a| day < a) || self.before.is_some_and(|b| day > b) {
                return false;
            }
        }
        if self.words.is_empty() {
            return true;
        }
        let mut haystack = format!("{} {} {}", item.message, name, mention).to_lowercase();
        if let Some(card) = &item.card {
            haystack.push_str(&card.to_string().to_lowercase());
        }
        if let Some(file) = &item.file {
            haystack.push_str(&file.name.to_lowercase());
        }
        self.words.iter().all(|w| haystack.contains(w.as_str()))
    }
}

fn is_filter(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "room" | "from" | "color" | "has" | "notify" | "after" | "before" | "on"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: serde_json::Value) -> HistoryItem {
        let mut base = json!({"id": "1", "date": "2026-03-04T10:00:00+00:00", "from": "CI",
            "message": "Build #42 failed", "type": "notification", "color": "red", "notify": true});
        if let (Some(b), Some(extra)) = (base.as_object_mut(), v.as_object()) {
            b.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn filters_and_words_combine() {
        let m = item(json!({}));
        let yes = [
            "build failed",
            "color:red from:ci",
            "notify:true on:2026-03-04",
            "after:2026-03-01 before:2026-03-04",
            "BUILD",
        ];
        for q in yes {
            assert!(Query::parse(q).unwrap().matches(&m), "{q}");
        }
        let no = [
            "passed",
            "color:green",
            "has:card",
            "notify:false",
            "after:2026-03-05",
            "from:bob",
        ];
        for q in no {
            assert!(!Query::parse(q).unwrap().matches(&m), "{q}");
        }
    }

    #[test]
    fn quoted_rooms_and_bad_values() {
        let q = Query::parse("room:\"Build Room\" x").unwrap();
        assert!(q.wants_room(1, "build room"));
        assert!(!q.wants_room(2, "Ops"));
        assert!(
            Query::parse("color:magenta")
                .unwrap_err()
                .contains("magenta")
        );
        assert!(
            Query::parse("after:yesterday")
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(Query::parse("has:nothing").is_err());
        assert!(Query::parse("").unwrap().is_empty());
        assert_eq!(
            Query::parse("http://x").unwrap().words,
            vec!["http://x".to_owned()],
            "an unknown key is a word"
        );
    }
}
