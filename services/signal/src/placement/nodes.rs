//! The node table: the latest report of every SFU node that registered with
//! this signal replica, when it came, and one control client per node (made
//! when the node first reports, at the node's own internal API).
//!
//! A node whose last report is older than [`NODE_GONE_AFTER`] is gone: it
//! takes no new rooms. One silent for [`FORGET_AFTER`] leaves the table.
//!
//! A node can also be marked draining here ([`NodeTable::set_draining`], the
//! operator draining it before its pod goes): from then on it reads as
//! draining whatever its own reports say, so no new room is placed on it.
//! The mark lives in this replica's memory; the operator repeats it on every
//! reconcile while the drain lasts, so a restarted signal learns it again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use yunhui_client::media_control::HttpControl;
use yunhui_proto::media::{MediaControl, NODE_GONE_AFTER, NodeReport};

use super::{Load, NodeId, NodeState};

/// How long a silent node stays in the table (listed as gone) before it is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(600);

/// Longest node id and control URL a report may carry.
const MAX_FIELD_LEN: usize = 253;

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReport {
    /// The node id is empty, too long or has characters other than letters,
    /// digits, `-`, `.`, `_` and `:`.
    #[error("the node id must be 1 to 253 letters, digits, '-', '.', '_' or ':' (got {0:?})")]
    NodeId(String),
    /// The control URL is not an http(s) URL.
    #[error(
        "the control URL must be an http:// or https:// URL of at most 253 characters (got {0:?})"
    )]
    ControlUrl(String),
    /// The TURN host is empty, too long or not a host name or IP address.
    #[error(
        "the TURN host must be a host name or IP address of at most 253 characters (got {0:?})"
    )]
    TurnHost(String),
    /// The region is empty, too long or not a name.
    #[error("the region must be 1 to 63 letters, digits, '-', '.' or '_' (got {0:?})")]
    Region(String),
    /// The report names another node than its address.
    #[error("the report is for node {body:?} but was sent for node {path:?}")]
    Mismatch {
        /// The node in the path.
        path: String,
        /// The node in the body.
        body: String,
    },
}

/// One node in the table.
struct Entry {
    report: NodeReport,
    seen: Instant,
    control: Arc<dyn MediaControl>,
    /// Marked draining by [`NodeTable::set_draining`].
    marked_draining: bool,
}

/// A node's latest report with its control client, as read from the table.
#[derive(Clone)]
pub struct NodeView {
    /// The node as placement sees it (with nothing assigned yet).
    pub state: NodeState,
    /// The client of the node's own internal API.
    pub control: Arc<dyn MediaControl>,
}

/// Every SFU node that reports to this replica.
pub struct NodeTable {
    internal_key: String,
    nodes: Mutex<BTreeMap<NodeId, Entry>>,
}

impl NodeTable {
    /// An empty table whose control clients present `internal_key`.
    pub fn new(internal_key: &str) -> Self {
        NodeTable {
            internal_key: internal_key.to_owned(),
            nodes: Mutex::new(BTreeMap::new()),
        }
    }

    /// Takes a node's report sent for `path_id`: the node is registered (or
    /// its entry refreshed) with a control client at its `control_url`.
    pub fn record(&self, path_id: &str, report: NodeReport) -> Result<(), InvalidReport> {
        check(path_id, &report)?;
        self.upsert(report, Instant::now());
        Ok(())
    }

    /// Takes a report another replica received `age` ago (read from the
    /// database), unless this table has a newer one of the node.
    pub fn merge(&self, report: NodeReport, age: Duration) -> Result<(), InvalidReport> {
        check(&report.node_id, &report)?;
        let seen = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        let newer = self
            .nodes
            .lock()
            .get(&NodeId(report.node_id.clone()))
            .is_none_or(|entry| entry.seen < seen);
        if newer {
            self.upsert(report, seen);
        }
        Ok(())
    }

    fn upsert(&self, report: NodeReport, seen: Instant) {
        let id = NodeId(report.node_id.clone());
        let now = seen;
        let mut nodes = self.nodes.lock();
        match nodes.get_mut(&id) {
            Some(entry) => {
                if entry.report.control_url != report.control_url {
                    tracing::info!(node = %id, control = %report.control_url, "media node moved to a new control URL");
                    entry.control =
                        Arc::new(HttpControl::new(&report.control_url, &self.internal_key));
                }
                if report.draining && !entry.report.draining {
                    tracing::info!(node = %id, "media node is draining: no new rooms go to it");
                }
                if now.duration_since(entry.seen) > NODE_GONE_AFTER {
                    tracing::info!(node = %id, "media node reports again");
                }
                entry.report = report;
                entry.seen = now;
            }
            None => {
                tracing::info!(
                    node = %id,
                    control = %report.control_url,
                    media = %report.media_address,
                    architecture = %report.architecture,
                    capacity = report.capacity,
                    "media node registered"
                );
                let control = Arc::new(HttpControl::new(&report.control_url, &self.internal_key));
                nodes.insert(
                    id,
                    Entry {
                        report,
                        seen: now,
                        control,
                        marked_draining: false,
                    },
                );
            }
        }
    }

    /// One node of the table.
    pub fn node(&self, id: &NodeId) -> Option<NodeView> {
        let now = Instant::now();
        self.nodes.lock().get(id).map(|entry| view(id, entry, now))
    }

    /// Marks a node draining: no new room is placed on it from now on, even
    /// before its own report says so. False when the node is not in the table.
    pub fn set_draining(&self, id: &NodeId) -> bool {
        let mut nodes = self.nodes.lock();
        let Some(entry) = nodes.get_mut(id) else {
            return false;
        };
        if !entry.marked_draining {
            tracing::info!(node = %id, "media node marked draining: no new rooms go to it");
            entry.marked_draining = true;
        }
        true
    }

    /// Every node in the table, live or gone, by id; forgets nodes silent
    /// for [`FORGET_AFTER`].
    pub fn nodes(&self) -> Vec<NodeView> {
        let now = Instant::now();
        let mut nodes = self.nodes.lock();
        nodes.retain(|id, entry| {
            let keep = now.duration_since(entry.seen) < FORGET_AFTER;
            if !keep {
                tracing::info!(node = %id, "media node forgotten after a long silence");
            }
            keep
        });
        nodes
            .iter()
            .map(|(id, entry)| view(id, entry, now))
            .collect()
    }
}

fn view(id: &NodeId, entry: &Entry, now: Instant) -> NodeView {
    let mut report = entry.report.clone();
    report.draining |= entry.marked_draining;
    NodeView {
        state: NodeState {
            id: id.clone(),
            report,
            age: now.duration_since(entry.seen),
            assigned: Load::default(),
        },
        control: Arc::clone(&entry.control),
    }
}

fn check(path_id: &str, report: &NodeReport) -> Result<(), InvalidReport> {
    let id = &report.node_id;
    if !valid_node_id(id) {
        return Err(InvalidReport::NodeId(id.clone()));
    }
    if path_id != id {
        return Err(InvalidReport::Mismatch {
            path: path_id.to_owned(),
            body: id.clone(),
        });
    }
    let url = &report.control_url;
    if !valid_control_url(url) {
        return Err(InvalidReport::ControlUrl(url.clone()));
    }
    if let Some(region) = &report.region
        && !valid_region(region)
    {
        return Err(InvalidReport::Region(region.clone()));
    }
    if let Some(turn) = &report.turn {
        // Handed to clients in TURN URLs: nothing that could change a URL's
        // meaning (no '/', '?', '@', spaces), an IPv6 address bare.
        let host = &turn.host;
        let valid_host = !host.is_empty()
            && host.len() <= MAX_FIELD_LEN
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:".contains(c));
        if !valid_host {
            return Err(InvalidReport::TurnHost(host.clone()));
        }
    }
    Ok(())
}

/// Whether `id` is a node's (or SIP gateway's) name: 1 to 253 letters,
/// digits, `-`, `.`, `_` or `:`.
pub fn valid_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_FIELD_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c))
}

/// Whether `url` is an http(s) URL of at most 253 characters, without spaces.
pub fn valid_control_url(url: &str) -> bool {
    url.len() <= MAX_FIELD_LEN
        && ["http://", "https://"].iter().any(|scheme| {
            url.strip_prefix(scheme)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
        })
}

/// Whether `region` is a region's name: 1 to 63 letters, digits, `-`, `.`
/// or `_` (node reports and tenants' preferences alike).
pub fn valid_region(region: &str) -> bool {
    (1..=63).contains(&region.len())
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use yunhui_proto::media::NodeStats;

    fn report(id: &str, url: &str) -> NodeReport {
        NodeReport {
            node_id: id.into(),
            control_url: url.into(),
            media_address: "127.0.0.1:7882".parse().unwrap(),
            architecture: "x86_64".into(),
            capacity: 10,
            draining: false,
            leaving: false,
            stats: NodeStats::default(),
            bits_in_per_second: 0,
            bits_out_per_second: 0,
            cpu_millicores: 0,
            turn: None,
            region: None,
        }
    }

    #[test]
    fn a_report_registers_its_node_and_the_next_refreshes_it() {
        let table = NodeTable::new("key");
        table
            .record("sfu-0", report("sfu-0", "http://10.0.0.1:7880"))
            .unwrap();
        let mut again = report("sfu-0", "http://10.0.0.1:7880");
        again.draining = true;
        table.record("sfu-0", again).unwrap();
        let nodes = table.nodes();
        assert_eq!(nodes.len(), 1);
        assert!(nodes[0].state.report.draining);
        assert!(nodes[0].state.is_live());
    }

    #[test]
    fn a_node_marked_draining_stays_draining_whatever_it_reports() {
        let table = NodeTable::new("key");
        assert!(!table.set_draining(&NodeId("sfu-0".into())), "unknown node");
        table
            .record("sfu-0", report("sfu-0", "http://10.0.0.1:7880"))
            .unwrap();
        table
            .record("sfu-1", report("sfu-1", "http://10.0.0.2:7880"))
            .unwrap();
        assert!(table.set_draining(&NodeId("sfu-0".into())));
        // The node's next report does not know of the mark yet.
        table
            .record("sfu-0", report("sfu-0", "http://10.0.0.1:7880"))
            .unwrap();
        let draining: Vec<(String, bool)> = table
            .nodes()
            .iter()
            .map(|n| (n.state.id.0.clone(), n.state.report.draining))
            .collect();
        assert_eq!(
            draining,
            [("sfu-0".to_string(), true), ("sfu-1".to_string(), false)]
        );
        let states: Vec<_> = table.nodes().into_iter().map(|n| n.state).collect();
        assert_eq!(
            super::super::place(&states, &super::super::RoomRequirements::default()),
            Ok(NodeId("sfu-1".into())),
            "placement skips the marked node"
        );
    }

    #[test]
    fn malformed_reports_are_refused() {
        let table = NodeTable::new("key");
        assert!(matches!(
            table.record("", report("", "http://a")),
            Err(InvalidReport::NodeId(_))
        ));
        assert!(matches!(
            table.record("a/b", report("a/b", "http://a")),
            Err(InvalidReport::NodeId(_))
        ));
        assert!(matches!(
            table.record("a", report("b", "http://a")),
            Err(InvalidReport::Mismatch { .. })
        ));
        assert!(matches!(
            table.record("a", report("a", "ftp://a")),
            Err(InvalidReport::ControlUrl(_))
        ));
        for host in ["", "evil.example/?x=", "a b", "user@host"] {
            let mut bad = report("a", "http://a");
            bad.turn = Some(yunhui_proto::turn::TurnEndpoints {
                host: host.into(),
                port: 3478,
                tls_port: Some(443),
            });
            assert!(
                matches!(table.record("a", bad), Err(InvalidReport::TurnHost(_))),
                "{host:?}"
            );
        }
        assert!(table.nodes().is_empty());
    }
}
