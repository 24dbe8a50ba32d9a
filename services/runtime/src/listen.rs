//! Listening sockets for crowds: the HTTP listeners that a meeting's
//! participants all reach at once (signal, `yunhui up`).
//!
//! `tokio::net::TcpListener::bind` listens with the standard library's
//! backlog of 128 connections. When a thousand clients open their sockets in
//! the same instant (a large meeting starting, every client of a replica
//! joining again after a failover), the kernel's accept queue fills faster
//! than the server accepts, the surplus SYNs are dropped (`ListenOverflows`
//! in `nstat`) and each of those clients waits for its SYN to be sent again,
//! one second later at the earliest. [`bind`] listens with
//! [`LISTEN_BACKLOG`] instead; Linux caps it at `net.core.somaxconn` (4096
//! by default since Linux 5.4), the knob to turn for more.

use std::io;
use std::net::SocketAddr;

/// Connections the kernel keeps established but not yet accepted.
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` (address reused, as `TcpListener::bind` does) with a
/// backlog of [`LISTEN_BACKLOG`]. Call it inside a Tokio runtime.
pub fn bind(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_crowd_connects_before_anything_is_accepted() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        // More than the standard backlog of 128, none accepted yet: each
        // connect completes only once the kernel queued the connection.
        let crowd = 300;
        let connects = (0..crowd).map(|_| tokio::net::TcpStream::connect(addr));
        let streams = tokio::time::timeout(
            std::time::Duration::from_millis(900),
            futures_util::future::try_join_all(connects),
        )
        .await
        .expect("every connection queued at once, no SYN sent twice")
        .unwrap();
        assert_eq!(streams.len(), crowd);
        for _ in 0..crowd {
            listener.accept().await.unwrap();
        }
    }
}
