//! `[integrations]` and `[bridge]` in one `serve` (issue 23 with issue 22): one capability
//! that builds the bridge first, then the integrations wired to it.
//!
//! - A Slack or Mattermost channel listed in a room's `channels` (`slack:C0123`,
//!   `mattermost:abc`) is that HipChat room for the integrations: their webhook's
//!   `item.room` has the room's id and name, and the room's tokens apply.
//! - What the scripts send through the `hipchat` helper module goes to the bridge's own
//!   listener, which takes the integrations' tokens: a room token (`ROOM_ID:NAME:TOKEN`) for
//!   its room, when that is a `[[bridge.rooms]]` id, a global one (`NAME:TOKEN`) for every
//!   room, each with `send_notification` and `send_message`. So a script's room posts reach
//!   the room's destinations, and the scripts are unchanged.
//!
//! With only one of the two sections, each builds as it does alone.

use async_trait::async_trait;
use hipchat::{Scope, SecretSource};
use hipkit_bridge::BridgeConfig;
use hipkit_bridge::config::TokenConfig;
use hipkit_bridge::directory::Room;
use hipkit_integrations::IntegrationsConfig;
use hipkit_integrations::runtime::python::HipChatTarget;
use hipkit_integrations::slash::MappedRoom;
use hipkit_integrations::slash::channels::{ChannelError, ChannelMap};
use hipkit_integrations::tokens::TokenSpec;
use hipkit_server::{Capability, CapabilityError, Context, Mounted};
use hipkit_transport::{CourierClash, CourierSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The two sections, built together when both are on.
pub struct Bridged<'a> {
    /// `[integrations]`.
    pub integrations: &'a IntegrationsConfig,
    /// `[bridge]`.
    pub bridge: &'a BridgeConfig,
}

/// A room's `channels` entry that cannot be mapped.
#[derive(Debug, thiserror::Error)]
#[error("[[bridge.rooms]] `{room}` channels: {source}")]
pub struct ChannelsError {
    /// The room.
    room: String,
    /// Why.
    #[source]
    source: ChannelError,
}

/// `[[bridge.rooms]] channels`, mapped to their rooms (`rooms` in configured order).
fn channel_map(bridge: &BridgeConfig, rooms: &[Room]) -> Result<ChannelMap, ChannelsError> {
    let mut map = ChannelMap::default();
    for (config, room) in bridge.rooms.iter().zip(rooms) {
        for channel in &config.channels {
            let mapped = MappedRoom {
                id: room.id,
                name: room.name.clone(),
            };
            map.add(channel, mapped).map_err(|source| ChannelsError {
                room: room.name.clone(),
                source,
            })?;
        }
    }
    Ok(map)
}

/// The integrations' tokens as bridge tokens: room tokens for their room (when the bridge
/// has it), global ones for every room; named after their integration.
fn integration_tokens(specs: &[TokenSpec], rooms: &[Room]) -> Vec<TokenConfig> {
    let scopes = vec![Scope::SendNotification, Scope::SendMessage];
    specs
        .iter()
        .filter_map(|spec| {
            let (token, rooms, label) = match spec {
                TokenSpec::Global { name, token } => (token, None, name),
                TokenSpec::Room {
                    room,
                    integration,
                    token,
                } => {
                    let id = room.parse::<u64>().ok()?;
                    rooms.iter().find(|r| r.id == id)?;
                    (token, Some(vec![room.clone()]), integration)
                }
            };
            Some(TokenConfig {
                token: SecretSource::Inline(token.clone()),
                scopes: scopes.clone(),
                rooms,
                label: Some(label.clone()),
            })
        })
        .collect()
}

/// The URL the helpers reach the bridge's listener at (loopback for a wildcard address).
fn helper_url(addr: SocketAddr, tls: bool) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}

/// One capability's parts after another's: routes, lines, checks, tasks, both's couriers
/// (refused when both name one alike); `first`'s shutdown, then `second`'s.
fn merged(mut first: Mounted, second: Mounted) -> Result<Mounted, CourierClash> {
    first.shutdown = match (first.shutdown.take(), second.shutdown) {
        (Some(a), Some(b)) => Some(Box::pin(async move {
            a.await;
            b.await;
        })),
        (a, b) => a.or(b),
    };
    first.routes.extend(second.routes);
    first.banner.extend(second.banner);
    first.health.extend(second.health);
    first.scrape.extend(second.scrape);
    first.unauthenticated.extend(second.unauthenticated);
    first.couriers = match (first.couriers.take(), second.couriers) {
        (Some(a), Some(b)) => {
            let mut both = CourierSet::default();
            both.add(a)?;
            both.add(b)?;
            Some(Arc::new(both))
        }
        (a, b) => a.or(b),
    };
    first.tasks.extend(second.tasks);
    Ok(first)
}

#[async_trait]
impl Capability for Bridged<'_> {
    fn name(&self) -> &'static str {
        "bridge"
    }

    async fn build(&self, cx: &mut Context) -> Result<Option<Mounted>, CapabilityError> {
        if !self.bridge.is_on() {
            return self.integrations.build(cx).await;
        }
        let config = |e| CapabilityError::config("bridge", e);
        let rooms = hipkit_bridge::directory::rooms(self.bridge).map_err(config)?;
        let channels =
            channel_map(self.bridge, &rooms).map_err(|e| CapabilityError::config("bridge", e))?;
        if self.integrations.path.is_none() {
            return self.bridge.build(cx).await;
        }
        let specs = self
            .integrations
            .token_specs()
            .map_err(|e| CapabilityError::config("integrations", e))?;
        let mut bridge = self.bridge.clone();
        bridge.tokens.extend(integration_tokens(&specs, &rooms));
        let Some(listening) = bridge.listen(cx).await? else {
            return self.integrations.build(cx).await;
        };
        let target = HipChatTarget {
            endpoint: helper_url(listening.addr, bridge.tls),
            insecure: bridge.tls,
            timeout_secs: cx.hipchat.timeout_secs,
        };
        let integrations = self
            .integrations
            .mount(cx, target, Some(Arc::new(channels)))
            .await?;
        Ok(Some(match integrations {
            Some(mounted) => merged(mounted, listening.mounted)
                .map_err(|e| CapabilityError::config("bridge", e))?,
            None => listening.mounted,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_tokens_serve_their_bridge_room_and_global_ones_every_room() {
        let rooms = [Room {
            id: 1001,
            name: "Build Room".into(),
            topic: String::new(),
            to: Vec::new(),
        }];
        let specs: Vec<TokenSpec> = ["uploader:g1", "1001:deploy:r1", "2002:deploy:r2"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let tokens = integration_tokens(&specs, &rooms);
        let shown: Vec<_> = tokens
            .iter()
            .map(|t| (t.label.clone().unwrap(), t.rooms.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                ("uploader".to_owned(), None),
                ("deploy".to_owned(), Some(vec!["1001".to_owned()])),
            ]
        );
        assert!(
            tokens
                .iter()
                .all(|t| t.scopes == [Scope::SendNotification, Scope::SendMessage])
        );
    }

    #[test]
    fn merged_parts_keep_both_couriers_and_refuse_a_name_given_twice() {
        use hipkit_integrations::slash::late::ReplyCouriers;
        use hipkit_transport::Couriers;
        let replies = || Mounted {
            couriers: Some(Arc::new(ReplyCouriers::new().unwrap()) as Arc<dyn Couriers>),
            ..Mounted::default()
        };
        let one = merged(replies(), Mounted::default()).unwrap();
        assert!(one.couriers.unwrap().carries("slack:response_url"));
        let clash = merged(replies(), replies()).err().unwrap();
        assert_eq!(clash.name, "slack:response_url");
    }

    #[test]
    fn helpers_reach_a_wildcard_listener_on_loopback() {
        let any: SocketAddr = "0.0.0.0:8280".parse().unwrap();
        assert_eq!(helper_url(any, false), "http://127.0.0.1:8280");
        let v6: SocketAddr = "[::]:8280".parse().unwrap();
        assert_eq!(helper_url(v6, true), "https://[::1]:8280");
        let one: SocketAddr = "10.0.0.5:1".parse().unwrap();
        assert_eq!(helper_url(one, false), "http://10.0.0.5:1");
    }
}
