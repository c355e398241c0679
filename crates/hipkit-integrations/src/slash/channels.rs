//! Slack and Mattermost channels mapped to HipChat rooms, as `[[bridge.rooms]] channels`
//! names them: `slack:CHANNEL_ID` or `mattermost:CHANNEL_ID` (the id the platform sends as
//! `channel_id`, not the channel's display name, which can be renamed).

use super::{ChannelRooms, MappedRoom, Platform};
use std::collections::HashMap;

/// Why a channel cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Not `slack:ID` or `mattermost:ID`.
    #[error("`{0}` is not slack:CHANNEL_ID or mattermost:CHANNEL_ID")]
    Form(String),
    /// The same channel in two rooms.
    #[error("`{channel}` is mapped to both `{first}` and `{second}`")]
    Twice {
        /// The channel as written.
        channel: String,
        /// The room it was mapped to first.
        first: String,
        /// The other room.
        second: String,
    },
}

/// The channels mapped to rooms; unmapped channels stay rooms of their own.
#[derive(Debug, Clone, Default)]
pub struct ChannelMap(HashMap<(Platform, String), MappedRoom>);

impl ChannelMap {
    /// Maps `channel` (`slack:ID` or `mattermost:ID`) to `room`.
    pub fn add(&mut self, channel: &str, room: MappedRoom) -> Result<(), ChannelError> {
        let form = || ChannelError::Form(channel.to_owned());
        let (platform, id) = channel.split_once(':').ok_or_else(form)?;
        let platform = match platform.trim() {
            "slack" => Platform::Slack,
            "mattermost" => Platform::Mattermost,
            _ => return Err(form()),
        };
        let id = id.trim();
        if id.is_empty() {
            return Err(form());
        }
        let key = (platform, id.to_owned());
        if let Some(first) = self.0.get(&key) {
            return Err(ChannelError::Twice {
                channel: channel.to_owned(),
                first: first.name.clone(),
                second: room.name,
            });
        }
        self.0.insert(key, room);
        Ok(())
    }

    /// How many channels are mapped.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ChannelRooms for ChannelMap {
    fn room(&self, platform: Platform, channel_id: &str) -> Option<MappedRoom> {
        self.0.get(&(platform, channel_id.to_owned())).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(id: u64, name: &str) -> MappedRoom {
        MappedRoom {
            id,
            name: name.to_owned(),
        }
    }

    #[test]
    fn channels_map_per_platform_and_refuse_bad_forms_and_doubles() {
        let mut map = ChannelMap::default();
        map.add("slack:C0123", room(1, "Build Room")).unwrap();
        map.add("mattermost:abc", room(2, "Ops")).unwrap();
        assert_eq!(
            map.room(Platform::Slack, "C0123"),
            Some(room(1, "Build Room"))
        );
        assert_eq!(map.room(Platform::Mattermost, "C0123"), None);
        assert_eq!(map.room(Platform::Mattermost, "abc"), Some(room(2, "Ops")));
        for bad in ["C0123", "teams:x", "slack:", "slack: "] {
            assert_eq!(
                map.add(bad, room(3, "x")),
                Err(ChannelError::Form(bad.into()))
            );
        }
        assert!(matches!(
            map.add("slack:C0123", room(2, "Ops")),
            Err(ChannelError::Twice { .. })
        ));
    }
}
