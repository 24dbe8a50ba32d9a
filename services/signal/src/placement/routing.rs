//! [`PlacedMedia`]: the [`MediaControl`] of a pool of SFU nodes. A new room
//! is placed on one node ([`super::place`]) and every later call about it
//! goes to that node's own control client; closing the room forgets where it
//! was. Without any registered node, rooms go to the fixed node given at
//! start (`--sfu-url`), as with a single SFU.
//!
//! The map of rooms is behind a `parking_lot` mutex held only to read or
//! change it, never across a call to a node.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::future::join_all;
use parking_lot::Mutex;
use yunhui_proto::media::{
    ControlError, MediaControl, MediaKind, NodeStats, Routing, VideoSubscriptions,
};
use yunhui_proto::turn::TurnEndpoints;

use super::nodes::{NodeTable, NodeView};
use super::{Load, NodeId, RoomRequirements, admit_participant, place};

/// Where one room is.
struct PlacedRoom {
    /// Its node; `None` for the fixed node.
    node: Option<NodeId>,
    control: Arc<dyn MediaControl>,
    /// Participants added to it through this replica.
    participants: HashSet<String>,
}

/// Rooms placed on the SFU nodes of a [`NodeTable`].
pub struct PlacedMedia {
    nodes: Arc<NodeTable>,
    fixed: Option<Arc<dyn MediaControl>>,
    rooms: Mutex<HashMap<String, PlacedRoom>>,
    /// The region each room's tenant prefers, kept while the room lives so
    /// that placing it again prefers the same region.
    regions: Mutex<HashMap<String, String>>,
}

impl PlacedMedia {
    /// Places rooms on the nodes of `nodes`, or on `fixed` while none is live.
    pub fn new(nodes: Arc<NodeTable>, fixed: Option<Arc<dyn MediaControl>>) -> Self {
        PlacedMedia {
            nodes,
            fixed,
            rooms: Mutex::new(HashMap::new()),
            regions: Mutex::new(HashMap::new()),
        }
    }

    /// The table of nodes reports go to.
    pub fn nodes(&self) -> &Arc<NodeTable> {
        &self.nodes
    }

    /// The node `room` is on (`None` when it is unknown or on the fixed node).
    pub fn node_of(&self, room: &str) -> Option<NodeId> {
        self.rooms.lock().get(room).and_then(|r| r.node.clone())
    }

    /// The number of rooms on each node this replica has placed rooms on.
    pub fn rooms_per_node(&self) -> HashMap<NodeId, usize> {
        let mut counts = HashMap::new();
        for room in self.rooms.lock().values() {
            if let Some(node) = &room.node {
                *counts.entry(node.clone()).or_default() += 1;
            }
        }
        counts
    }

    /// Chooses the node of a room not placed yet (or whose node stopped
    /// reporting) and records it; the caller then opens the room there.
    fn placement(&self, room: &str) -> Result<Arc<dyn MediaControl>, ControlError> {
        let mut rooms = self.rooms.lock();
        let views = self.nodes.nodes();
        if let Some(placed) = rooms.get(room) {
            let node_live = match &placed.node {
                None => true,
                Some(id) => views.iter().any(|v| v.state.id == *id && v.state.is_live()),
            };
            if node_live {
                return Ok(Arc::clone(&placed.control));
            }
            tracing::warn!(%room, node = ?placed.node, "the room's media node stopped reporting; placing the room again");
        }
        let (node, control) = if !views.iter().any(|v| v.state.is_live())
            && let Some(fixed) = &self.fixed
        {
            (None, Arc::clone(fixed))
        } else {
            let mut states = Vec::with_capacity(views.len());
            for view in &views {
                let mut state = view.state.clone();
                state.assigned = assigned(&rooms, &state.id);
                states.push(state);
            }
            let requirements = RoomRequirements {
                participants: 1,
                architecture: None,
                region: self.regions.lock().get(room).cloned(),
            };
            let id = place(&states, &requirements).map_err(|error| ControlError::NoMediaNode {
                reason: error.to_string(),
            })?;
            let control = views
                .iter()
                .find(|v| v.state.id == id)
                .map(|v: &NodeView| Arc::clone(&v.control))
                .ok_or_else(|| ControlError::NoMediaNode {
                    reason: format!("node {id} left the table"),
                })?;
            tracing::info!(%room, node = %id, region = ?requirements.region, "room placed");
            (Some(id), control)
        };
        rooms.insert(
            room.to_owned(),
            PlacedRoom {
                node,
                control: Arc::clone(&control),
                participants: HashSet::new(),
            },
        );
        Ok(control)
    }

    /// The control of the node `room` is on.
    fn route(&self, room: &str) -> Result<Arc<dyn MediaControl>, ControlError> {
        self.rooms
            .lock()
            .get(room)
            .map(|placed| Arc::clone(&placed.control))
            .ok_or_else(|| ControlError::RoomNotFound {
                room: room.to_owned(),
            })
    }
}

/// What this replica has put on `node`.
fn assigned(rooms: &HashMap<String, PlacedRoom>, node: &NodeId) -> Load {
    rooms
        .values()
        .filter(|r| r.node.as_ref() == Some(node))
        .fold(Load::default(), |load, room| Load {
            rooms: load.rooms + 1,
            participants: load.participants + room.participants.len() as u64,
        })
}

#[async_trait::async_trait]
impl MediaControl for PlacedMedia {
    fn prefer_region(&self, room: &str, region: &str) {
        self.regions
            .lock()
            .insert(room.to_owned(), region.to_owned());
    }

    fn turn_of(&self, room: &str) -> Option<TurnEndpoints> {
        let id = self.node_of(room)?;
        self.nodes.node(&id)?.state.report.turn
    }

    async fn create_room(&self, room: &str) -> Result<(), ControlError> {
        let control = self.placement(room)?;
        let result = control.create_room(room).await;
        if result.is_err() {
            let mut rooms = self.rooms.lock();
            if rooms
                .get(room)
                .is_some_and(|placed| Arc::ptr_eq(&placed.control, &control))
            {
                rooms.remove(room);
            }
        }
        result
    }

    async fn close_room(&self, room: &str) -> Result<(), ControlError> {
        self.regions.lock().remove(room);
        let placed = self.rooms.lock().remove(room);
        match placed {
            Some(placed) => placed.control.close_room(room).await,
            None => Ok(()),
        }
    }

    async fn add_participant(&self, room: &str, participant: &str) -> Result<(), ControlError> {
        let control = {
            let rooms = self.rooms.lock();
            let placed = rooms.get(room).ok_or_else(|| ControlError::RoomNotFound {
                room: room.to_owned(),
            })?;
            if let Some(id) = &placed.node
                && let Some(view) = self.nodes.node(id)
            {
                let mut state = view.state;
                state.assigned = assigned(&rooms, id);
                admit_participant(&state).map_err(|error| ControlError::NoMediaNode {
                    reason: error.to_string(),
                })?;
            }
            Arc::clone(&placed.control)
        };
        control.add_participant(room, participant).await?;
        if let Some(placed) = self.rooms.lock().get_mut(room) {
            placed.participants.insert(participant.to_owned());
        }
        Ok(())
    }

    async fn remove_participant(&self, room: &str, participant: &str) -> Result<(), ControlError> {
        if let Some(placed) = self.rooms.lock().get_mut(room) {
            placed.participants.remove(participant);
        }
        self.route(room)?
            .remove_participant(room, participant)
            .await
    }

    async fn publish(
        &self,
        room: &str,
        participant: &str,
        offer_sdp: &str,
    ) -> Result<String, ControlError> {
        self.route(room)?
            .publish(room, participant, offer_sdp)
            .await
    }

    async fn subscribe_offer(
        &self,
        room: &str,
        participant: &str,
    ) -> Result<Option<String>, ControlError> {
        self.route(room)?.subscribe_offer(room, participant).await
    }

    async fn subscribe_answer(
        &self,
        room: &str,
        participant: &str,
        answer_sdp: &str,
    ) -> Result<Option<String>, ControlError> {
        self.route(room)?
            .subscribe_answer(room, participant, answer_sdp)
            .await
    }

    async fn set_forwarding(
        &self,
        room: &str,
        participant: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<(), ControlError> {
        self.route(room)?
            .set_forwarding(room, participant, kind, enabled)
            .await
    }

    async fn set_video_subscriptions(
        &self,
        room: &str,
        participant: &str,
        subscriptions: VideoSubscriptions,
    ) -> Result<(), ControlError> {
        self.route(room)?
            .set_video_subscriptions(room, participant, subscriptions)
            .await
    }

    async fn set_routing(
        &self,
        room: &str,
        participant: &str,
        routing: Routing,
    ) -> Result<(), ControlError> {
        self.route(room)?
            .set_routing(room, participant, routing)
            .await
    }

    async fn active_speaker(&self, room: &str) -> Result<Option<String>, ControlError> {
        self.route(room)?.active_speaker(room).await
    }

    /// Lost when its node is gone or leaving, even if that node still has it.
    async fn room_lost(&self, room: &str) -> bool {
        let node = {
            let rooms = self.rooms.lock();
            match rooms.get(room) {
                None => return true,
                Some(placed) => placed.node.clone(),
            }
        };
        if let Some(id) = node
            && !self.nodes.node(&id).is_some_and(|v| v.state.is_live())
        {
            return true;
        }
        match self.route(room) {
            Ok(control) => control.active_speaker(room).await.is_err(),
            Err(_) => true,
        }
    }

    /// The sum over the live nodes, asked now; its `instance` names every
    /// live node with its own instance, so it changes when a node restarts,
    /// joins or goes (and signal then restores the rooms that lost their node).
    async fn node_stats(&self) -> Result<NodeStats, ControlError> {
        let live: Vec<NodeView> = self
            .nodes
            .nodes()
            .into_iter()
            .filter(|v| v.state.is_live())
            .collect();
        if live.is_empty() {
            return match &self.fixed {
                Some(fixed) => fixed.node_stats().await,
                None => Err(ControlError::NoMediaNode {
                    reason: "no media node has registered with signal".into(),
                }),
            };
        }
        let answers = join_all(live.iter().map(|v| v.control.node_stats())).await;
        let mut total = NodeStats::default();
        let mut instances = Vec::with_capacity(live.len());
        for (view, answer) in live.iter().zip(answers) {
            let stats = answer?;
            instances.push(format!("{}={}", view.state.id, stats.instance));
            total.rooms += stats.rooms;
            total.participants += stats.participants;
            total.peer_connections += stats.peer_connections;
            total.tasks += stats.tasks;
            total.forwarded_packets += stats.forwarded_packets;
            total.forwarded_bytes += stats.forwarded_bytes;
            total.received_bytes += stats.received_bytes;
        }
        total.instance = instances.join(",");
        Ok(total)
    }
}
