//! Placement of rooms on SFU nodes. Every node reports itself to signal
//! ([`yunhui_proto::media::NodeReport`]); [`nodes::NodeTable`] keeps the
//! latest report of each, and [`routing::PlacedMedia`] — the
//! [`yunhui_proto::media::MediaControl`] signal's rooms drive — puts each new
//! room on one node chosen by [`place`] and sends every call about that room
//! to that node, so all participants of a meeting meet on one node.
//!
//! [`place`] is the decision alone, a pure function of the nodes as signal
//! sees them: the least loaded node against its capacity, never one that
//! is gone, draining, full or of another architecture. A room is not split
//! over nodes: a participant who would take a room's node past its capacity
//! is refused ([`admit_participant`]), however large the pool.
//!
//! With several signal replicas, each node's report reaches one of them and
//! [`shared`] carries it to the others through the database.

pub mod nodes;
pub mod routing;
pub mod shared;

use std::fmt;
use std::time::Duration;

use yunhui_proto::media::{NODE_GONE_AFTER, NodeReport};

/// The name an SFU node reports under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub String);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One node as placement sees it.
#[derive(Debug, Clone)]
pub struct NodeState {
    /// The node.
    pub id: NodeId,
    /// Its latest report.
    pub report: NodeReport,
    /// Time since that report.
    pub age: Duration,
    /// Rooms and participants this signal has put on the node, which a
    /// report sent before they arrived does not count yet.
    pub assigned: Load,
}

/// Rooms and participants on a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Rooms.
    pub rooms: u64,
    /// Participants.
    pub participants: u64,
}

impl NodeState {
    /// The node's load: what it reported or what signal knows it has put on
    /// it since, whichever is more.
    pub fn load(&self) -> Load {
        Load {
            rooms: self.report.stats.rooms.max(self.assigned.rooms),
            participants: self
                .report
                .stats
                .participants
                .max(self.assigned.participants),
        }
    }

    /// Whether the node still reports and is not leaving.
    pub fn is_live(&self) -> bool {
        self.age <= NODE_GONE_AFTER && !self.report.leaving
    }
}

/// What a new room needs of its node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomRequirements {
    /// Participants the room is expected to start with.
    pub participants: u64,
    /// The CPU architecture the node must have, if it matters.
    pub architecture: Option<String>,
    /// The region the room's tenant prefers: a node there takes the room
    /// when one can, else any node that can.
    pub region: Option<String>,
}

/// Why a node cannot take a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It stopped reporting.
    Gone,
    /// It is about to stop.
    Draining,
    /// It has no room for the room's participants.
    Full,
    /// It is of another CPU architecture than asked for.
    Architecture,
}

/// Why no node can take a room.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// No node has ever reported.
    #[error("no media node has registered with signal")]
    NoNodes,
    /// Every node refuses.
    #[error(
        "none of the {nodes} media nodes can take it ({full} full, {draining} draining, {gone} not reporting, {other_architecture} of another architecture)"
    )]
    NoneFits {
        /// Nodes signal knows.
        nodes: usize,
        /// Of those, full.
        full: usize,
        /// Draining.
        draining: usize,
        /// Gone.
        gone: usize,
        /// Of another architecture.
        other_architecture: usize,
    },
    /// The room's node has no place for one more participant.
    #[error(
        "its media node {node} is full ({capacity} participants) and a meeting cannot span nodes yet"
    )]
    NodeFull {
        /// The room's node.
        node: NodeId,
        /// Its capacity.
        capacity: u64,
    },
}

/// Why `node` cannot take `room`, if it cannot.
pub fn refusal(node: &NodeState, room: &RoomRequirements) -> Option<Refusal> {
    if !node.is_live() {
        return Some(Refusal::Gone);
    }
    if node.report.draining {
        return Some(Refusal::Draining);
    }
    if room
        .architecture
        .as_ref()
        .is_some_and(|arch| *arch != node.report.architecture)
    {
        return Some(Refusal::Architecture);
    }
    let needed = node.load().participants + room.participants.max(1);
    if node.report.capacity == 0 || needed > node.report.capacity {
        return Some(Refusal::Full);
    }
    None
}

/// Whether the node of a room takes one more participant into it.
pub fn admit_participant(node: &NodeState) -> Result<(), PlacementError> {
    if node.load().participants >= node.report.capacity {
        return Err(PlacementError::NodeFull {
            node: node.id.clone(),
            capacity: node.report.capacity,
        });
    }
    Ok(())
}

/// The node for a new room: of the nodes that can take it (in the room's
/// preferred region when one there can), the one with the smallest share of
/// its capacity in use, then the one with fewest rooms, then by name (so
/// equal nodes take rooms in turn).
pub fn place(nodes: &[NodeState], room: &RoomRequirements) -> Result<NodeId, PlacementError> {
    if let Some(region) = &room.region {
        let local: Vec<NodeState> = (nodes.iter())
            .filter(|n| n.report.region.as_ref() == Some(region))
            .cloned()
            .collect();
        if let Ok(id) = place_among(&local, room) {
            return Ok(id);
        }
    }
    place_among(nodes, room)
}

fn place_among(nodes: &[NodeState], room: &RoomRequirements) -> Result<NodeId, PlacementError> {
    if nodes.is_empty() {
        return Err(PlacementError::NoNodes);
    }
    let mut refused = [0usize; 4];
    let mut best: Option<(&NodeState, (u64, u64))> = None;
    for node in nodes {
        if let Some(why) = refusal(node, room) {
            refused[why as usize] += 1;
            continue;
        }
        let load = node.load();
        // Parts per million of capacity, so nodes of different sizes compare.
        let share = load.participants.saturating_mul(1_000_000) / node.report.capacity;
        let key = (share, load.rooms);
        let better = match &best {
            None => true,
            Some((chosen, chosen_key)) => {
                key < *chosen_key || (key == *chosen_key && node.id < chosen.id)
            }
        };
        if better {
            best = Some((node, key));
        }
    }
    match best {
        Some((node, _)) => Ok(node.id.clone()),
        None => Err(PlacementError::NoneFits {
            nodes: nodes.len(),
            gone: refused[Refusal::Gone as usize],
            draining: refused[Refusal::Draining as usize],
            full: refused[Refusal::Full as usize],
            other_architecture: refused[Refusal::Architecture as usize],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yunhui_proto::media::NodeStats;

    fn node(id: &str, capacity: u64, participants: u64, rooms: u64) -> NodeState {
        NodeState {
            id: NodeId(id.into()),
            report: NodeReport {
                node_id: id.into(),
                control_url: format!("http://{id}:7880"),
                media_address: "127.0.0.1:7882".parse().unwrap(),
                architecture: "x86_64".into(),
                capacity,
                draining: false,
                leaving: false,
                stats: NodeStats {
                    rooms,
                    participants,
                    ..NodeStats::default()
                },
                bits_in_per_second: 0,
                bits_out_per_second: 0,
                cpu_millicores: 0,
                turn: None,
                region: None,
            },
            age: Duration::from_secs(1),
            assigned: Load::default(),
        }
    }

    fn any_room() -> RoomRequirements {
        RoomRequirements::default()
    }

    #[test]
    fn the_least_loaded_node_against_its_capacity_takes_the_room() {
        // b has more participants but twice the capacity: a smaller share.
        let nodes = [node("a", 100, 30, 3), node("b", 200, 40, 4)];
        assert_eq!(place(&nodes, &any_room()), Ok(NodeId("b".into())));
    }

    #[test]
    fn a_room_goes_to_its_preferred_region_while_a_node_there_can_take_it() {
        let in_region = |id: &str, region: &str, participants: u64| {
            let mut n = node(id, 100, participants, 1);
            n.report.region = Some(region.into());
            n
        };
        let north = RoomRequirements {
            region: Some("north".into()),
            ..RoomRequirements::default()
        };
        // The north node is busier, but in the region.
        let nodes = [in_region("a", "south", 0), in_region("b", "north", 60)];
        assert_eq!(place(&nodes, &north), Ok(NodeId("b".into())));
        assert_eq!(place(&nodes, &any_room()), Ok(NodeId("a".into())));
        // Full or draining there: any other node that can.
        let nodes = [in_region("a", "south", 0), in_region("b", "north", 100)];
        assert_eq!(place(&nodes, &north), Ok(NodeId("a".into())));
        let mut draining = in_region("b", "north", 0);
        draining.report.draining = true;
        let nodes = [in_region("a", "south", 50), draining];
        assert_eq!(place(&nodes, &north), Ok(NodeId("a".into())));
        // A region no node is in: placed as if none were preferred.
        let east = RoomRequirements {
            region: Some("east".into()),
            ..RoomRequirements::default()
        };
        let nodes = [in_region("a", "south", 10), in_region("b", "north", 0)];
        assert_eq!(place(&nodes, &east), Ok(NodeId("b".into())));
    }

    #[test]
    fn equal_nodes_take_rooms_by_fewest_rooms_then_name() {
        let nodes = [node("b", 100, 0, 0), node("a", 100, 0, 0)];
        assert_eq!(place(&nodes, &any_room()), Ok(NodeId("a".into())));
        let nodes = [node("a", 100, 0, 1), node("b", 100, 0, 0)];
        assert_eq!(place(&nodes, &any_room()), Ok(NodeId("b".into())));
    }

    #[test]
    fn rooms_placed_since_the_last_report_count() {
        let mut a = node("a", 100, 0, 0);
        a.assigned = Load {
            rooms: 1,
            participants: 2,
        };
        let nodes = [a, node("b", 100, 0, 0)];
        assert_eq!(place(&nodes, &any_room()), Ok(NodeId("b".into())));
    }

    #[test]
    fn a_draining_node_takes_no_room() {
        let mut a = node("a", 100, 0, 0);
        a.report.draining = true;
        let nodes = [a, node("b", 100, 90, 9)];
        assert_eq!(place(&nodes, &any_room()), Ok(NodeId("b".into())));
    }

    #[test]
    fn a_node_that_stopped_reporting_takes_no_room() {
        let mut a = node("a", 100, 0, 0);
        a.age = NODE_GONE_AFTER + Duration::from_millis(1);
        let nodes = [a, node("b", 100, 90, 9)];
        assert_eq!(place(&nodes, &any_room()), Ok(NodeId("b".into())));
    }

    #[test]
    fn a_full_node_takes_no_room_and_a_large_room_needs_the_space() {
        let nodes = [node("a", 10, 10, 2), node("b", 10, 5, 1)];
        assert_eq!(place(&nodes, &any_room()), Ok(NodeId("b".into())));
        let large = RoomRequirements {
            participants: 6,
            ..RoomRequirements::default()
        };
        assert_eq!(
            place(&nodes, &large),
            Err(PlacementError::NoneFits {
                nodes: 2,
                full: 2,
                draining: 0,
                gone: 0,
                other_architecture: 0
            })
        );
    }

    #[test]
    fn the_architecture_asked_for_is_respected() {
        let mut arm = node("arm", 100, 50, 5);
        arm.report.architecture = "aarch64".into();
        let nodes = [node("x86", 100, 0, 0), arm];
        let room = RoomRequirements {
            participants: 1,
            architecture: Some("aarch64".into()),
            region: None,
        };
        assert_eq!(place(&nodes, &room), Ok(NodeId("arm".into())));
    }

    #[test]
    fn a_room_grows_only_up_to_its_node_s_capacity() {
        assert_eq!(admit_participant(&node("a", 3, 2, 1)), Ok(()));
        let mut full = node("a", 3, 2, 1);
        full.assigned.participants = 3;
        assert_eq!(
            admit_participant(&full),
            Err(PlacementError::NodeFull {
                node: NodeId("a".into()),
                capacity: 3
            })
        );
    }

    #[test]
    fn no_node_is_a_clear_error() {
        assert_eq!(place(&[], &any_room()), Err(PlacementError::NoNodes));
        let mut a = node("a", 100, 0, 0);
        a.report.draining = true;
        let mut b = node("b", 100, 0, 0);
        b.age = Duration::from_secs(60);
        let error = place(&[a, b, node("c", 0, 0, 0)], &any_room()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "none of the 3 media nodes can take it (1 full, 1 draining, 1 not reporting, 0 of another architecture)"
        );
    }
}
