//! A participant in a meeting: signaling and media together.
//!
//! [`MeetingSession::join`] opens the signaling socket and joins; a
//! background task then keeps the participant list current and answers the
//! SFU's subscriber offers, so received media just arrives on
//! [`MeetingSession::subscriber`]. [`MeetingSession::publish`] sends
//! synthetic audio and video (bots, load generators, tests).
//!
//! When signal moves the meeting's room to another SFU node (its node died
//! or was drained) it sends [`ServerMessage::MediaRestart`]: the session
//! then replaces both peer connections and publishes again on its own, and
//! what it sends and receives goes on where it was.
//!
//! When the socket is lost instead (the signal replica holding the meeting
//! stopped, or the meeting moved to another replica: the server closes with
//! [`CLOSE_JOIN_AGAIN`](yunhui_proto::signaling::CLOSE_JOIN_AGAIN), or
//! the connection just drops), the session joins
//! again on its own with the same options, for up to [`REJOIN_WINDOW`], and
//! connects its media anew: it comes back as a new participant (a new
//! [`MeetingSession::participant_id`]), counted in [`MeetingView::rejoins`].
//! A socket the server closed for good (the meeting ended, the host removed
//! this participant) stays closed, as do joins with a one-time ticket.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{broadcast, mpsc};
use yunhui_proto::api::MeetingOptions;
use yunhui_proto::signaling::{
    Breakouts, ChatMessage, ClientMessage, DialState, DialTarget, ErrorCode, HostCommand,
    LiveStream, Participant, Question, RecordingState, ServerMessage, VideoQuality,
    VideoSubscription, WaitingParticipant,
};

use crate::media::{
    AudioSender, FileMedia, IceOptions, MediaError, PublishOptions, Publisher, Subscriber,
    SyntheticMedia,
};
use crate::media_path::{PathState, PathWatch};
use crate::signaling::{ActingFor, SignalingClient, SignalingError};
use crate::turn_bridge::TurnBridges;

/// How to join.
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    /// Meeting number.
    pub meeting_number: String,
    /// Name shown to others.
    pub display_name: String,
    /// Meeting password, if any.
    pub password: Option<String>,
    /// Key from a join link, instead of the password.
    pub link_key: Option<String>,
    /// Bearer token of a signed-in account.
    pub token: Option<String>,
    /// The id this client keeps for its device (see `ClientMessage::Join`).
    pub device_id: Option<String>,
    /// Local UDP address for media (default `0.0.0.0:0`; tests use `127.0.0.1:0`).
    pub media_bind: Option<String>,
    /// Local IP address the signaling socket connects from (default: any).
    pub signaling_bind: Option<std::net::IpAddr>,
    /// Join on someone else's behalf (the SIP gateway for a device): the
    /// server counts password attempts against their address.
    pub acting_for: Option<ActingFor>,
    /// How long to wait in a waiting room for the host (default 10 minutes).
    pub admission_timeout: Option<Duration>,
    /// The ticket of a call placed from the meeting (the SIP gateway's joins).
    pub dial_ticket: Option<String>,
    /// The ticket of the meeting's recording (the recorder's joins).
    pub recorder_ticket: Option<String>,
    /// Send and receive media only through the TURN server of the join
    /// answer (relay candidates only), as behind a network that reaches
    /// nothing else.
    pub relay_only: bool,
    /// Certificates to trust for TURN over TLS besides the system's (e.g. the
    /// self-signed one `yunhui up` keeps in its data directory).
    pub turn_tls_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// Where to join again after the socket was lost (default: the
    /// `base_url` of the first join), e.g. the Service in front of every
    /// signal replica when the first join went to one replica's own address.
    pub rejoin_url: Option<String>,
}

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The signaling socket failed.
    #[error(transparent)]
    Signaling(#[from] SignalingError),
    /// The media stack failed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The server refused the request.
    #[error("the server refused: {code:?}: {message}")]
    Refused {
        /// The server's error code.
        code: ErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// The session ended (left, ended by host, or socket closed).
    #[error("the meeting session is over")]
    Closed,
    /// An expected event did not happen in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

/// What the session knows about the meeting, kept current by the server.
#[derive(Debug, Clone, Default)]
pub struct MeetingView {
    /// Participants by id, this one included.
    pub participants: BTreeMap<String, Participant>,
    /// The active speaker.
    pub active_speaker: Option<String>,
    /// Why the meeting ended, once it has.
    pub ended: Option<String>,
    /// The host locked the meeting.
    pub locked: bool,
    /// Participant in focus for everyone.
    pub spotlight: Option<String>,
    /// The meeting's settings, once the server sent them.
    pub options: Option<MeetingOptions>,
    /// Whether the meeting is being recorded.
    pub recording: RecordingState,
    /// Whether the meeting is streamed live, and where to watch.
    pub streaming: LiveStream,
    /// Chat messages this participant received (history first).
    pub chat: Vec<ChatMessage>,
    /// Who waits in the waiting room (hosts only).
    pub waiting_room: Vec<WaitingParticipant>,
    /// Reactions received, as (participant id, reaction).
    pub reactions: Vec<(String, String)>,
    /// How often the host asked this participant to unmute.
    pub unmute_requests: u32,
    /// How often the host asked this participant to start video.
    pub start_video_requests: u32,
    /// The host removed this participant.
    pub removed: bool,
    /// How this participant's invitations went: (account id, state), in order.
    pub invites: Vec<(String, String)>,
    /// How this participant's calls out went, every status in order.
    pub dials: Vec<DialUpdate>,
    /// Every error the server sent, as (code, message), in order: answers
    /// to this participant's requests, and news such as a recording or
    /// live stream that stopped or broke off (sent to hosts).
    pub errors: Vec<(ErrorCode, String)>,
    /// How often the server asked for the media to be connected anew (the
    /// room moved to another SFU node, or this session asked); the session
    /// does it on its own.
    pub media_restarts: u32,
    /// How often this session asked for its media to be connected anew
    /// because its media path died while the socket lived
    /// ([`crate::media_path`]).
    pub media_restarts_asked: u32,
    /// A webinar's questions this participant sees, by id, as last told.
    pub questions: BTreeMap<String, Question>,
    /// Interpretation: the language channels there are now.
    pub languages: Vec<String>,
    /// The meeting's breakout rooms, as last told.
    pub breakouts: Option<Breakouts>,
    /// The host's messages to every breakout room, as (name, text).
    pub broadcasts: Vec<(String, String)>,
    /// Requests for help (hosts only), as (participant id, breakout room).
    pub help_requests: Vec<(String, Option<String>)>,
    /// How often the session joined again on its own after its socket was
    /// lost (see the module's documentation).
    pub rejoins: u32,
}

/// One [`ServerMessage::DialStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialUpdate {
    /// The call.
    pub call_id: String,
    /// Whom it calls.
    pub target: String,
    /// Where it stands.
    pub state: DialState,
    /// Why it failed or ended.
    pub reason: Option<String>,
    /// The device's participant id, once answered.
    pub participant_id: Option<String>,
}

/// One participant's live session.
pub struct MeetingSession {
    /// Changes when the session joins again on its own.
    participant_id: ParticipantId,
    meeting_id: String,
    media_bind: String,
    /// The ICE servers from the (last) join answer.
    ice: SharedIce,
    view: Arc<Mutex<MeetingView>>,
    commands: mpsc::UnboundedSender<ClientMessage>,
    events: broadcast::Sender<ServerMessage>,
    subscriber: Arc<Subscriber>,
    publisher: PublisherSlot,
    task: tokio::task::JoinHandle<()>,
}

/// The session's publisher, once it publishes; the socket loop reconnects
/// it on a media restart.
type PublisherSlot = Arc<Mutex<Option<Arc<Publisher>>>>;

/// The session's participant id now; a rejoin replaces it.
type ParticipantId = Arc<Mutex<String>>;

/// How the session's media connects now; a rejoin brings new ICE servers
/// (TURN credentials expire).
type SharedIce = Arc<Mutex<IceOptions>>;

const DEFAULT_MEDIA_BIND: &str = "0.0.0.0:0";

/// How long a session whose socket was lost keeps trying to join again.
pub const REJOIN_WINDOW: Duration = Duration::from_secs(60);

/// The pause between two attempts to join again.
const REJOIN_PAUSE: Duration = Duration::from_millis(500);

/// What a session needs to join again: where, from where, and the join.
struct Entry {
    /// Where to join again.
    rejoin_url: String,
    signaling_bind: Option<std::net::IpAddr>,
    acting_for: Option<ActingFor>,
    join: ClientMessage,
    admission_timeout: Duration,
}

/// The server's answer to a join.
struct Entered {
    participant_id: String,
    meeting_id: String,
    participants: Vec<Participant>,
    ice_servers: Vec<yunhui_proto::turn::IceServer>,
}

impl Entry {
    /// Opens a socket at `url`, joins and waits for the answer (through
    /// the waiting room, if the meeting has one).
    async fn enter(&self, url: &str) -> Result<(SignalingClient, Entered), SessionError> {
        let (mut client, _) =
            SignalingClient::connect_with(url, self.signaling_bind, self.acting_for.as_ref())
                .await?;
        client.send(&self.join).await?;
        let mut timeout = Duration::from_secs(15);
        loop {
            match client.recv(timeout).await {
                Ok(ServerMessage::Joined {
                    participant_id,
                    meeting_id,
                    participants,
                    ice_servers,
                    ..
                }) => {
                    let entered = Entered {
                        participant_id,
                        meeting_id,
                        participants,
                        ice_servers,
                    };
                    return Ok((client, entered));
                }
                // On hold until the host admits us (or arrives).
                Ok(ServerMessage::Waiting { .. }) => timeout = self.admission_timeout,
                Ok(ServerMessage::Error { code, message }) => {
                    return Err(SessionError::Refused { code, message });
                }
                Ok(other) => {
                    return Err(SignalingError::Unreadable(format!(
                        "expected joined, got {other:?}"
                    ))
                    .into());
                }
                Err(SignalingError::Timeout(_)) => {
                    return Err(SessionError::Timeout("admission to the meeting"));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether a lost socket may be followed by a new join: a call's or a
    /// recording's ticket is spent by the first.
    fn may_rejoin(&self) -> bool {
        !matches!(
            &self.join,
            ClientMessage::Join {
                dial_ticket: Some(_),
                ..
            } | ClientMessage::Join {
                recorder_ticket: Some(_),
                ..
            }
        )
    }

    /// Joins again after the socket was lost, until it works, the server
    /// refuses for good, the session is dropped or [`REJOIN_WINDOW`] passes.
    async fn again(
        &self,
        commands: &mpsc::UnboundedReceiver<ClientMessage>,
    ) -> Option<(SignalingClient, Entered)> {
        if !self.may_rejoin() {
            return None;
        }
        let deadline = tokio::time::Instant::now() + REJOIN_WINDOW;
        while !commands.is_closed() && tokio::time::Instant::now() < deadline {
            match self.enter(&self.rejoin_url).await {
                Ok(entered) => return Some(entered),
                Err(error) if retry_join(&error) => {
                    tracing::debug!(%error, "joining again failed; trying again");
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot join the meeting again");
                    return None;
                }
            }
            tokio::time::sleep(REJOIN_PAUSE).await;
        }
        None
    }
}

/// Whether a failed join after a lost socket is worth another try: the
/// server could not be reached, or the meeting's new home is not ready yet.
fn retry_join(error: &SessionError) -> bool {
    match error {
        SessionError::Signaling(e) => !matches!(e, SignalingError::Unreadable(_)),
        SessionError::Refused { code, .. } => *code == ErrorCode::Unavailable,
        _ => false,
    }
}

impl MeetingSession {
    /// Connects to the deployment at `base_url` and joins. `base_url` is the
    /// deployment's base URL (`http(s)://host`) or its signaling socket's
    /// URL (`ws(s)://…`): after enterprise login ([`crate::api::ApiClient::discover`])
    /// pass the discovery document's `signaling`.
    pub async fn join(base_url: &str, options: JoinOptions) -> Result<Self, SessionError> {
        let media_bind = options
            .media_bind
            .unwrap_or_else(|| DEFAULT_MEDIA_BIND.to_string());
        let entry = Entry {
            rejoin_url: options.rejoin_url.unwrap_or_else(|| base_url.to_owned()),
            signaling_bind: options.signaling_bind,
            acting_for: options.acting_for,
            join: ClientMessage::Join {
                meeting_number: options.meeting_number,
                display_name: options.display_name,
                password: options.password,
                link_key: options.link_key,
                token: options.token,
                device_id: options.device_id,
                dial_ticket: options.dial_ticket,
                recorder_ticket: options.recorder_ticket,
            },
            admission_timeout: options
                .admission_timeout
                .unwrap_or(Duration::from_secs(600)),
        };
        let (client, entered) = entry.enter(base_url).await?;
        let view = Arc::new(Mutex::new(MeetingView {
            participants: entered
                .participants
                .into_iter()
                .map(|p| (p.id.clone(), p))
                .collect(),
            ..MeetingView::default()
        }));
        let ice = IceOptions {
            ice_servers: entered.ice_servers,
            relay_only: options.relay_only,
            bridges: TurnBridges::new(options.turn_tls_roots.clone()),
        };
        let subscriber = Arc::new(Subscriber::with_ice(&media_bind, &ice).await?);
        let ice = SharedIce::new(Mutex::new(ice));
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(256);
        let publisher = PublisherSlot::default();
        let participant_id = ParticipantId::new(Mutex::new(entered.participant_id));
        let task = tokio::spawn(run(
            client,
            entry,
            command_rx,
            Media {
                participant_id: participant_id.clone(),
                ice: ice.clone(),
                subscriber: subscriber.clone(),
                publisher: publisher.clone(),
                commands: commands.downgrade(),
            },
            events.clone(),
            view.clone(),
        ));
        Ok(MeetingSession {
            participant_id,
            meeting_id: entered.meeting_id,
            media_bind,
            ice,
            view,
            commands,
            events,
            subscriber,
            publisher,
            task,
        })
    }

    /// Whether the session is still in the meeting: `false` once the server
    /// closed the socket for good (meeting ended, removed) or the session
    /// could not join again after losing it.
    pub fn is_connected(&self) -> bool {
        !self.task.is_finished()
    }

    /// This participant's id; a new one after the session joined again on
    /// its own.
    pub fn participant_id(&self) -> String {
        self.participant_id.lock().clone()
    }

    /// The meeting's id.
    pub fn meeting_id(&self) -> &str {
        &self.meeting_id
    }

    /// A snapshot of the meeting as the server last described it.
    pub fn view(&self) -> MeetingView {
        self.view.lock().clone()
    }

    /// The subscriber peer connection: what this participant receives.
    pub fn subscriber(&self) -> &Subscriber {
        &self.subscriber
    }

    /// The publisher peer connection, once publishing.
    pub fn publisher(&self) -> Option<Arc<Publisher>> {
        self.publisher.lock().clone()
    }

    /// Every server message from now on.
    pub fn events(&self) -> broadcast::Receiver<ServerMessage> {
        self.events.subscribe()
    }

    /// Starts publishing synthetic audio and video.
    pub async fn publish(&mut self, media: SyntheticMedia) -> Result<(), SessionError> {
        let options = PublishOptions {
            simulcast: media.simulcast,
        };
        let publisher = self.negotiate_publisher(options).await?;
        publisher.start_synthetic_media(media);
        self.set_publisher(publisher).await;
        Ok(())
    }

    /// Starts publishing the VP8 and Opus of `media`'s files, looped.
    pub async fn publish_files(&mut self, media: &FileMedia) -> Result<(), SessionError> {
        let publisher = self.negotiate_publisher(PublishOptions::default()).await?;
        publisher.start_file_media(media)?;
        self.set_publisher(publisher).await;
        Ok(())
    }

    /// Starts publishing audio this client encodes itself (Opus, through
    /// the returned sender); no video is sent.
    pub async fn publish_audio(&mut self) -> Result<AudioSender, SessionError> {
        let publisher = self.negotiate_publisher(PublishOptions::default()).await?;
        let sender = publisher.audio_sender();
        self.set_publisher(publisher).await;
        Ok(sender)
    }

    async fn set_publisher(&mut self, publisher: Publisher) {
        let old = self.publisher.lock().replace(Arc::new(publisher));
        if let Some(old) = old {
            old.close().await;
        }
    }

    async fn negotiate_publisher(
        &self,
        options: PublishOptions,
    ) -> Result<Publisher, SessionError> {
        let participant_id = self.participant_id();
        let ice = self.ice.lock().clone();
        let publisher =
            Publisher::with_ice(&participant_id, &self.media_bind, options, &ice).await?;
        negotiate(&publisher, &self.commands, self.events()).await?;
        Ok(publisher)
    }

    /// Mutes or unmutes this participant's microphone.
    pub fn set_audio_muted(&self, muted: bool) -> Result<(), SessionError> {
        self.send(ClientMessage::SetAudioMuted { muted })
    }

    /// Turns this participant's camera on or off.
    pub fn set_video_enabled(&self, enabled: bool) -> Result<(), SessionError> {
        self.send(ClientMessage::SetVideoEnabled { enabled })
    }

    /// Chooses whose video arrives, and at what quality: `default` for everyone
    /// not in `participants` (id, quality).
    pub fn set_video_subscriptions(
        &self,
        default: VideoQuality,
        participants: &[(&str, VideoQuality)],
    ) -> Result<(), SessionError> {
        self.send(ClientMessage::SetVideoSubscriptions {
            default,
            participants: participants
                .iter()
                .map(|(id, quality)| VideoSubscription {
                    participant_id: (*id).to_owned(),
                    quality: *quality,
                })
                .collect(),
        })
    }

    /// Host only: ends the meeting for everyone.
    pub fn end_meeting(&self) -> Result<(), SessionError> {
        self.send(ClientMessage::EndMeeting)
    }

    /// Sends a chat message to everyone (`to` = `None`) or to one participant.
    pub fn chat(&self, to: Option<&str>, text: &str) -> Result<(), SessionError> {
        self.send(ClientMessage::Chat {
            to: to.map(String::from),
            to_panel: false,
            text: text.to_string(),
        })
    }

    /// Webinar: sends a chat message to the host and panelists only.
    pub fn chat_to_panel(&self, text: &str) -> Result<(), SessionError> {
        self.send(ClientMessage::Chat {
            to: None,
            to_panel: true,
            text: text.to_string(),
        })
    }

    /// Webinar Q&A: asks the panel a question.
    pub fn ask(&self, text: &str) -> Result<(), SessionError> {
        self.send(ClientMessage::Ask {
            text: text.to_string(),
        })
    }

    /// Webinar Q&A (host and panelists): answers a question, publicly or
    /// only to its asker.
    pub fn answer_question(
        &self,
        question_id: &str,
        text: &str,
        private: bool,
    ) -> Result<(), SessionError> {
        self.send(ClientMessage::AnswerQuestion {
            question_id: question_id.to_string(),
            text: text.to_string(),
            private,
        })
    }

    /// Webinar Q&A (host and panelists): closes a question unanswered.
    pub fn dismiss_question(&self, question_id: &str) -> Result<(), SessionError> {
        self.send(ClientMessage::DismissQuestion {
            question_id: question_id.to_string(),
        })
    }

    /// Interpretation: hears a language channel besides the original
    /// (`None`: the original only).
    pub fn choose_language(&self, language: Option<&str>) -> Result<(), SessionError> {
        self.send(ClientMessage::ChooseLanguage {
            language: language.map(String::from),
        })
    }

    /// Breakout rooms: goes into one, or (`None`) back to the main room.
    pub fn join_breakout(&self, room_id: Option<&str>) -> Result<(), SessionError> {
        self.send(ClientMessage::JoinBreakout {
            room_id: room_id.map(String::from),
        })
    }

    /// Breakout rooms: asks the hosts for help.
    pub fn ask_for_help(&self) -> Result<(), SessionError> {
        self.send(ClientMessage::AskForHelp)
    }

    /// Raises or lowers this participant's hand.
    pub fn raise_hand(&self, raised: bool) -> Result<(), SessionError> {
        self.send(ClientMessage::RaiseHand { raised })
    }

    /// Sends a reaction.
    pub fn react(&self, emoji: &str) -> Result<(), SessionError> {
        self.send(ClientMessage::React {
            emoji: emoji.to_string(),
        })
    }

    /// Starts or stops sharing the screen (state only; the browser sends the media).
    pub fn set_screen_share(&self, sharing: bool) -> Result<(), SessionError> {
        self.send(ClientMessage::SetScreenShare { sharing })
    }

    /// Changes this participant's display name.
    pub fn rename(&self, display_name: &str) -> Result<(), SessionError> {
        self.send(ClientMessage::Rename {
            display_name: display_name.to_string(),
        })
    }

    /// Rings directory users of the meeting's enterprise.
    pub fn invite(&self, account_ids: &[&str]) -> Result<(), SessionError> {
        self.send(ClientMessage::Invite {
            account_ids: account_ids.iter().map(|a| a.to_string()).collect(),
        })
    }

    /// Host only: one of the host's controls.
    pub fn host(&self, command: HostCommand) -> Result<(), SessionError> {
        self.send(ClientMessage::Host { command })
    }

    /// Calls a SIP device or a phone into the meeting (through the SIP
    /// gateway); the call's progress arrives in [`MeetingView::dials`].
    pub fn dial(&self, target: DialTarget) -> Result<(), SessionError> {
        self.send(ClientMessage::Dial { target })
    }

    /// Sends `message` and returns the error the server answers with, if
    /// one arrives within `within` (the protocol answers failures only).
    pub async fn request(
        &self,
        message: ClientMessage,
        within: Duration,
    ) -> Result<Option<(ErrorCode, String)>, SessionError> {
        let mut events = self.events();
        self.send(message)?;
        match wait_for(&mut events, within, "an error", |m| match m {
            ServerMessage::Error { code, message } => Some((*code, message.clone())),
            _ => None,
        })
        .await
        {
            Ok(error) => Ok(Some(error)),
            Err(SessionError::Timeout(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits until the meeting view satisfies `check`.
    pub async fn wait_until(
        &self,
        what: &'static str,
        timeout: Duration,
        check: impl Fn(&MeetingView) -> bool,
    ) -> Result<(), SessionError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if check(&self.view()) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SessionError::Timeout(what));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Leaves the meeting and closes the peer connections.
    pub async fn leave(self) {
        let _ = self.commands.send(ClientMessage::Leave);
        let mut events = self.events.subscribe();
        let _ = wait_for(&mut events, Duration::from_secs(5), "left", |m| {
            matches!(m, ServerMessage::Left).then_some(())
        })
        .await;
        self.close().await;
    }

    /// Closes the socket and peer connections without saying goodbye.
    pub async fn close(self) {
        drop(self.commands);
        // A session joining again stops between attempts; one stuck in an
        // attempt is stopped here.
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
        let publisher = self.publisher.lock().take();
        if let Some(publisher) = publisher {
            publisher.close().await;
        }
        self.subscriber.close().await;
    }

    fn send(&self, message: ClientMessage) -> Result<(), SessionError> {
        self.commands
            .send(message)
            .map_err(|_| SessionError::Closed)
    }
}

/// Offers `publisher`'s connection to the SFU and applies the answer;
/// `events` must be subscribed before the offer leaves.
async fn negotiate(
    publisher: &Publisher,
    commands: &mpsc::UnboundedSender<ClientMessage>,
    mut events: broadcast::Receiver<ServerMessage>,
) -> Result<(), SessionError> {
    let offer = publisher.create_offer().await?;
    commands
        .send(ClientMessage::PublishOffer { sdp: offer })
        .map_err(|_| SessionError::Closed)?;
    let answer = wait_for(
        &mut events,
        Duration::from_secs(15),
        "the publish answer",
        |m| match m {
            ServerMessage::PublishAnswer { sdp } => Some(Ok(sdp.clone())),
            ServerMessage::Error { code, message } => Some(Err(SessionError::Refused {
                code: *code,
                message: message.clone(),
            })),
            _ => None,
        },
    )
    .await??;
    publisher.apply_answer(&answer).await?;
    Ok(())
}

async fn wait_for<T>(
    events: &mut broadcast::Receiver<ServerMessage>,
    timeout: Duration,
    what: &'static str,
    mut pick: impl FnMut(&ServerMessage) -> Option<T>,
) -> Result<T, SessionError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => return Err(SessionError::Timeout(what)),
            Ok(Err(broadcast::error::RecvError::Closed)) => return Err(SessionError::Closed),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Ok(message)) => {
                if let Some(found) = pick(&message) {
                    return Ok(found);
                }
            }
        }
    }
}

enum Step {
    Send(Option<ClientMessage>),
    Received(Result<ServerMessage, SignalingError>),
    /// Time to look at the media connections ([`PATH_LOOK_EVERY`]).
    LookAtPath,
}

/// How often the socket loop looks whether the media path died.
const PATH_LOOK_EVERY: Duration = Duration::from_millis(500);

/// What the socket loop needs to connect the media anew.
struct Media {
    participant_id: ParticipantId,
    ice: SharedIce,
    subscriber: Arc<Subscriber>,
    publisher: PublisherSlot,
    /// The session's own command channel, for the new publish offer (weak:
    /// the loop ends when the session drops its sender).
    commands: mpsc::WeakUnboundedSender<ClientMessage>,
}

impl Media {
    /// The states of the session's connections, for the path watch.
    fn path_states(&self) -> [PathState; 2] {
        let publisher = self.publisher.lock().clone();
        [
            self.subscriber.path_state(),
            publisher.map_or(PathState::Unused, |p| p.path_state()),
        ]
    }

    /// A media restart: a new subscriber connection now, before the SFU's
    /// next offer is read; the publisher's new connection is negotiated
    /// beside the loop, which carries its answer.
    async fn restart(&self, events: &broadcast::Sender<ServerMessage>) {
        let ice = self.ice.lock().clone();
        if let Err(error) = self.subscriber.reconnect(&ice).await {
            tracing::warn!(%error, "cannot connect the subscriber anew");
        }
        let Some(publisher) = self.publisher.lock().clone() else {
            return;
        };
        let Some(commands) = self.commands.upgrade() else {
            return;
        };
        let answers = events.subscribe();
        let participant_id = self.participant_id.lock().clone();
        tokio::spawn(async move {
            let published = async {
                publisher.reconnect(&participant_id, &ice).await?;
                negotiate(&publisher, &commands, answers).await
            };
            match published.await {
                Ok(()) => tracing::info!("publishing again after a media restart"),
                Err(error) => tracing::warn!(%error, "cannot publish again after a media restart"),
            }
        });
    }
}

/// The session's socket loop: sends commands, applies server messages to the
/// view, answers subscriber offers, connects the media anew when told.
async fn run(
    mut client: SignalingClient,
    entry: Entry,
    mut commands: mpsc::UnboundedReceiver<ClientMessage>,
    media: Media,
    events: broadcast::Sender<ServerMessage>,
    view: Arc<Mutex<MeetingView>>,
) {
    let subscriber = Arc::clone(&media.subscriber);
    let mut path = PathWatch::default();
    let mut look = tokio::time::interval(PATH_LOOK_EVERY);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let step = tokio::select! {
            command = commands.recv() => Step::Send(command),
            message = client.recv(Duration::from_secs(24 * 3600)) => Step::Received(message),
            _ = look.tick() => Step::LookAtPath,
        };
        let message = match step {
            Step::LookAtPath => {
                let states = media.path_states();
                if path.look(std::time::Instant::now(), &states) {
                    tracing::warn!(
                        ?states,
                        attempt = path.requested,
                        "the media path is down; asking for a media restart"
                    );
                    view.lock().media_restarts_asked = path.requested;
                    if let Err(error) = client.send(&ClientMessage::RestartMedia).await {
                        tracing::debug!(%error, "the media restart request was not sent");
                    }
                }
                continue;
            }
            // A socket that fails to send fails to receive next: the loss
            // is handled there (the command is lost with the socket).
            Step::Send(Some(command)) => {
                if let Err(error) = client.send(&command).await {
                    tracing::debug!(%error, "a command was not sent");
                }
                continue;
            }
            Step::Send(None) => break,
            Step::Received(Ok(message)) => message,
            Step::Received(Err(error)) if error.is_lost() => {
                tracing::info!(%error, "the signaling socket was lost; joining again");
                let Some((again, entered)) = entry.again(&commands).await else {
                    break;
                };
                client = again;
                rejoined(&mut view.lock(), &media, entered);
                media.restart(&events).await;
                continue;
            }
            Step::Received(Err(_)) => break,
        };
        if let ServerMessage::SubscriberOffer { sdp } = &message {
            match subscriber.apply_offer(sdp).await {
                Ok(answer) => {
                    let answer = ClientMessage::SubscriberAnswer { sdp: answer };
                    if let Err(error) = client.send(&answer).await {
                        tracing::debug!(%error, "the subscriber answer was not sent");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not apply the SFU's offer"),
            }
        }
        if let ServerMessage::MediaRestart = &message {
            media.restart(&events).await;
        }
        apply(&mut view.lock(), &message);
        let _ = events.send(message);
    }
    let _ = client.close().await;
}

/// The session joined again as a new participant: what it knew of the
/// meeting is replaced by what the join answered.
fn rejoined(view: &mut MeetingView, media: &Media, entered: Entered) {
    *media.participant_id.lock() = entered.participant_id;
    media.ice.lock().ice_servers = entered.ice_servers;
    view.participants = entered
        .participants
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    view.active_speaker = None;
    view.rejoins += 1;
}

fn apply(view: &mut MeetingView, message: &ServerMessage) {
    match message {
        ServerMessage::ParticipantJoined { participant }
        | ServerMessage::ParticipantUpdated { participant } => {
            view.participants
                .insert(participant.id.clone(), participant.clone());
        }
        ServerMessage::ParticipantsJoined { participants } => {
            for participant in participants {
                view.participants
                    .insert(participant.id.clone(), participant.clone());
            }
        }
        ServerMessage::ParticipantLeft { participant_id } => {
            view.participants.remove(participant_id);
        }
        ServerMessage::ActiveSpeaker { participant_id } => {
            view.active_speaker = participant_id.clone()
        }
        ServerMessage::MeetingEnded { reason } => view.ended = Some(reason.clone()),
        ServerMessage::MeetingState {
            locked,
            spotlight,
            options,
            recording,
            streaming,
            languages,
        } => {
            view.languages = languages.clone();
            view.locked = *locked;
            view.spotlight = spotlight.clone();
            view.options = Some(options.clone());
            view.recording = *recording;
            view.streaming = streaming.clone();
        }
        // A rejoin's history repeats what was read before.
        ServerMessage::Chat { message } if !view.chat.iter().any(|m| m.id == message.id) => {
            view.chat.push(message.clone())
        }
        ServerMessage::Question { question } => {
            view.questions.insert(question.id.clone(), question.clone());
        }
        ServerMessage::WaitingRoom { waiting } => view.waiting_room = waiting.clone(),
        ServerMessage::Breakouts { breakouts } => view.breakouts = breakouts.clone(),
        ServerMessage::BreakoutBroadcast { from_name, text } => {
            view.broadcasts.push((from_name.clone(), text.clone()))
        }
        ServerMessage::HelpRequested {
            participant_id,
            room_id,
            ..
        } => view
            .help_requests
            .push((participant_id.clone(), room_id.clone())),
        ServerMessage::Reaction {
            participant_id,
            emoji,
        } => view.reactions.push((participant_id.clone(), emoji.clone())),
        ServerMessage::UnmuteRequested => view.unmute_requests += 1,
        ServerMessage::StartVideoRequested => view.start_video_requests += 1,
        ServerMessage::Removed => view.removed = true,
        ServerMessage::InviteStatus {
            account_id, state, ..
        } => view.invites.push((account_id.clone(), state.clone())),
        ServerMessage::DialStatus {
            call_id,
            target,
            state,
            reason,
            participant_id,
        } => view.dials.push(DialUpdate {
            call_id: call_id.clone(),
            target: target.clone(),
            state: *state,
            reason: reason.clone(),
            participant_id: participant_id.clone(),
        }),
        ServerMessage::Error { code, message } => view.errors.push((*code, message.clone())),
        ServerMessage::MediaRestart => view.media_restarts += 1,
        _ => {}
    }
}
