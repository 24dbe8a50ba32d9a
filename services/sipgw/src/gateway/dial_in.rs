//! Devices dialling into meetings (F-SIP-1): the meeting number comes in
//! the request URI (`sip:<number>@gateway`) or is keyed in after a tone,
//! the password is keyed in when the meeting has one (three tries), then
//! the call joins like any participant and is bridged like a call out.

use std::net::SocketAddr;
use std::time::Duration;

use rsipstack::dialog::dialog::DialogState;
use rsipstack::sip::{Header, HeadersExt, StatusCode, Uri};
use rsipstack::transaction::transaction::Transaction;
use rtc::rtp;
use rtc::shared::marshal::{Marshal, Unmarshal};
use yunhui_client::meeting::{JoinOptions, MeetingSession, SessionError};
use yunhui_proto::signaling::ErrorCode;

use tracing::Instrument;

use crate::bridge::{FRAME, RtpLeg};
use crate::codec::DeviceEncoder;
use crate::dtmf::{self, DtmfReceiver};
use crate::gateway::{Connected, Inner, device_address, rtp_socket, transport_of};
use crate::sdp;

/// Longest wait for a caller's keys (number or password, ending with #).
const KEYS_TIMEOUT: Duration = Duration::from_secs(30);
/// Password tries before the gateway hangs up.
const PASSWORD_TRIES: usize = 3;
/// Longest a dialled-in device waits in a waiting room.
const ADMISSION_TIMEOUT: Duration = Duration::from_secs(600);

/// The meeting number in a request URI's user part (9 to 11 digits,
/// separators ignored), if it has one.
pub fn meeting_number(uri: &Uri) -> Option<String> {
    let user = uri.user()?;
    let digits: String = user
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | ' '))
        .collect();
    ((9..=11).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()))
        .then_some(digits)
}

/// How the caller is shown: the From address, without tag or parameters.
pub fn caller_name(request: &rsipstack::sip::Request) -> String {
    let text = request
        .from_header()
        .map(|h| h.value().to_string())
        .unwrap_or_default();
    let address = match (text.find('<'), text.find('>')) {
        (Some(open), Some(close)) if open < close => &text[open + 1..close],
        _ => text.split(';').next().unwrap_or_default(),
    };
    let address = address.split(';').next().unwrap_or_default().trim();
    let name: String = address.chars().take(64).collect();
    if name.is_empty() {
        "SIP device".into()
    } else {
        name
    }
}

/// Answers one dialling-in device and sees the call through; returns what
/// became of it, for the log.
pub(crate) async fn answer(inner: &Inner, tx: Transaction) -> String {
    let device = device_address(&tx);
    let transport = transport_of(&tx);
    let span = tracing::info_span!(
        "dial_in",
        device = ?device,
        %transport,
        meeting = tracing::field::Empty,
        participant = tracing::field::Empty,
    );
    answer_call(inner, tx, device, transport)
        .instrument(span)
        .await
}

async fn answer_call(
    inner: &Inner,
    mut tx: Transaction,
    device: Option<std::net::IpAddr>,
    transport: rsipstack::sip::Transport,
) -> String {
    let config = &inner.config;
    let request = tx.original.clone();
    let offer = match sdp::answer(request.body()) {
        Ok(offer) => offer,
        Err(e) => {
            let _ = tx.reply(StatusCode::NotAcceptableHere).await;
            return format!("refused: {e}");
        }
    };
    let socket = match rtp_socket(config.sip_listen.ip(), config.rtp_ports).await {
        Ok(socket) => socket,
        Err(e) => {
            let _ = tx.reply(StatusCode::ServiceUnavailable).await;
            return format!("refused: no RTP port: {e}");
        }
    };
    let rtp_port = socket.local_addr().map(|a| a.port()).unwrap_or_default();
    // Named by the transport the device called on, so its in-dialog
    // requests come back the same way.
    let contact = inner.contact(transport);
    let (state_tx, mut states) = inner.layer.new_dialog_state_channel();
    let dialog = match inner
        .layer
        .get_or_create_server_invite(&tx, state_tx, None, contact)
    {
        Ok(dialog) => dialog,
        Err(e) => {
            let _ = tx.reply(StatusCode::ServerInternalError).await;
            return format!("refused: {e}");
        }
    };
    let mut handler = dialog.clone();
    tokio::spawn(async move {
        if let Err(e) = handler.handle(&mut tx).await {
            tracing::debug!(error = %e, "the dial-in INVITE transaction failed");
        }
    });
    let body = sdp::answer_to(
        SocketAddr::new(config.advertised_ip, rtp_port),
        &offer,
        rand::random::<u32>().into(),
    );
    let content_type = Header::ContentType("application/sdp".to_string().into());
    if let Err(e) = dialog.accept(Some(vec![content_type]), Some(body.into_bytes())) {
        return format!("could not answer: {e}");
    }
    let dialog_id = dialog.id();
    // The ACK confirms the call.
    let confirmed = tokio::time::timeout(Duration::from_secs(32), async {
        while let Some(state) = states.recv().await {
            match state {
                DialogState::Confirmed(..) => return true,
                DialogState::Terminated(..) => return false,
                _ => {}
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let call = Connected {
        inner,
        dialog: &dialog,
        dialog_id: &dialog_id,
        states: &mut states,
    };
    if !confirmed {
        call.hang_up().await;
        return "never confirmed (no ACK)".into();
    }
    let leg = RtpLeg {
        socket,
        remote: offer.rtp,
        codec: offer.codec,
    };
    let mut keypad = match Keypad::new(&leg, offer.telephone_event) {
        Ok(keypad) => keypad,
        Err(e) => {
            call.hang_up().await;
            return format!("no audio for the keypad's prompts: {e}");
        }
    };
    let number = match meeting_number(&request.uri) {
        Some(number) => number,
        None => match keypad.keys(dtmf::ask_for_number(), call.states).await {
            Some(number) => number,
            None => {
                call.hang_up().await;
                return "no meeting number keyed in".into();
            }
        },
    };
    tracing::Span::current().record("meeting", number.as_str());
    let mut password: Option<String> = None;
    let mut tries = 0;
    let session = loop {
        let joined = MeetingSession::join(
            &config.signal_url,
            JoinOptions {
                meeting_number: number.clone(),
                display_name: caller_name(&request),
                password: password.clone(),
                media_bind: Some(SocketAddr::new(config.sip_listen.ip(), 0).to_string()),
                admission_timeout: Some(ADMISSION_TIMEOUT),
                // Password attempts count against the device, not the gateway.
                acting_for: inner.acting_for(device),
                ..JoinOptions::default()
            },
        )
        .await;
        match joined {
            Ok(session) => break session,
            Err(SessionError::Refused {
                code: ErrorCode::PasswordRequired | ErrorCode::WrongPassword,
                ..
            }) if tries < PASSWORD_TRIES => {
                tries += 1;
                let prompt = if password.is_some() {
                    [dtmf::wrong(), dtmf::ask_for_password()].concat()
                } else {
                    dtmf::ask_for_password()
                };
                match keypad.keys(prompt, call.states).await {
                    Some(keys) => password = Some(keys),
                    None => {
                        call.hang_up().await;
                        return format!("no password keyed in for meeting {number}");
                    }
                }
            }
            Err(e) => {
                keypad.play(dtmf::wrong()).await;
                call.hang_up().await;
                return format!("could not join meeting {number}: {e}");
            }
        }
    };
    tracing::Span::current().record("participant", session.participant_id());
    tracing::info!(codec = ?leg.codec, "the device is in the meeting");
    match call.run(session, leg, None).await {
        Ok(reason) => format!("meeting {number}: {reason}"),
        Err(reason) => format!("meeting {number}: {reason}"),
    }
}

/// Plays prompts to the device and reads its keys, before the call is in
/// a meeting.
struct Keypad<'a> {
    leg: &'a RtpLeg,
    telephone_event: Option<u8>,
    /// The prompts (8 kHz) in the call's codec.
    encoder: DeviceEncoder,
    ssrc: u32,
    sequence_number: u16,
    timestamp: u32,
}

impl<'a> Keypad<'a> {
    fn new(leg: &'a RtpLeg, telephone_event: Option<u8>) -> Result<Self, String> {
        Ok(Keypad {
            leg,
            telephone_event,
            encoder: DeviceEncoder::new(leg.codec, 8_000)?,
            ssrc: rand::random(),
            sequence_number: rand::random(),
            timestamp: rand::random(),
        })
    }

    async fn send_frame(&mut self, frame: &[i16]) {
        let step = self.leg.codec.timestamp_step();
        let Some(payload) = self.encoder.encode(frame) else {
            self.timestamp = self.timestamp.wrapping_add(step);
            return;
        };
        let packet = rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: self.leg.codec.payload_type(),
                sequence_number: self.sequence_number,
                timestamp: self.timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload,
        };
        self.sequence_number = self.sequence_number.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(step);
        if let Ok(bytes) = packet.marshal() {
            let _ = self.leg.socket.send_to(&bytes, self.leg.remote).await;
        }
    }

    /// Plays `sound` to the end.
    async fn play(&mut self, sound: Vec<i16>) {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for frame in sound.chunks(FRAME) {
            tick.tick().await;
            self.send_frame(frame).await;
        }
    }

    /// Plays `prompt`, then collects keys up to `#`. `None` when the device
    /// sends no telephone events, hangs up, or keys nothing in time.
    async fn keys(
        &mut self,
        prompt: Vec<i16>,
        states: &mut rsipstack::dialog::dialog::DialogStateReceiver,
    ) -> Option<String> {
        let event_pt = self.telephone_event?;
        let mut prompt = prompt.into_iter();
        let mut keys = String::new();
        let mut receiver = DtmfReceiver::default();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let deadline = tokio::time::sleep(KEYS_TIMEOUT);
        tokio::pin!(deadline);
        let mut buf = vec![0u8; 2048];
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    // The prompt, then silence: the device's media stays alive.
                    let frame: Vec<i16> = (0..FRAME).map(|_| prompt.next().unwrap_or(0)).collect();
                    self.send_frame(&frame).await;
                }
                received = self.leg.socket.recv_from(&mut buf) => {
                    let Ok((len, from)) = received else { return None };
                    if from.ip() != self.leg.remote.ip() {
                        continue;
                    }
                    let Ok(packet) = rtp::Packet::unmarshal(&mut &buf[..len]) else { continue };
                    if packet.header.payload_type != event_pt {
                        continue;
                    }
                    match receiver.push(packet.header.timestamp, &packet.payload) {
                        // A # before any key (a repeat, or pressed early) ends nothing.
                        Some('#') if keys.is_empty() => {}
                        Some('#') => return Some(keys),
                        Some(key) if keys.len() < 32 => keys.push(key),
                        _ => {}
                    }
                }
                Some(state) = states.recv() => {
                    if matches!(state, DialogState::Terminated(..)) {
                        return None;
                    }
                }
                _ = &mut deadline => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meeting_number_is_read_from_the_request_uri() {
        let uri = |text: &str| Uri::try_from(text).unwrap();
        assert_eq!(
            meeting_number(&uri("sip:123456789@gw.example")),
            Some("123456789".into())
        );
        assert_eq!(
            meeting_number(&uri("sip:123-456-7890@10.0.0.1:5060")),
            Some("1234567890".into())
        );
        for none in ["sip:yunhui@gw.example", "sip:12345@gw", "sip:gw.example"] {
            assert_eq!(meeting_number(&uri(none)), None, "{none}");
        }
    }
}
