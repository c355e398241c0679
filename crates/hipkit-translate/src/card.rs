//! A HipChat card read into the parts every platform shows: title, link, description,
//! label/value attributes, thumbnail.

use crate::markup::{Node, parse_html, parse_text};
use hipchat::{Card, CardDescription, MessageFormat};

/// One attribute: its label and value, with the value's link if it has one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub label: String,
    pub value: String,
    pub url: Option<String>,
}

/// What a card shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CardView {
    pub title: String,
    pub url: Option<String>,
    pub description: Vec<Node>,
    pub fields: Vec<Field>,
    pub thumbnail: Option<String>,
    /// Epoch milliseconds.
    pub date: Option<i64>,
}

impl CardView {
    pub fn new(card: &Card) -> Self {
        let description = match &card.description {
            Some(CardDescription::Plain(text)) => parse_text(text),
            Some(CardDescription::Formatted { value, format }) => match format {
                MessageFormat::Html => parse_html(value),
                MessageFormat::Text => parse_text(value),
            },
            None => Vec::new(),
        };
        let fields = card
            .attributes
            .iter()
            .flatten()
            .filter_map(|attr| {
                let value = attr.get("value");
                let text = value
                    .and_then(|v| v.get("label").or(Some(v)))
                    .and_then(serde_json::Value::as_str)?;
                Some(Field {
                    label: attr
                        .get("label")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    value: text.to_owned(),
                    url: value
                        .and_then(|v| v.get("url"))
                        .and_then(serde_json::Value::as_str)
                        .filter(|u| crate::render::safe_url(u))
                        .map(str::to_owned),
                })
            })
            .collect();
        Self {
            title: card.title.clone(),
            url: card.url.clone().filter(|u| crate::render::safe_url(u)),
            description,
            fields,
            thumbnail: card
                .thumbnail
                .as_ref()
                .map(|t| t.url.clone())
                .filter(|u| crate::render::safe_url(u)),
            date: card.date,
        }
    }
}
