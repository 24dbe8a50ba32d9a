//! Everything that lives only while meetings run, in this replica's memory:
//!
//! - [`signaling`]: the WebSocket end of each participant (`/api/v1/signal`);
//! - [`room`]: the live rooms, their members, host controls and the SFU calls;
//! - [`presence`], [`ringing`]: the sockets of each signed-in account, and the
//!   invitations that ring them;
//! - [`chat`]: a meeting's chat, kept for late joiners;
//! - [`group_chat_push`]: group chat messages (the records are
//!   `crate::group_chats`) pushed to the members' listening sockets, and the
//!   members rung for a meeting started from a chat;
//! - [`throttle`]: slowing down wrong meeting passwords;
//! - [`turn_credentials`]: the TURN server and credentials each participant is
//!   handed on join;
//! - [`ownership`], [`proxy`]: with several signal replicas, which one owns
//!   each live meeting (a lease in the database), and sockets carried
//!   through to the owner;
//! - [`outbox`]: what any of these hand to a socket's writer (a leaf).
//!
//! The stored records these work on (accounts, meetings, schedules) are the
//! domain modules at the crate root; nothing there depends on `live`.

pub mod chat;
pub mod group_chat_push;
pub mod outbox;
pub mod ownership;
pub mod presence;
pub mod proxy;
pub mod ringing;
pub mod room;
pub mod signaling;
pub mod throttle;
pub mod turn_credentials;
