//! Port slots: several SFU nodes on one host network (a MediaCluster's
//! `networking: HostNetworkSlots`, e.g. a few SFU pods on one big machine).
//! Slot `k` is the node's media UDP, media TCP and control ports, each plus
//! `k × stride`; a starting node takes the first slot whose ports it can
//! bind (`main.rs` binds them and keeps them, so two nodes starting at once
//! never share one). The slot's control port is written to
//! [`control_port_file`], where `yunhui-sfu probe` (the pod's exec probe,
//! since the kubelet cannot know which slot a pod took) finds it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// How many slots there are and how far apart their ports are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSlots {
    /// Number of slots (at least 1).
    pub count: u16,
    /// Distance between two slots' ports.
    pub stride: u16,
}

/// The ports of one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotPorts {
    /// The slot's index, from 0.
    pub slot: u16,
    /// Media UDP port.
    pub udp: u16,
    /// Media TCP port (ICE over TCP).
    pub tcp: u16,
    /// Internal API port.
    pub control: u16,
}

impl PortSlots {
    /// One slot: the ports as they are.
    pub const SINGLE: PortSlots = PortSlots {
        count: 1,
        stride: 0,
    };

    /// The ports of every slot, in the order they are tried, given slot 0's;
    /// a slot whose ports would pass 65535 is left out.
    pub fn all(&self, base: SlotPorts) -> Vec<SlotPorts> {
        (0..self.count.max(1))
            .map_while(|slot| {
                let offset = u32::from(slot) * u32::from(self.stride);
                let shift = |port: u16| u16::try_from(u32::from(port) + offset).ok();
                Some(SlotPorts {
                    slot,
                    udp: shift(base.udp)?,
                    tcp: shift(base.tcp)?,
                    control: shift(base.control)?,
                })
            })
            .collect()
    }
}

/// `url` (`scheme://host[:port][/path]`) with its port set to `port`, so a
/// node that took another slot reports the control URL it really serves.
pub fn with_port(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    // An IPv6 literal keeps its brackets; only a port after them goes.
    let host = match authority.rfind(':') {
        Some(at) if !authority[at..].contains(']') => &authority[..at],
        _ => authority,
    };
    format!("{scheme}://{host}:{port}{path}")
}

/// Where a node started with slots writes its control port.
pub fn control_port_file() -> PathBuf {
    std::env::temp_dir().join("yunhui-sfu-control-port")
}

/// Why `yunhui-sfu probe` failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The node has not taken a slot yet (or runs without slots).
    #[error("no control port in {path}: the node has not taken a port slot yet ({source})")]
    NoPort {
        /// The file looked at.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file does not hold a port number.
    #[error("{path} holds {text:?}, not a port number")]
    BadPort {
        /// The file.
        path: String,
        /// What it holds.
        text: String,
    },
    /// The internal API did not answer.
    #[error("GET {path} on 127.0.0.1:{port} failed: {source}")]
    Unreachable {
        /// Port asked.
        port: u16,
        /// Path asked.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It answered something else than 200.
    #[error("GET {path} on 127.0.0.1:{port} answered {status_line:?}")]
    NotOk {
        /// Port asked.
        port: u16,
        /// Path asked.
        path: String,
        /// The answer's first line.
        status_line: String,
    },
}

/// Asks the node's own internal API for `path` (`/readyz`, `/healthz`) on
/// the port its slot file names; Ok when it answers 200.
pub fn probe(path: &str) -> Result<(), ProbeError> {
    let file = control_port_file();
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(&file).map_err(|source| ProbeError::NoPort {
        path: shown.clone(),
        source,
    })?;
    let port: u16 = text.trim().parse().map_err(|_| ProbeError::BadPort {
        path: shown,
        text: text.clone(),
    })?;
    let unreachable = |source| ProbeError::Unreachable {
        port,
        path: path.to_string(),
        source,
    };
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), timeout)
        .map_err(unreachable)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(unreachable)?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .map_err(unreachable)?;
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).map_err(unreachable)?;
    let status_line = String::from_utf8_lossy(&head[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(ProbeError::NotOk {
            port,
            path: path.to_string(),
            status_line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: SlotPorts = SlotPorts {
        slot: 0,
        udp: 7892,
        tcp: 7891,
        control: 7890,
    };

    #[test]
    fn slot_k_is_the_base_ports_plus_k_strides() {
        let slots = PortSlots {
            count: 3,
            stride: 10,
        }
        .all(BASE);
        assert_eq!(slots.len(), 3);
        assert_eq!(
            slots[2],
            SlotPorts {
                slot: 2,
                udp: 7912,
                tcp: 7911,
                control: 7910
            }
        );
        assert_eq!(PortSlots::SINGLE.all(BASE), vec![BASE]);
    }

    #[test]
    fn slots_past_the_last_port_are_left_out() {
        let base = SlotPorts {
            slot: 0,
            udp: 65530,
            tcp: 65520,
            control: 65510,
        };
        let slots = PortSlots {
            count: 4,
            stride: 5,
        }
        .all(base);
        assert_eq!(slots.len(), 2, "{slots:?}");
    }

    #[test]
    fn the_control_url_gets_the_slots_port() {
        assert_eq!(
            with_port("http://10.0.0.5:7880", 7900),
            "http://10.0.0.5:7900"
        );
        assert_eq!(with_port("http://node-a", 7900), "http://node-a:7900");
        assert_eq!(
            with_port("http://[fd00::1]:7880/", 7910),
            "http://[fd00::1]:7910/"
        );
        assert_eq!(with_port("http://[fd00::1]", 7910), "http://[fd00::1]:7910");
    }
}
