//! HipChat's HTML allow-list: the tags, attributes and style properties it kept. The
//! sanitiser (`render.rs`) applies it; the render check (`check.rs`) reports what falls
//! outside it. It depends on neither.

/// Tags HipChat kept in `html` messages, each with the attributes it kept.
pub const MESSAGE_TAGS: &[(&str, &[&str])] = &[
    ("a", &["href", "data-target", "data-target-options"]),
    ("b", &[]),
    ("i", &[]),
    ("strong", &[]),
    ("em", &[]),
    ("br", &[]),
    ("img", &["src", "alt", "width", "height", "align", "style"]),
    ("pre", &[]),
    ("code", &[]),
    ("ul", &[]),
    ("ol", &[]),
    ("li", &[]),
    ("table", &[]),
    ("thead", &[]),
    ("tbody", &[]),
    ("tr", &["valign"]),
    ("td", &["colspan", "rowspan", "valign"]),
    ("th", &["colspan", "rowspan", "valign"]),
    ("span", &["style"]),
];

/// Tags HipChat kept in a card's HTML fields (description, activity).
pub const CARD_TAGS: &[(&str, &[&str])] = &[
    ("a", &["href"]),
    ("b", &[]),
    ("i", &[]),
    ("strong", &[]),
    ("span", &["style"]),
];

/// CSS properties HipChat kept in a `style` attribute.
pub const STYLE_PROPERTIES: &[&str] =
    &["font-weight", "color", "text-decoration", "height", "width"];
