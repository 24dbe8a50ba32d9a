//! The SIP side: a user agent on UDP that places calls out of meetings
//! (F-CTL-5, F-SIP-3), joins each answered call to its meeting through the
//! client SDK, and bridges its audio ([`crate::bridge`]).

pub mod dial_in;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rsipstack::EndpointBuilder;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{Dialog, DialogState, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::{Method, StatusCode, StatusCodeKind, Uri};
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use yunhui_client::meeting::{JoinOptions, MeetingSession, SessionError};
use yunhui_proto::dial::{CallControl, CallEvent, CallEvents, DialRequest};
use yunhui_proto::signaling::{DialTarget, ErrorCode, ServerMessage};

use crate::bridge::{self, RtpLeg};
use crate::sdp;

/// A SIP trunk: where phone numbers are called (a PBX or carrier gateway).
#[derive(Debug, Clone)]
pub struct SipTrunk {
    /// The trunk's `host[:port]`; a number is called as `sip:<number>@<host[:port]>`.
    pub address: String,
    /// User name for the trunk's digest challenge, if it asks.
    pub username: Option<String>,
    /// Password for the trunk's digest challenge.
    pub password: Option<String>,
}

/// Settings of the gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// UDP address for SIP (e.g. `0.0.0.0:5060`).
    pub sip_listen: SocketAddr,
    /// The address devices reach this gateway at, in SIP headers and SDP.
    pub advertised_ip: IpAddr,
    /// Signal's base URL, where answered calls join their meetings.
    pub signal_url: String,
    /// Where phone numbers are called; without one, only SIP addresses are.
    pub trunk: Option<SipTrunk>,
    /// How long a call may ring before it is given up.
    pub ring_timeout: Duration,
    /// UDP ports calls' RTP may use (first, last), so a firewall or network
    /// policy can open exactly those; any free port when `None`.
    pub rtp_ports: Option<(u16, u16)>,
    /// How long a device may stay alone in a meeting everyone else left
    /// before it is hung up (one that dialled into an empty meeting waits
    /// for company).
    pub alone_timeout: Duration,
}

impl GatewayConfig {
    /// Defaults for a gateway on `sip_listen` reaching signal at `signal_url`.
    pub fn new(sip_listen: SocketAddr, advertised_ip: IpAddr, signal_url: &str) -> Self {
        GatewayConfig {
            sip_listen,
            advertised_ip,
            signal_url: signal_url.to_string(),
            trunk: None,
            ring_timeout: Duration::from_secs(60),
            rtp_ports: None,
            alone_timeout: Duration::from_secs(60),
        }
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration cannot work.
    #[error("SIP gateway configuration: {0}")]
    Config(String),
    /// The SIP stack failed to start.
    #[error("SIP gateway: {0}")]
    Sip(#[from] rsipstack::Error),
}

pub(crate) struct Inner {
    pub(crate) config: GatewayConfig,
    pub(crate) layer: Arc<DialogLayer>,
    /// The gateway's own SIP address (`host:port`), in From and Contact.
    pub(crate) local: SocketAddr,
    pub(crate) cancel: CancellationToken,
    active: AtomicUsize,
}

/// The running gateway. Dropping it stops the SIP stack; calls in progress
/// end with it.
pub struct SipGateway {
    inner: Arc<Inner>,
}

impl Drop for SipGateway {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}

impl SipGateway {
    /// Binds the SIP socket and starts the user agent.
    pub async fn start(config: GatewayConfig) -> Result<Self, GatewayError> {
        if let Some((first, last)) = config.rtp_ports
            && (first == 0 || first > last)
        {
            return Err(GatewayError::Config(format!(
                "the RTP port range {first}-{last} is empty; give first-last with 1 <= first <= last"
            )));
        }
        if config.advertised_ip.is_unspecified() {
            return Err(GatewayError::Config(
                "the advertised address must be one devices can reach, not 0.0.0.0".into(),
            ));
        }
        let external = if config.sip_listen.ip().is_unspecified() {
            if config.sip_listen.port() == 0 {
                return Err(GatewayError::Config(
                    "listening on every address needs a fixed port (e.g. 0.0.0.0:5060)".into(),
                ));
            }
            Some(SocketAddr::new(
                config.advertised_ip,
                config.sip_listen.port(),
            ))
        } else {
            None
        };
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let connection = UdpConnection::create_connection(
            config.sip_listen,
            external,
            Some(cancel.child_token()),
        )
        .await?;
        let local: SocketAddr = connection
            .get_addr()
            .addr
            .to_string()
            .parse()
            .map_err(|_| GatewayError::Config("the SIP socket has no IP address".into()))?;
        transport.add_transport(connection.into());
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent("Yunhui SIP gateway")
            .build();
        let incoming = endpoint.incoming_transactions()?;
        let layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        tokio::spawn(async move { endpoint.serve().await });
        let inner = Arc::new(Inner {
            config,
            layer,
            local,
            cancel,
            active: AtomicUsize::new(0),
        });
        tokio::spawn(answer_requests(incoming, Arc::clone(&inner)));
        tracing::info!(%local, "SIP gateway listening (UDP)");
        Ok(SipGateway { inner })
    }

    /// Where devices reach the gateway's SIP socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Calls in progress (ringing or connected).
    pub fn active_calls(&self) -> usize {
        self.inner.active.load(Ordering::Relaxed)
    }
}

/// In-dialog requests (the device's BYE, re-INVITEs, OPTIONS) go to their
/// call; a new INVITE is a device dialling in; the rest is answered here.
async fn answer_requests(
    mut incoming: rsipstack::transaction::TransactionReceiver,
    inner: Arc<Inner>,
) {
    while let Some(mut tx) = incoming.recv().await {
        let inner = Arc::clone(&inner);
        tokio::spawn(async move {
            match inner.layer.match_dialog(&tx) {
                Some(Dialog::Invite(mut dialog)) => {
                    if let Err(e) = dialog.handle(&mut tx).await {
                        tracing::debug!(error = %e, "in-dialog request failed");
                    }
                }
                _ => {
                    let status = match tx.original.method {
                        Method::Ack => return,
                        Method::Options => StatusCode::OK,
                        Method::Invite => {
                            inner.active.fetch_add(1, Ordering::Relaxed);
                            let outcome = dial_in::answer(&inner, tx).await;
                            inner.active.fetch_sub(1, Ordering::Relaxed);
                            tracing::info!(outcome, "call into a meeting over");
                            return;
                        }
                        _ => StatusCode::CallTransactionDoesNotExist,
                    };
                    let _ = tx.reply(status).await;
                }
            }
        });
    }
}

impl CallControl for SipGateway {
    fn dial(&self, request: DialRequest, events: CallEvents) -> Result<(), String> {
        let callee = callee_uri(&request.target, self.inner.config.trunk.as_ref())?;
        let inner = Arc::clone(&self.inner);
        inner.active.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let outcome = call(&inner, &request, callee, &events).await;
            inner.active.fetch_sub(1, Ordering::Relaxed);
            events(outcome);
        });
        Ok(())
    }
}

/// The request URI for a target.
fn callee_uri(target: &DialTarget, trunk: Option<&SipTrunk>) -> Result<Uri, String> {
    let text = match target.normalised()? {
        DialTarget::Sip { uri } => uri,
        DialTarget::Phone { number } => {
            let trunk = trunk.ok_or(
                "calling phone numbers needs a SIP trunk, and this deployment has none configured",
            )?;
            format!("sip:{number}@{}", trunk.address)
        }
    };
    Uri::try_from(text.as_str()).map_err(|e| format!("{text} is not a usable SIP address: {e}"))
}

/// A UDP socket for a call's RTP, in `range` when there is one.
pub(crate) async fn rtp_socket(
    ip: IpAddr,
    range: Option<(u16, u16)>,
) -> std::io::Result<UdpSocket> {
    let Some((first, last)) = range else {
        return UdpSocket::bind(SocketAddr::new(ip, 0)).await;
    };
    let span = u32::from(last - first) + 1;
    let start = rand::random::<u32>() % span;
    // Every port of the range once, from a random one on.
    for step in 0..span {
        let port = first + ((start + step) % span) as u16;
        if let Ok(socket) = UdpSocket::bind(SocketAddr::new(ip, port)).await {
            return Ok(socket);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        format!("every port of {first}-{last} is in use"),
    ))
}

/// Words for a final response that is not a success.
fn refusal(status: &StatusCode) -> String {
    let what = match status.code() {
        486 | 600 => "busy",
        603 => "declined",
        404 | 604 => "no such number or device",
        480 => "unavailable",
        408 | 487 => "no answer",
        401 | 407 => "the SIP trunk refused the gateway's credentials",
        _ => "refused",
    };
    format!("{what} ({} {status})", status.code())
}

/// Places one call and sees it through; returns its last event.
async fn call(inner: &Inner, request: &DialRequest, callee: Uri, events: &CallEvents) -> CallEvent {
    let failed = |reason: String| CallEvent::Failed { reason };
    let config = &inner.config;
    let socket = match rtp_socket(config.sip_listen.ip(), config.rtp_ports).await {
        Ok(socket) => socket,
        Err(e) => return failed(format!("no RTP port: {e}")),
    };
    let rtp_port = match socket.local_addr() {
        Ok(a) => a.port(),
        Err(e) => return failed(format!("no RTP port: {e}")),
    };
    let offer = sdp::offer(
        SocketAddr::new(config.advertised_ip, rtp_port),
        rand::random::<u32>().into(),
    );
    let Ok(me) = Uri::try_from(format!("sip:yunhui@{}", inner.local).as_str()) else {
        return failed("the gateway's own SIP address is unusable".into());
    };
    let phone = matches!(request.target, DialTarget::Phone { .. });
    let credential = config
        .trunk
        .as_ref()
        .filter(|_| phone)
        .and_then(|t| Some((t.username.clone()?, t.password.clone()?)))
        .map(|(username, password)| Credential {
            username,
            password,
            ..Default::default()
        });
    let (state_tx, mut states) = inner.layer.new_dialog_state_channel();
    let option = InviteOption {
        caller_display_name: Some(format!("Yunhui {}", request.meeting_number)),
        caller: me.clone(),
        callee,
        contact: me,
        content_type: Some("application/sdp".into()),
        offer: Some(offer.into_bytes()),
        credential,
        ..Default::default()
    };
    let (dialog, mut invite) = match inner.layer.do_invite_async(option, state_tx) {
        Ok(started) => started,
        Err(e) => return failed(format!("the call could not be placed: {e}")),
    };
    let ring_deadline = tokio::time::sleep(config.ring_timeout);
    tokio::pin!(ring_deadline);
    let mut rang = false;
    let outcome = loop {
        tokio::select! {
            finished = &mut invite => break finished,
            Some(state) = states.recv() => {
                if matches!(state, DialogState::Early(..)) && !rang {
                    rang = true;
                    events(CallEvent::Ringing);
                }
            }
            _ = &mut ring_deadline => {
                let _ = dialog.cancel().await;
                let _ = tokio::time::timeout(Duration::from_secs(5), &mut invite).await;
                return failed(format!("no answer within {} s", config.ring_timeout.as_secs()));
            }
            _ = inner.cancel.cancelled() => {
                let _ = dialog.cancel().await;
                return failed("the SIP gateway is shutting down".into());
            }
        }
    };
    let (dialog_id, response) = match outcome {
        Ok(Ok(answered)) => answered,
        Ok(Err(e)) => return failed(format!("unreachable: {e}")),
        Err(e) => return failed(format!("the call task failed: {e}")),
    };
    let response = match response {
        Some(r) if r.status_code.kind() == StatusCodeKind::Successful => r,
        Some(r) => return failed(refusal(&r.status_code)),
        None => return failed("no answer".into()),
    };
    let hang_up = |reason: String| async {
        let _ = dialog.bye().await;
        inner.layer.remove_dialog(&dialog_id);
        reason
    };
    let answer = match sdp::answer(response.body()) {
        Ok(answer) => answer,
        Err(e) => return failed(hang_up(e).await),
    };
    let session = MeetingSession::join(
        &config.signal_url,
        JoinOptions {
            meeting_number: request.meeting_number.clone(),
            display_name: request.display_name.clone(),
            dial_ticket: Some(request.ticket.clone()),
            media_bind: Some(SocketAddr::new(config.sip_listen.ip(), 0).to_string()),
            admission_timeout: Some(Duration::from_secs(30)),
            ..JoinOptions::default()
        },
    )
    .await;
    let session = match session {
        Ok(session) => session,
        Err(e) => return failed(hang_up(format!("could not join the meeting: {e}")).await),
    };
    let leg = RtpLeg {
        socket,
        remote: answer.rtp,
        law: answer.law,
    };
    let call = Connected {
        inner,
        dialog: &dialog,
        dialog_id: &dialog_id,
        states: &mut states,
    };
    match call.run(session, leg, Some(events)).await {
        Ok(reason) => CallEvent::Ended { reason },
        Err(reason) => failed(reason),
    }
}

/// A call that is answered and in its meeting, from either direction.
pub(crate) struct Connected<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) dialog: &'a rsipstack::dialog::invite_dialog::InviteDialog,
    pub(crate) dialog_id: &'a rsipstack::dialog::DialogId,
    pub(crate) states: &'a mut rsipstack::dialog::dialog::DialogStateReceiver,
}

impl Connected<'_> {
    pub(crate) async fn hang_up(&self) {
        let _ = self.dialog.bye().await;
        self.inner.layer.remove_dialog(self.dialog_id);
    }

    /// Publishes the call's audio, bridges it until one side ends the call,
    /// and hangs up. `Ok` says why an established call ended; `Err` why it
    /// never got its audio into the meeting.
    pub(crate) async fn run(
        self,
        mut session: MeetingSession,
        leg: RtpLeg,
        events: Option<&CallEvents>,
    ) -> Result<String, String> {
        let config = &self.inner.config;
        let mut meeting_events = session.events();
        let _ = session.set_video_enabled(false);
        let audio = match session.publish_audio().await {
            Ok(audio) => Some(audio),
            // A webinar's attendee listens: the device hears the meeting,
            // and the meeting does not hear the device.
            Err(SessionError::Refused {
                code: ErrorCode::NotAllowed,
                message,
            }) => {
                tracing::info!(%message, "the meeting does not take the call's audio: the device listens");
                None
            }
            Err(e) => {
                session.leave().await;
                self.hang_up().await;
                return Err(format!("could not publish the call's audio: {e}"));
            }
        };
        let mut listening = audio.is_none();
        let (grant, granted) = tokio::sync::mpsc::channel(1);
        let packets = session.subscriber().audio_packets(512);
        if let Some(events) = events {
            events(CallEvent::Answered {
                participant_id: session.participant_id().to_string(),
            });
        }
        let mut bridge = tokio::spawn(bridge::run(leg, audio, granted, packets));
        let mut alone_since: Option<tokio::time::Instant> = None;
        // A device that dialled into an empty meeting waits for company;
        // only once others have come and gone is it alone.
        let mut had_company = false;
        let mut look_around = tokio::time::interval(Duration::from_millis(500));
        // Until one side ends it.
        let leave_because = loop {
            tokio::select! {
                _ = look_around.tick() => {
                    // Nobody left to talk to: hang up rather than hold the line open.
                    let others = session.view().participants.len().saturating_sub(1);
                    had_company |= others > 0;
                    if had_company && others == 0 {
                        let since = *alone_since.get_or_insert_with(tokio::time::Instant::now);
                        if since.elapsed() >= config.alone_timeout {
                            break Some("everyone else left the meeting".to_string());
                        }
                    } else {
                        alone_since = None;
                    }
                }
                Some(state) = self.states.recv() => {
                    if let DialogState::Terminated(_, reason) = state {
                        break Some(match reason {
                            TerminatedReason::UasBye | TerminatedReason::UacBye => {
                                "the device hung up".to_string()
                            }
                            other => format!("the call dropped ({other:?})"),
                        });
                    }
                }
                message = meeting_events.recv() => match message {
                    // A device has no button to accept with: the host's request is the answer.
                    Ok(ServerMessage::UnmuteRequested) => {
                        if listening {
                            // A webinar's attendee the host allows to talk:
                            // the meeting takes the call's audio from now on.
                            match session.publish_audio().await {
                                Ok(audio) => {
                                    listening = false;
                                    let _ = grant.send(audio).await;
                                }
                                Err(e) => tracing::warn!(error = %e, "the call may talk, but its audio was not taken"),
                            }
                        }
                        let _ = session.set_audio_muted(false);
                    }
                    Ok(ServerMessage::MeetingEnded { .. }) => break None,
                    Ok(ServerMessage::Removed) => break None,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break None,
                },
                result = &mut bridge => {
                    let reason = match result {
                        Ok(Err(e)) => e,
                        _ => "the audio bridge stopped".into(),
                    };
                    break Some(reason);
                }
                _ = self.inner.cancel.cancelled() => break Some("the SIP gateway is shutting down".into()),
            }
        };
        bridge.abort();
        let reason = match leave_because {
            Some(reason) => {
                session.leave().await;
                reason
            }
            None => {
                let view = session.view();
                let reason = if view.removed {
                    "removed from the meeting".to_string()
                } else if view.ended.is_some() {
                    "the meeting ended".to_string()
                } else {
                    "the meeting connection closed".to_string()
                };
                session.close().await;
                reason
            }
        };
        self.hang_up().await;
        Ok(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_need_a_trunk_and_go_to_it() {
        let phone = DialTarget::Phone {
            number: "+86 138 0013 8000".into(),
        };
        assert!(callee_uri(&phone, None).unwrap_err().contains("SIP trunk"));
        let trunk = SipTrunk {
            address: "pbx.example.com:5070".into(),
            username: None,
            password: None,
        };
        assert_eq!(
            callee_uri(&phone, Some(&trunk)).unwrap().to_string(),
            "sip:+8613800138000@pbx.example.com:5070"
        );
        let device = DialTarget::Sip {
            uri: "boardroom@10.0.0.9".into(),
        };
        assert_eq!(
            callee_uri(&device, None).unwrap().to_string(),
            "sip:boardroom@10.0.0.9"
        );
    }

    #[tokio::test]
    async fn rtp_ports_come_from_the_range_until_it_is_used_up() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let probe = std::net::UdpSocket::bind((ip, 0)).unwrap();
        let first = probe.local_addr().unwrap().port();
        drop(probe);
        let a = rtp_socket(ip, Some((first, first))).await.unwrap();
        assert_eq!(a.local_addr().unwrap().port(), first);
        let e = rtp_socket(ip, Some((first, first))).await.unwrap_err();
        assert!(e.to_string().contains("in use"), "{e}");
    }

    #[test]
    fn refusals_are_put_in_words() {
        assert!(refusal(&StatusCode::BusyHere).starts_with("busy (486"));
        assert!(refusal(&StatusCode::Decline).starts_with("declined (603"));
        assert!(refusal(&StatusCode::NotFound).starts_with("no such number"));
    }
}
