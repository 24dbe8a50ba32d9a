//! What the SFU's tests share.

pub mod tcp_only;
