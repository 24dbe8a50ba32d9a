//! The publisher role: the peer connection a client sends its tracks on (the
//! client offers, the SFU answers). Each received track is matched to a
//! published track, its audio level feeds the active speaker, and each packet
//! goes to the down tracks subscribed to that track ([`DownTrackSpreader`]).
//! Keyframe requests from subscribers come back here as PLIs to the client.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::event::RTCTrackEventInit;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::RTCRtpReceiverId;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;

use super::spreader::DownTrackSpreader;
use super::{Role, Transport, invalid_sdp, transport_error};
use crate::control::{ControlError, MediaKind};
use crate::forwarding::{ForwardedPacket, TrackKey};
use crate::mailbox::{PublisherCommand, PublisherHandle};
use crate::participant::Participant;
use crate::room::Room;
use crate::simulcast::layer_of_rid;
use crate::speaker::AUDIO_LEVEL_URI;

/// Keyframe requests to one publisher track are not sent more often than this.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(250);

/// Opens `participant`'s publisher PC in `room` and starts its task.
pub(crate) fn spawn_publisher(
    room: &Room,
    participant: &Arc<Participant>,
) -> Result<PublisherHandle, ControlError> {
    super::spawn(room, participant, "publisher", None, |_| Publisher {
        participant: Arc::clone(participant),
        inbound: HashMap::new(),
        down_tracks: HashMap::new(),
    })
}

/// A track received on the publisher PC.
struct InboundTrack {
    key: Arc<TrackKey>,
    kind: MediaKind,
    receiver_id: RTCRtpReceiverId,
    /// Each stream of the track by SSRC: its simulcast layer (`None` without
    /// simulcast) and when it was last asked for a keyframe.
    streams: HashMap<u32, InboundStream>,
    audio_level_id: Option<u8>,
}

/// One RTP stream of a received track (one simulcast layer, or the only stream).
struct InboundStream {
    layer: Option<u8>,
    last_keyframe_request: Option<Instant>,
}

struct Publisher {
    /// Whose PC this is: its published tracks, mute switches and audio level.
    participant: Arc<Participant>,
    /// Received tracks by the client's track id.
    inbound: HashMap<String, InboundTrack>,
    /// The down tracks of each published track, by the published track id.
    down_tracks: HashMap<String, DownTrackSpreader>,
}

impl Role for Publisher {
    type Command = PublisherCommand;

    fn on_command(&mut self, transport: &mut Transport, command: PublisherCommand) {
        match command {
            PublisherCommand::AnswerOffer { offer, reply } => {
                let _ = reply.send(answer_offer(&mut transport.pc, offer));
                transport.replay_early_stun();
            }
            PublisherCommand::AddDownTrack { track_id, down } => {
                self.down_tracks.entry(track_id).or_default().add(down);
            }
            PublisherCommand::RemoveDownTrack { track_id, down } => {
                if let Entry::Occupied(mut spreader) = self.down_tracks.entry(track_id) {
                    spreader.get_mut().remove(&down);
                    if spreader.get().is_empty() {
                        spreader.remove();
                    }
                }
            }
            PublisherCommand::RequestKeyframe { track_id, layer } => {
                self.request_keyframe(&mut transport.pc, &track_id, layer);
            }
        }
    }

    fn on_track(&mut self, transport: &mut Transport, track: RTCTrackEventInit) {
        let layer = track.rid.as_deref().map(layer_of_rid);
        self.bind_inbound_track(
            &mut transport.pc,
            track.track_id,
            track.receiver_id,
            track.ssrc,
            layer,
        );
    }

    /// Hands a received packet to every down track of its published track.
    fn on_rtp(
        &mut self,
        _transport: &mut Transport,
        track_id: &str,
        packet: rtc::rtp::Packet,
        received_at: Instant,
    ) {
        let Some(inbound) = self.inbound.get(track_id) else {
            return;
        };
        if let Some(id) = inbound.audio_level_id
            && let Some(level) = packet.header.get_extension(id)
            && let Some(&byte) = level.first()
        {
            self.participant
                .audio_level
                .observe(byte & 0x7f, received_at);
        }
        let Some(generation) = self.participant.forwarding(inbound.kind) else {
            return;
        };
        let layer = match inbound.streams.get(&packet.header.ssrc) {
            Some(stream) => stream.layer,
            // A simulcast layer not announced yet: which one is unknown.
            None if inbound.streams.values().any(|s| s.layer.is_some()) => return,
            None => None,
        };
        let Some(down_tracks) = self.down_tracks.get_mut(&inbound.key.track_id) else {
            return;
        };
        down_tracks.spread(ForwardedPacket {
            track: Arc::clone(&inbound.key),
            layer,
            generation,
            packet,
            received_at,
        });
    }
}

fn answer_offer(
    pc: &mut RTCPeerConnection,
    offer: RTCSessionDescription,
) -> Result<String, ControlError> {
    let now = Instant::now();
    pc.set_remote_description(now, offer).map_err(invalid_sdp)?;
    let answer = pc.create_answer(None).map_err(invalid_sdp)?;
    pc.set_local_description(now, answer).map_err(invalid_sdp)?;
    pc.local_description()
        .map(|d| d.sdp)
        .ok_or_else(|| transport_error("the SFU produced no answer"))
}

impl Publisher {
    /// Matches a track the client started sending to a published track.
    fn bind_inbound_track(
        &mut self,
        pc: &mut RTCPeerConnection,
        track_id: String,
        receiver_id: RTCRtpReceiverId,
        ssrc: u32,
        layer: Option<u8>,
    ) {
        let stream = InboundStream {
            layer,
            last_keyframe_request: None,
        };
        if let Some(bound) = self.inbound.get_mut(&track_id) {
            // Another simulcast layer of a track already bound.
            bound.streams.insert(ssrc, stream);
            return;
        }
        let kind = match pc.rtp_receiver(receiver_id) {
            Some(receiver) => match receiver.track().kind() {
                RtpCodecKind::Audio => MediaKind::Audio,
                _ => MediaKind::Video,
            },
            None => return,
        };
        let published = self.participant.published_tracks();
        let bound: Vec<&Arc<TrackKey>> = self.inbound.values().map(|t| &t.key).collect();
        let Some(track) = published
            .iter()
            .find(|t| t.key.track_id == track_id)
            .or_else(|| {
                published
                    .iter()
                    .find(|t| t.kind == kind && !bound.contains(&&t.key))
            })
        else {
            tracing::debug!(%track_id, "received a track that was not offered");
            return;
        };
        let audio_level_id = if kind == MediaKind::Audio {
            audio_level_extension_id(pc)
        } else {
            None
        };
        self.inbound.insert(
            track_id,
            InboundTrack {
                key: Arc::clone(&track.key),
                kind,
                receiver_id,
                streams: HashMap::from([(ssrc, stream)]),
                audio_level_id,
            },
        );
    }

    /// Sends a PLI for `track_id` (only its simulcast `layer`, when given), at most
    /// once per interval and stream.
    fn request_keyframe(&mut self, pc: &mut RTCPeerConnection, track_id: &str, layer: Option<u8>) {
        let now = Instant::now();
        let Some(inbound) = self
            .inbound
            .values_mut()
            .find(|t| t.key.track_id == track_id)
        else {
            return;
        };
        if inbound.kind != MediaKind::Video {
            return;
        }
        let mut plis: Vec<Box<dyn rtc::rtcp::packet::Packet>> = Vec::new();
        for (&media_ssrc, stream) in inbound.streams.iter_mut() {
            // A stream without simulcast is the track's every layer.
            if (layer.is_some() && stream.layer.is_some() && stream.layer != layer)
                || stream
                    .last_keyframe_request
                    .is_some_and(|last| now.duration_since(last) < KEYFRAME_REQUEST_INTERVAL)
            {
                continue;
            }
            stream.last_keyframe_request = Some(now);
            plis.push(Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            }));
        }
        if plis.is_empty() {
            return;
        }
        if let Some(mut receiver) = pc.rtp_receiver(inbound.receiver_id)
            && let Err(err) = receiver.write_rtcp(now, plis)
        {
            tracing::debug!(error = %err, "sending PLI failed");
        }
    }
}

/// The id the SFU's answer gave the audio-level header extension.
fn audio_level_extension_id(pc: &RTCPeerConnection) -> Option<u8> {
    let local = pc.local_description()?;
    let parsed = local.unmarshal().ok()?;
    parsed.media_descriptions.iter().find_map(|media| {
        (media.media_name.media == "audio")
            .then(|| {
                media.attribute("mid").flatten().and_then(|mid| {
                    crate::forwarding::answered_extension_id(&parsed, mid, AUDIO_LEVEL_URI)
                })
            })
            .flatten()
    })
}
