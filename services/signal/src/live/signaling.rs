//! The WebSocket end of the signaling protocol (`/api/v1/signal`).
//!
//! One task reads frames and handles them in order; one task writes what the
//! room queues for this participant. A bad frame gets an `error` message and
//! the socket carries on: it never takes the server or the room down.

use std::sync::Arc;
use std::time::Duration;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;
use tracing::Instrument;
use yunhui_proto::limits::FRAME_BYTES;
use yunhui_proto::media::MediaKind;
use yunhui_proto::signaling::{
    CLOSE_JOIN_AGAIN, ClientMessage, ErrorCode, PROTOCOL_VERSION, ServerMessage,
};

use crate::App;
use crate::accounts::check_display_name;
use crate::error::Error;
use crate::licence::Licence;
use crate::live::outbox::{Outbound, Outbox};
use crate::live::proxy::{self, Upstream};
use crate::live::room::{Joiner, Room, check_device_id};
use crate::live::throttle::Verdict;
use crate::meetings;
use yunhui_proto::api::JoinMode;

/// Frames above this size are cut off by the WebSocket layer itself; frames
/// between [`FRAME_BYTES`] and this get a polite `message_too_large`.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;

/// Read buffer of each socket.
const SOCKET_BUFFER_BYTES: usize = 4096;

/// Upgrades the request to a signaling socket.
pub async fn upgrade(
    State(app): State<Arc<App>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let source = source_address(&app, peer.map(|Extension(ConnectInfo(a))| a), &headers);
    // Small buffers: most frames are small, and an idle participant should
    // not hold the 128 KiB read and write buffers tungstenite starts with.
    ws.max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            // Named by the meeting and participant once the socket joins.
            let span = tracing::info_span!(
                "signaling",
                %source,
                tenant = tracing::field::Empty,
                meeting = tracing::field::Empty,
                room = tracing::field::Empty,
                participant = tracing::field::Empty,
            );
            serve(app, socket, source).instrument(span)
        })
}

/// The client's address: the peer's, or the first `X-Forwarded-For` entry
/// when signal sits behind a proxy it is told to trust.
fn source_address(app: &App, peer: Option<SocketAddr>, headers: &HeaderMap) -> IpAddr {
    let peer = peer
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    // Another replica relaying a participant ([`proxy`]) names them, with
    // the internal key.
    if let Some(key) = app.config.internal_key.as_deref().filter(|k| !k.is_empty())
        && let Some(given) = headers
            .get(proxy::INTERNAL_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
        && bool::from(given.as_bytes().ct_eq(key.as_bytes()))
        && let Some(client) = headers
            .get(proxy::CLIENT_ADDRESS_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    {
        return client;
    }
    if !app.config.trust_forwarded_for {
        return peer;
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(peer)
}

struct Connection {
    app: Arc<App>,
    outbox: Outbox,
    source: IpAddr,
    joined: Option<(Arc<Room>, String)>,
    /// The account this socket rings for, and its registration.
    listening: Option<(String, u64)>,
    /// The owner replica's socket, when another replica owns the meeting
    /// this socket joined: every later frame goes there.
    upstream: Option<Upstream>,
}

/// Closes a participant's socket with `code` and `reason`.
async fn send_close(
    sink: &mut SplitSink<WebSocket, Message>,
    code: u16,
    reason: std::borrow::Cow<'static, str>,
) {
    let frame = CloseFrame {
        code,
        reason: reason.into_owned().into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}

async fn serve(app: Arc<App>, socket: WebSocket, source: IpAddr) {
    app.metrics.connections.inc();
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut queue) = mpsc::unbounded_channel::<Outbound>();
    let mut writer = tokio::spawn(async move {
        while let Some(out) = queue.recv().await {
            match out {
                Outbound::Message(message) => {
                    let Ok(text) = serde_json::to_string(&message) else {
                        continue;
                    };
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Outbound::Encoded(text) => {
                    if sink
                        .send(Message::Text(text.as_ref().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Outbound::Close(reason) => {
                    send_close(&mut sink, 1000, reason).await;
                    break;
                }
                Outbound::JoinAgain(reason) => {
                    send_close(&mut sink, CLOSE_JOIN_AGAIN, reason).await;
                    break;
                }
            }
        }
    });
    let mut conn = Connection {
        app: app.clone(),
        outbox,
        source,
        joined: None,
        listening: None,
        upstream: None,
    };
    conn.send(ServerMessage::Hello {
        protocol_version: PROTOCOL_VERSION,
    });
    let mut writer_done = false;
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            // The writer stops after a close (meeting ended) or a dead socket.
            _ = &mut writer => {
                writer_done = true;
                break;
            }
        };
        match frame {
            None | Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Text(text))) => conn.handle_frame(text.as_str()).await,
            Some(Ok(Message::Binary(_))) => conn.send_error(
                ErrorCode::MalformedMessage,
                "binary frames are not part of the protocol; send JSON text frames".into(),
            ),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Err(e)) => {
                tracing::debug!(error = %e, "signaling socket failed");
                break;
            }
        }
    }
    if let Some((room, participant_id)) = conn.joined.take()
        && let Err(e) = app.rooms.leave(&room, &participant_id).await
    {
        tracing::warn!(error = %e, "leaving on disconnect failed");
    }
    if let Some((account, id)) = conn.listening.take() {
        app.rooms.presence().unlisten(&account, id);
    }
    drop(conn);
    if !writer_done {
        // The writer ends once every sender (ours and the room's) is gone.
        if tokio::time::timeout(Duration::from_secs(5), &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
    }
    app.metrics.connections.dec();
}

impl Connection {
    fn send(&self, message: ServerMessage) {
        let _ = self.outbox.send(Outbound::Message(message));
    }

    fn send_error(&self, code: ErrorCode, message: String) {
        let label = serde_json::to_value(code)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        self.app
            .metrics
            .errors
            .with_label_values(&[label.as_str()])
            .inc();
        self.send(ServerMessage::Error { code, message });
    }

    async fn handle_frame(&mut self, text: &str) {
        if text.len() > FRAME_BYTES {
            self.send_error(
                ErrorCode::MessageTooLarge,
                format!(
                    "the message has {} bytes; the limit is {FRAME_BYTES} bytes",
                    text.len()
                ),
            );
            return;
        }
        if let Some(upstream) = &self.upstream {
            return upstream.send(text);
        }
        let message = match parse(text) {
            Ok(message) => message,
            Err((code, why)) => return self.send_error(code, why),
        };
        if let Err(e) = self.handle(message).await {
            if matches!(e, Error::Database(_) | Error::Internal(_)) {
                tracing::error!(error = %e, "signaling request failed");
            }
            self.send_error(e.code(), e.public_message());
        }
    }

    async fn handle(&mut self, message: ClientMessage) -> Result<(), Error> {
        let app = self.app.clone();
        if matches!(message, ClientMessage::Join { .. }) {
            app.metrics.messages.with_label_values(&["join"]).inc();
            if let Some((room, id)) = &self.joined {
                if app.rooms.is_present(room, id).await {
                    self.send_error(
                        ErrorCode::AlreadyJoined,
                        "this socket already joined a meeting; open another socket for another meeting"
                            .into(),
                    );
                    return Ok(());
                }
                // Removed or turned away meanwhile: this socket may join afresh.
                self.joined = None;
            }
            return self.join(message).await;
        }
        match message {
            ClientMessage::Listen { token } => {
                app.metrics.messages.with_label_values(&["listen"]).inc();
                if self.joined.is_some() || self.listening.is_some() {
                    return Err(Error::InvalidInput(
                        "this socket is already in use; listen on a socket of its own".into(),
                    ));
                }
                let caller = crate::auth::authenticate(&app.store, &token).await?;
                let id = app
                    .rooms
                    .presence()
                    .listen(&caller.account_id, self.outbox.clone());
                self.listening = Some((caller.account_id.clone(), id));
                self.send(ServerMessage::Listening {
                    account_id: caller.account_id,
                });
                return Ok(());
            }
            ClientMessage::AnswerCall { call_id, accept } => {
                app.metrics
                    .messages
                    .with_label_values(&["answer_call"])
                    .inc();
                let Some((account, _)) = &self.listening else {
                    return Err(Error::CallNotFound(call_id));
                };
                return app.rooms.answer_call(account, &call_id, accept).await;
            }
            _ => {}
        }
        let Some((room, participant_id)) = self.joined.clone() else {
            self.send_error(
                ErrorCode::NotJoined,
                "join a meeting first: this message needs a joined participant".into(),
            );
            return Ok(());
        };
        let label = message_type(&message);
        app.metrics.messages.with_label_values(&[label]).inc();
        if !matches!(message, ClientMessage::Leave)
            && !app.rooms.is_member(&room, &participant_id).await
        {
            if app.rooms.is_present(&room, &participant_id).await {
                return Err(Error::NotAdmitted);
            }
            self.joined = None;
            self.send_error(
                ErrorCode::NotJoined,
                "you are no longer in the meeting; join again".into(),
            );
            return Ok(());
        }
        match message {
            ClientMessage::Join { .. } => unreachable!("handled above"),
            ClientMessage::Leave => {
                self.joined = None;
                app.rooms.leave(&room, &participant_id).await?;
            }
            ClientMessage::EndMeeting => {
                app.rooms.end(&room, &participant_id).await?;
                self.joined = None;
            }
            ClientMessage::SetAudioMuted { muted } => {
                app.rooms
                    .set_media(&room, &participant_id, MediaKind::Audio, !muted)
                    .await?;
            }
            ClientMessage::SetVideoEnabled { enabled } => {
                app.rooms
                    .set_media(&room, &participant_id, MediaKind::Video, enabled)
                    .await?;
            }
            ClientMessage::PublishOffer { sdp } => {
                app.rooms.publish(&room, &participant_id, &sdp).await?;
            }
            ClientMessage::SubscriberAnswer { sdp } => {
                app.rooms
                    .subscriber_answer(&room, &participant_id, &sdp)
                    .await?;
            }
            ClientMessage::RestartMedia => {
                app.rooms
                    .restart_member_media(&room, &participant_id)
                    .await?;
            }
            ClientMessage::Chat { to, to_panel, text } => {
                app.rooms
                    .chat(&room, &participant_id, to, to_panel, text)
                    .await?;
            }
            ClientMessage::RaiseHand { raised } => {
                app.rooms.raise_hand(&room, &participant_id, raised).await?;
            }
            ClientMessage::React { emoji } => {
                app.rooms.react(&room, &participant_id, emoji).await?;
            }
            ClientMessage::SetScreenShare { sharing } => {
                app.rooms
                    .set_screen_share(&room, &participant_id, sharing)
                    .await?;
            }
            ClientMessage::Rename { display_name } => {
                app.rooms
                    .rename_self(&room, &participant_id, display_name)
                    .await?;
            }
            ClientMessage::SetVideoSubscriptions {
                default,
                participants,
            } => {
                app.rooms
                    .set_video_subscriptions(&room, &participant_id, default, participants)
                    .await?;
            }
            ClientMessage::Host { command } => {
                app.rooms.host(&room, &participant_id, command).await?;
            }
            ClientMessage::Ask { text } => {
                app.rooms.ask(&room, &participant_id, text).await?;
            }
            ClientMessage::AnswerQuestion {
                question_id,
                text,
                private,
            } => {
                app.rooms
                    .answer_question(&room, &participant_id, &question_id, text, private)
                    .await?;
            }
            ClientMessage::DismissQuestion { question_id } => {
                app.rooms
                    .dismiss_question(&room, &participant_id, &question_id)
                    .await?;
            }
            ClientMessage::ChooseLanguage { language } => {
                app.rooms
                    .choose_language(&room, &participant_id, language)
                    .await?;
            }
            ClientMessage::JoinBreakout { room_id } => {
                app.rooms
                    .join_breakout(&room, &participant_id, room_id)
                    .await?;
            }
            ClientMessage::AskForHelp => {
                app.rooms.ask_for_help(&room, &participant_id).await?;
            }
            ClientMessage::Invite { account_ids } => {
                app.rooms
                    .invite(&room, &participant_id, account_ids)
                    .await?;
            }
            ClientMessage::Dial { target } => {
                app.rooms.dial(&room, &participant_id, target).await?;
            }
            ClientMessage::Listen { .. } | ClientMessage::AnswerCall { .. } => {
                unreachable!("handled above")
            }
        }
        Ok(())
    }
}

impl Connection {
    /// Checks who may enter (password with throttling, link key, host
    /// account, a call's ticket, join mode, licence) and enters the meeting
    /// or its waiting room.
    async fn join(&mut self, message: ClientMessage) -> Result<(), Error> {
        let frame = serde_json::to_string(&message)
            .map_err(|e| Error::Internal(format!("a join could not be encoded again: {e}")))?;
        let ClientMessage::Join {
            meeting_number,
            display_name,
            password,
            link_key,
            token,
            device_id,
            dial_ticket,
            recorder_ticket,
        } = message
        else {
            return Err(Error::Internal("join was given another message".into()));
        };
        let app = self.app.clone();
        let display_name = check_display_name(&display_name)?;
        if let Some(device) = &device_id {
            check_device_id(device)?;
        }
        let caller = match token.as_deref() {
            Some(token) => Some(crate::auth::authenticate(&app.store, token).await?),
            None => None,
        };
        let meeting = meetings::find_open_by_number(&app.store, &meeting_number).await?;
        if let Some(owner) = app.rooms.owner_elsewhere(&meeting.id).await? {
            // Another replica holds the meeting: it checks the join itself.
            let key = app.config.internal_key.clone().unwrap_or_default();
            let span = tracing::Span::current();
            span.record("tenant", meeting.tenant_id.as_str());
            span.record("meeting", meeting.number.as_str());
            tracing::debug!(%owner, "relaying the join to the meeting's owner replica");
            self.upstream = Some(
                proxy::connect(
                    &owner,
                    &key,
                    self.source,
                    frame,
                    self.outbox.clone(),
                    HARD_FRAME_LIMIT,
                )
                .await?,
            );
            return Ok(());
        }
        let is_host = caller
            .as_ref()
            .is_some_and(|c| c.account_id == meeting.host_account_id);
        // A call placed from the meeting: someone inside let this one in.
        // The ticket is checked here and spent on entering (see `Rooms::join`).
        let called = match &dial_ticket {
            Some(ticket) => {
                if !app.rooms.has_dial_ticket(&meeting.id, ticket).await {
                    return Err(Error::EntryDenied(meeting.number.clone()));
                }
                true
            }
            None => false,
        };
        // The meeting's recorder, started by its host.
        let recorder = match &recorder_ticket {
            Some(ticket) => {
                if !app.rooms.has_recorder_ticket(&meeting.id, ticket).await {
                    return Err(Error::EntryDenied(meeting.number.clone()));
                }
                true
            }
            None => false,
        };
        let called = called || recorder;
        if !is_host && !called {
            if link_key.is_none() && meeting.password.is_some() {
                // Password attempts are throttled; link keys and the host are not.
                match app.throttle.admit(&meeting.id, self.source) {
                    Verdict::Refuse(wait) => {
                        return Err(Error::TooManyAttempts {
                            number: meeting.number.clone(),
                            retry_after_secs: wait.as_secs().max(1),
                        });
                    }
                    Verdict::Check(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
                    Verdict::Check(_) => {}
                }
                match meeting.check_access(password.as_deref(), None) {
                    Ok(()) => app.throttle.succeeded(&meeting.id, self.source),
                    Err(e) => {
                        app.throttle.failed(&meeting.id, self.source);
                        return Err(e);
                    }
                }
            } else {
                meeting.check_access(password.as_deref(), link_key.as_deref())?;
            }
        }
        if !is_host && !called && meeting.options.join_mode != JoinMode::Anyone {
            // Open to invitees only: a scheduled meeting's invitees, a cloud
            // room's members and those invited during the meeting, signed in.
            let account = caller.as_ref().map(|c| c.account_id.as_str());
            let invited = match account {
                Some(account) => {
                    app.rooms.invited(&meeting.id, account).await
                        || crate::schedule::admits(&app.store, &meeting, Some(account)).await?
                }
                None => false,
            };
            if !invited {
                return Err(Error::NotInvited(meeting.number.clone()));
            }
        }
        let licence = Licence::of_tenant(&app.store, &meeting.tenant_id).await?;
        let joined = app
            .rooms
            .join(
                meeting,
                licence,
                Joiner {
                    display_name,
                    account_id: caller.map(|c| c.account_id),
                    device_id,
                    dial_ticket,
                    recorder_ticket,
                    outbox: self.outbox.clone(),
                },
            )
            .await?;
        let span = tracing::Span::current();
        span.record("tenant", joined.room.meeting.tenant_id.as_str());
        span.record("meeting", joined.room.meeting.number.as_str());
        span.record("room", joined.room.media_room.as_str());
        span.record("participant", joined.participant_id.as_str());
        self.joined = Some((joined.room, joined.participant_id));
        Ok(())
    }
}

/// The metric label of a message: its `type`.
fn message_type(message: &ClientMessage) -> &'static str {
    match message {
        ClientMessage::Join { .. } => "join",
        ClientMessage::Leave => "leave",
        ClientMessage::EndMeeting => "end_meeting",
        ClientMessage::SetAudioMuted { .. } => "set_audio_muted",
        ClientMessage::SetVideoEnabled { .. } => "set_video_enabled",
        ClientMessage::PublishOffer { .. } => "publish_offer",
        ClientMessage::SubscriberAnswer { .. } => "subscriber_answer",
        ClientMessage::RestartMedia => "restart_media",
        ClientMessage::SetVideoSubscriptions { .. } => "set_video_subscriptions",
        ClientMessage::Chat { .. } => "chat",
        ClientMessage::RaiseHand { .. } => "raise_hand",
        ClientMessage::React { .. } => "react",
        ClientMessage::SetScreenShare { .. } => "set_screen_share",
        ClientMessage::Rename { .. } => "rename",
        ClientMessage::Host { .. } => "host",
        ClientMessage::Ask { .. } => "ask",
        ClientMessage::AnswerQuestion { .. } => "answer_question",
        ClientMessage::DismissQuestion { .. } => "dismiss_question",
        ClientMessage::ChooseLanguage { .. } => "choose_language",
        ClientMessage::JoinBreakout { .. } => "join_breakout",
        ClientMessage::AskForHelp => "ask_for_help",
        ClientMessage::Invite { .. } => "invite",
        ClientMessage::Dial { .. } => "dial",
        ClientMessage::Listen { .. } => "listen",
        ClientMessage::AnswerCall { .. } => "answer_call",
    }
}

/// Parses one frame, telling malformed JSON, unknown types and bad fields apart.
/// Public for the fuzz target `signaling` (`fuzz/`).
pub fn parse(text: &str) -> Result<ClientMessage, (ErrorCode, String)> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        (
            ErrorCode::MalformedMessage,
            format!("the message is not valid JSON: {e}"),
        )
    })?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err((
            ErrorCode::MalformedMessage,
            "the message must be a JSON object with a string field \"type\"".into(),
        ));
    };
    if !ClientMessage::TYPES.contains(&kind) {
        return Err((
            ErrorCode::UnknownMessageType,
            format!("unknown message type \"{kind}\" (protocol version {PROTOCOL_VERSION})"),
        ));
    }
    let kind = kind.to_string();
    serde_json::from_value(value).map_err(|e| {
        (
            ErrorCode::MalformedMessage,
            format!("the \"{kind}\" message is malformed: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_tells_errors_apart() {
        assert_eq!(parse("{").unwrap_err().0, ErrorCode::MalformedMessage);
        assert_eq!(parse("[1]").unwrap_err().0, ErrorCode::MalformedMessage);
        assert_eq!(
            parse(r#"{"type":"dance"}"#).unwrap_err().0,
            ErrorCode::UnknownMessageType
        );
        assert_eq!(
            parse(r#"{"type":"set_audio_muted","muted":"yes"}"#)
                .unwrap_err()
                .0,
            ErrorCode::MalformedMessage
        );
        assert_eq!(
            parse(r#"{"type":"set_audio_muted","muted":true}"#).unwrap(),
            ClientMessage::SetAudioMuted { muted: true }
        );
    }
}
