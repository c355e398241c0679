//! Closed value sets: colours, message formats, token scopes.

use crate::validate::ValidationError;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

macro_rules! closed_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every accepted value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ValidationError::new(
                        $field,
                        format!(
                            "`{s}` is not one of: {}",
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }
    };
}

closed_enum!(
    /// Background colour of a room notification.
    Color, "color" {
        /// Default colour.
        Yellow => "yellow",
        /// Success.
        Green => "green",
        /// Failure.
        Red => "red",
        /// Purple.
        Purple => "purple",
        /// Neutral.
        Gray => "gray",
        /// HipChat picks one of the others.
        Random => "random",
    }
);

closed_enum!(
    /// How the message body is rendered.
    MessageFormat, "message_format" {
        /// Restricted HTML (the default for room notifications).
        Html => "html",
        /// Plain text with mentions and emoticons (the default for private messages).
        Text => "text",
    }
);

closed_enum!(
    /// An API token scope.
    Scope, "scope" {
        /// Group administration.
        AdminGroup => "admin_group",
        /// Room administration (topic, webhooks, members).
        AdminRoom => "admin_room",
        /// Create, update and delete rooms.
        ManageRooms => "manage_rooms",
        /// Private messages, room messages, file sharing.
        SendMessage => "send_message",
        /// Room notifications.
        SendNotification => "send_notification",
        /// Users, rooms and group information.
        ViewGroup => "view_group",
        /// Room and private chat history.
        ViewMessages => "view_messages",
        /// Room information and participants.
        ViewRoom => "view_room",
        /// Data import (select add-ons only).
        ImportData => "import_data",
    }
);

impl Color {
    /// The concrete colours `random` chooses from.
    pub const CONCRETE: [Color; 5] = [
        Color::Yellow,
        Color::Green,
        Color::Red,
        Color::Purple,
        Color::Gray,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_colour_names_the_field_and_the_choices() {
        let err = "magenta".parse::<Color>().unwrap_err();
        assert_eq!(err.field, "color");
        assert!(
            err.problem
                .contains("yellow, green, red, purple, gray, random")
        );
        assert_eq!("gray".parse::<Color>().unwrap(), Color::Gray);
    }

    #[test]
    fn wire_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), *s);
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
    }
}
