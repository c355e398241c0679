//! The rooms, users and tokens of `[bridge]`, checked once: lookups by name or id, stable
//! ids, and which token may do what where.

use crate::config::{BridgeConfig, ConfigError, RoomConfig, UserConfig};
use hipchat::{RoomRef, Scope, Token, UserRef};
use std::collections::HashSet;

/// A configured room.
#[derive(Debug, Clone)]
pub struct Room {
    /// Its id (configured, or derived from the name).
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its topic.
    pub topic: String,
    /// The destinations its messages go to.
    pub to: Vec<String>,
}

/// A configured user private messages may go to.
#[derive(Debug, Clone)]
pub struct User {
    /// Its id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// `@`-name without the `@`.
    pub mention_name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// The destinations private messages to them go to.
    pub to: Vec<String>,
}

/// A token callers present.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The secret.
    pub token: Token,
    /// Its label (logs, sender of its messages).
    pub label: String,
    /// Its scopes.
    pub scopes: Vec<Scope>,
    /// The room ids it may post to; `None`: every room.
    pub rooms: Option<HashSet<u64>>,
}

/// Rooms, users and tokens, ready for lookups.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    rooms: Vec<Room>,
    users: Vec<User>,
    tokens: Vec<IssuedToken>,
}

/// An id for `name` that stays the same across restarts: FNV-1a of the name, in 1..=9,999,999
/// (HipChat's ids were small integers).
fn derived_id(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash % 9_999_999 + 1
}

/// Gives each entry its configured id, else the first free id from its name's.
fn assign_ids<'a>(
    entries: impl Iterator<Item = (&'a str, Option<u64>)> + Clone,
    what: &'static str,
) -> Result<Vec<u64>, ConfigError> {
    let mut taken: HashSet<u64> = HashSet::new();
    for (_, id) in entries.clone() {
        if let Some(id) = id
            && !taken.insert(id)
        {
            return Err(ConfigError::Duplicate {
                what,
                name: id.to_string(),
            });
        }
    }
    let mut ids = Vec::new();
    for (name, id) in entries {
        let id = match id {
            Some(id) => id,
            None => {
                let mut id = derived_id(name);
                while !taken.insert(id) {
                    id = id % 9_999_999 + 1;
                }
                id
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

fn check_targets(
    what: &'static str,
    name: &str,
    to: &[String],
    known: &HashSet<&str>,
) -> Result<(), ConfigError> {
    match to.iter().find(|t| !known.contains(t.as_str())) {
        Some(missing) => Err(ConfigError::UnknownDestination {
            what,
            name: name.to_owned(),
            to: missing.clone(),
        }),
        None => Ok(()),
    }
}

impl Directory {
    /// Checks `[bridge]`'s rooms, users and tokens (the destinations' names as known).
    pub fn build(config: &BridgeConfig) -> Result<Self, ConfigError> {
        let known: HashSet<&str> = config
            .destinations
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        let mut names = HashSet::new();
        for RoomConfig { name, to, .. } in &config.rooms {
            if !names.insert(name.to_lowercase()) {
                return Err(ConfigError::Duplicate {
                    what: "room",
                    name: name.clone(),
                });
            }
            check_targets("room", name, to, &known)?;
        }
        let ids = assign_ids(
            config.rooms.iter().map(|r| (r.name.as_str(), r.id)),
            "room id",
        )?;
        let rooms: Vec<Room> = config
            .rooms
            .iter()
            .zip(ids)
            .map(|(r, id)| Room {
                id,
                name: r.name.clone(),
                topic: r.topic.clone().unwrap_or_default(),
                to: r.to.clone(),
            })
            .collect();
        for UserConfig { name, to, .. } in &config.users {
            check_targets("user", name, to, &known)?;
        }
        let user_ids = assign_ids(
            config.users.iter().map(|u| (u.name.as_str(), u.id)),
            "user id",
        )?;
        let users = config
            .users
            .iter()
            .zip(user_ids)
            .map(|(u, id)| User {
                id,
                name: u.name.clone(),
                mention_name: u.mention_name.clone(),
                email: u.email.clone(),
                to: u.to.clone(),
            })
            .collect();
        let mut directory = Self {
            rooms,
            users,
            tokens: Vec::new(),
        };
        if config.tokens.is_empty() {
            return Err(ConfigError::NoTokens);
        }
        for (index, t) in config.tokens.iter().enumerate() {
            let token = t.token.resolve().map_err(|source| ConfigError::Secret {
                name: format!("tokens[{index}]"),
                source,
            })?;
            let rooms = match &t.rooms {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .map(|r| {
                            directory
                                .room(&RoomRef::parse(r))
                                .map(|room| room.id)
                                .ok_or_else(|| ConfigError::UnknownRoom {
                                    index,
                                    room: r.clone(),
                                })
                        })
                        .collect::<Result<HashSet<u64>, _>>()?,
                ),
            };
            directory.tokens.push(IssuedToken {
                token,
                label: t
                    .label
                    .clone()
                    .unwrap_or_else(|| format!("token-{}", index + 1)),
                scopes: t.scopes.clone(),
                rooms,
            });
        }
        Ok(directory)
    }

    /// The room `r` names (id, or name compared case-insensitively as HipChat did).
    pub fn room(&self, r: &RoomRef) -> Option<&Room> {
        match r {
            RoomRef::Id(id) => self.rooms.iter().find(|room| room.id == *id),
            RoomRef::Name(name) => self
                .rooms
                .iter()
                .find(|room| room.name.eq_ignore_ascii_case(name)),
        }
    }

    /// Every room, in configured order.
    pub fn rooms(&self) -> &[Room] {
        &self.rooms
    }

    /// The user `u` names (id, `@mention`, e-mail, or the display name).
    pub fn user(&self, u: &UserRef) -> Option<&User> {
        self.users.iter().find(|user| match u {
            UserRef::Id(id) => user.id == *id,
            UserRef::Mention(m) => user
                .mention_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(m)),
            UserRef::Email(e) => user
                .email
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(e)),
        })
    }

    /// The token `raw` is, compared in constant time.
    pub fn token(&self, raw: &str) -> Option<&IssuedToken> {
        self.tokens.iter().find(|t| t.token.matches(raw.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_never_collide_with_configured_ones() {
        let a = derived_id("Build Room");
        assert_eq!(a, derived_id("Build Room"));
        let ids = assign_ids(
            [("Build Room", None), ("Other", Some(a))].into_iter(),
            "room id",
        )
        .unwrap();
        assert_eq!(ids[1], a);
        assert_ne!(ids[0], a);
        assert!(assign_ids([("x", Some(3)), ("y", Some(3))].into_iter(), "room id").is_err());
    }
}
