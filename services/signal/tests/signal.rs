//! Signal's integration tests, one test binary for all of them: each file
//! below is a module (run one with `cargo test -p yunhui-signal --test signal
//! replicas::`). One binary links the whole stack once instead of once per
//! file, and tests of different files overlap their waits.

#[macro_use]
mod support;

mod api;
mod breakout;
mod console;
mod control;
mod dial_out;
mod group_chats;
mod interpretation;
mod media;
mod openapi;
mod placement;
mod provisioning;
mod public_links;
mod recording;
mod replicas;
mod schedule;
mod signaling;
mod slow_media;
mod sql_dialect;
mod streaming;
mod tenants;
mod turn_credentials;
mod webhooks;
mod webinar;
