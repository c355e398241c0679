//! HipChat's colours as each platform shows colour.

use hipchat::{Color, RoomNotification};

/// The notification's colour, with `random` chosen once per message: from a stable hash of its
/// text and label, so a retried or re-translated message keeps its colour.
pub(crate) fn resolve(n: &RoomNotification) -> Color {
    match n.color.unwrap_or(Color::Yellow) {
        Color::Random => {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for byte in n
                .message
                .bytes()
                .chain([0])
                .chain(n.from.as_deref().unwrap_or("").bytes())
            {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            let len = Color::CONCRETE.len() as u64;
            Color::CONCRETE[usize::try_from(hash % len).unwrap_or(0)]
        }
        concrete => concrete,
    }
}

/// `#RRGGBB` (Slack's own `good` / `warning` / `danger` shades for green / yellow / red).
pub(crate) fn hex(c: Color) -> &'static str {
    match c {
        Color::Green => "#2EB886",
        Color::Red => "#A30200",
        Color::Purple => "#7E57C2",
        Color::Gray => "#9E9E9E",
        Color::Yellow | Color::Random => "#DAA038",
    }
}

/// Slack's attachment colour: its named colours where they exist.
pub(crate) fn slack(c: Color) -> &'static str {
    match c {
        Color::Green => "good",
        Color::Red => "danger",
        Color::Yellow | Color::Random => "warning",
        other => hex(other),
    }
}

/// The colour as an integer (Discord embeds).
pub(crate) fn integer(c: Color) -> u32 {
    u32::from_str_radix(hex(c).trim_start_matches('#'), 16).unwrap_or(0)
}

/// The emoji standing for the colour where the platform shows none.
pub(crate) fn emoji(c: Color) -> &'static str {
    match c {
        Color::Green => "🟢",
        Color::Red => "🔴",
        Color::Purple => "🟣",
        Color::Gray => "⚪",
        Color::Yellow | Color::Random => "🟡",
    }
}

/// An Adaptive Card container style.
pub(crate) fn teams_style(c: Color) -> &'static str {
    match c {
        Color::Green => "good",
        Color::Red => "attention",
        Color::Purple => "accent",
        Color::Gray => "emphasis",
        Color::Yellow | Color::Random => "warning",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_is_stable_per_message_and_concrete() {
        let n = RoomNotification::new("deploy done").color(Color::Random);
        let first = resolve(&n);
        assert_ne!(first, Color::Random);
        assert_eq!(resolve(&n.clone()), first);
        assert_eq!(resolve(&RoomNotification::new("x")), Color::Yellow);
        assert_eq!(integer(Color::Purple), 0x7E57C2);
    }
}
