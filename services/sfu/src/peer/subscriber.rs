//! The subscriber role: the peer connection a client receives the others'
//! tracks on (the SFU offers, the client answers). Each sent track is a
//! [`DownTrack`] subscribed at its publisher PC
//! ([`PublisherCommand::AddDownTrack`]); the packets it is handed are
//! rewritten for this subscriber (simulcast layer, sequence numbers, SSRC) and
//! sent. Keyframe requests, the subscriber's own PLI/FIR and those a track
//! waiting to start needs, go back to the publisher PC. Every
//! [`ALLOCATION_INTERVAL`] the downlink estimate is shared among the sent video
//! tracks ([`crate::bandwidth::allocate`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};

use prometheus::IntGauge;

use super::{Role, Transport, invalid_sdp, transport_error};
use crate::bandwidth::{self, SendEstimate, VideoDemand};
use crate::control::{ControlError, MediaKind};
use crate::forwarding::{DownTrack, ForwardedPacket, PublishedTrack, TrackKey};
use crate::mailbox::{
    DownTrackHandle, PublisherCommand, PublisherHandle, SubscriberCommand, SubscriberHandle,
};
use crate::participant::Participant;
use crate::room::Room;
use crate::simulcast::{Allowance, SubscriptionCell};

/// How often the downlink estimate is shared among the sent video tracks.
pub(crate) const ALLOCATION_INTERVAL: Duration = Duration::from_millis(250);

/// Opens `participant`'s subscriber PC in `room` and starts its task.
pub(crate) fn spawn_subscriber(
    room: &Room,
    participant: &Arc<Participant>,
) -> Result<SubscriberHandle, ControlError> {
    let estimate = Arc::new(SendEstimate::default());
    let limited_gauge = room.ctx.metrics.bandwidth_limited_tracks.clone();
    super::spawn(
        room,
        participant,
        "subscriber",
        Some(&Arc::clone(&estimate)),
        |inbox| Subscriber {
            estimate,
            next_allocation: Instant::now(),
            narrow_since: HashMap::new(),
            limited: 0,
            limited_gauge,
            me: DownTrackHandle {
                subscriber: participant.id.as_str().into(),
                inbox,
            },
            publishers: HashMap::new(),
            subscriptions: Arc::clone(&participant.video_subscriptions),
            subscriptions_version: u64::MAX,
            down: HashMap::new(),
            down_by_local_track: HashMap::new(),
            down_by_ssrc: HashMap::new(),
        },
    )
}

struct Subscriber {
    /// The congestion controller's estimate of the subscriber's downlink.
    estimate: Arc<SendEstimate>,
    /// When the estimate is next shared among the video tracks.
    next_allocation: Instant,
    /// Since when the downlink has been too narrow for each track's lowest layer
    /// ([`bandwidth::hold_pause`]).
    narrow_since: HashMap<Arc<TrackKey>, Instant>,
    /// How many sent video tracks the downlink holds back (counted in `limited_gauge`).
    limited: i64,
    limited_gauge: IntGauge,
    /// Where publisher PCs send this PC's tracks.
    me: DownTrackHandle,
    /// The publisher PC of each publisher whose tracks are sent here.
    publishers: HashMap<String, PublisherHandle>,
    /// Which publishers' video to send, and at what quality.
    subscriptions: Arc<SubscriptionCell>,
    /// The version of `subscriptions` the sent tracks were last set to.
    subscriptions_version: u64,
    /// Sent tracks.
    down: HashMap<Arc<TrackKey>, DownTrack>,
    down_by_local_track: HashMap<String, Arc<TrackKey>>,
    down_by_ssrc: HashMap<u32, Arc<TrackKey>>,
}

impl Role for Subscriber {
    type Command = SubscriberCommand;

    fn on_command(&mut self, transport: &mut Transport, command: SubscriberCommand) {
        match command {
            SubscriberCommand::OfferTracks {
                tracks,
                publishers,
                reply,
            } => {
                let _ = reply.send(self.offer_tracks(transport, tracks, publishers));
            }
            SubscriberCommand::ApplyAnswer { answer, reply } => {
                let _ = reply.send(self.apply_answer(transport, answer));
                transport.replay_early_stun();
            }
            SubscriberCommand::PublisherStarted { publisher, handle } => {
                self.publisher_started(publisher, handle);
            }
        }
    }

    /// Writes a forwarded packet on its sent track.
    fn on_forward(&mut self, transport: &mut Transport, forwarded: Arc<ForwardedPacket>) {
        if !transport.connected() {
            // No SRTP keys yet: `rtc` would refuse (and log) every packet.
            return;
        }
        if self.subscriptions.version() != self.subscriptions_version {
            self.apply_subscriptions();
        }
        let now = Instant::now();
        if now >= self.next_allocation {
            self.next_allocation = now + ALLOCATION_INTERVAL;
            self.share_downlink(transport, now);
        }
        let Some(down) = self.down.get_mut(&forwarded.track) else {
            return;
        };
        let Some(mut sender) = transport.pc.rtp_sender(down.sender_id) else {
            return;
        };
        let payload_type = match down.payload_type {
            Some(pt) => pt,
            None => {
                let found = sender
                    .get_parameters()
                    .rtp_parameters
                    .codecs
                    .iter()
                    .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(&down.mime_type))
                    .map(|c| c.payload_type);
                let Some(pt) = found else { return };
                down.payload_type = Some(pt);
                pt
            }
        };
        let mut packet = forwarded.packet.clone();
        let outcome = down.forward(
            &mut packet,
            forwarded.layer,
            forwarded.generation,
            payload_type,
            now,
        );
        if let Some(layer) = outcome.keyframe_request {
            // Waiting for a keyframe to start or switch: ask the publisher (again).
            request_keyframe(&self.publishers, &forwarded.track, layer);
        }
        if !outcome.send {
            return;
        }
        let bytes = packet.payload.len() as u64 + 12;
        if sender.write_rtp(now, packet).is_ok() {
            transport.count_forwarded(bytes, forwarded.received_at);
        }
    }

    fn on_connected(&mut self, _transport: &mut Transport) {
        // Whatever keyframe was requested before DTLS was up never reached this
        // subscriber.
        for down in self.down.values_mut() {
            down.await_keyframe();
        }
        self.request_keyframes_for_waiting_tracks(true);
    }

    /// Passes PLI/FIR for a sent track on to its publisher.
    fn on_rtcp(
        &mut self,
        _transport: &mut Transport,
        track_id: &str,
        packets: &[Box<dyn rtc::rtcp::packet::Packet>],
    ) {
        for packet in packets {
            let any = packet.as_any();
            let media_ssrc = if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                pli.media_ssrc
            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                fir.fir.first().map(|e| e.ssrc).unwrap_or(fir.media_ssrc)
            } else {
                continue;
            };
            let key = self
                .down_by_ssrc
                .get(&media_ssrc)
                .or_else(|| self.down_by_local_track.get(track_id));
            if let Some(key) = key {
                tracing::debug!(
                    publisher = %key.publisher,
                    track = %key.track_id,
                    "relaying a keyframe request"
                );
                let layer = self.down.get(key).and_then(DownTrack::current_layer);
                request_keyframe(&self.publishers, key, layer);
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.limited_gauge.sub(self.limited);
    }
}

/// Asks the publisher PC of `track` for a keyframe (of one simulcast layer, if given).
fn request_keyframe(
    publishers: &HashMap<String, PublisherHandle>,
    track: &TrackKey,
    layer: Option<u8>,
) {
    if let Some(publisher) = publishers.get(&track.publisher) {
        publisher.send(PublisherCommand::RequestKeyframe {
            track_id: track.track_id.clone(),
            layer,
        });
    }
}

impl Subscriber {
    /// Makes the sent tracks exactly `tracks`, subscribes each at its publisher PC
    /// (again, if that PC changed) and offers.
    fn offer_tracks(
        &mut self,
        transport: &mut Transport,
        tracks: Vec<PublishedTrack>,
        publishers: HashMap<String, PublisherHandle>,
    ) -> Result<String, ControlError> {
        let subscriptions = self.subscriptions.get();
        let quality_of = |publisher: &str| subscriptions.quality_of(publisher);
        let wanted: HashMap<Arc<TrackKey>, PublishedTrack> = tracks
            .into_iter()
            .map(|t| (Arc::clone(&t.key), t))
            .collect();
        let gone: Vec<Arc<TrackKey>> = self
            .down
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(down) = self.down.remove(&key) {
                self.down_by_ssrc.remove(&down.ssrc);
                self.down_by_local_track.retain(|_, k| *k != key);
                if let Err(err) = transport.pc.remove_track(down.sender_id) {
                    tracing::debug!(error = %err, "removing a sent track failed");
                }
                if let Some(publisher) = self.publishers.get(&key.publisher) {
                    publisher.send(PublisherCommand::RemoveDownTrack {
                        track_id: key.track_id.clone(),
                        down: self.me.clone(),
                    });
                }
            }
        }
        let previous = std::mem::replace(&mut self.publishers, publishers);
        let mut added = Vec::new();
        for (key, track) in wanted {
            if self.down.contains_key(&key) {
                continue;
            }
            let ssrc = rand::random::<u32>();
            let local_track_id = format!("{}-{}", key.publisher, key.track_id);
            let kind = match track.kind {
                MediaKind::Audio => RtpCodecKind::Audio,
                MediaKind::Video => RtpCodecKind::Video,
            };
            let media_track = MediaStreamTrack::new(
                key.publisher.clone(),
                local_track_id.clone(),
                format!("{} {}", key.publisher, track.kind),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: track.codec.clone(),
                    ..Default::default()
                }],
            );
            let sender_id = transport
                .pc
                .add_track(media_track)
                .map_err(transport_error)?;
            self.down.insert(
                Arc::clone(&key),
                DownTrack::new(
                    sender_id,
                    ssrc,
                    track.codec.mime_type.clone(),
                    track.codec.clock_rate,
                    quality_of(&key.publisher),
                ),
            );
            self.down_by_ssrc.insert(ssrc, Arc::clone(&key));
            self.down_by_local_track
                .insert(local_track_id, Arc::clone(&key));
            added.push(key);
        }
        // New tracks subscribe; kept ones too if their publisher PC is a new one.
        for key in self.down.keys() {
            let moved = match (
                self.publishers.get(&key.publisher),
                previous.get(&key.publisher),
            ) {
                (Some(now), Some(before)) => !now.same_peer(before),
                _ => true,
            };
            if moved || added.contains(key) {
                self.subscribe(key);
            }
        }
        // Tracks already sent follow a change made since they were last set.
        self.apply_subscriptions();
        let now = Instant::now();
        let offer = transport.pc.create_offer(None).map_err(transport_error)?;
        transport
            .pc
            .set_local_description(now, offer)
            .map_err(transport_error)?;
        transport
            .pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| transport_error("the SFU produced no offer"))
    }

    fn apply_answer(
        &mut self,
        transport: &mut Transport,
        answer: RTCSessionDescription,
    ) -> Result<(), ControlError> {
        transport
            .pc
            .set_remote_description(Instant::now(), answer)
            .map_err(invalid_sdp)?;
        for down in self.down.values_mut() {
            down.payload_type = None;
        }
        // New subscribers need a keyframe to start decoding.
        self.request_keyframes_for_waiting_tracks(transport.connected());
        Ok(())
    }

    /// Asks the publisher PC of `key` to send the track here.
    fn subscribe(&self, key: &TrackKey) {
        if let Some(publisher) = self.publishers.get(&key.publisher) {
            publisher.send(PublisherCommand::AddDownTrack {
                track_id: key.track_id.clone(),
                down: self.me.clone(),
            });
        }
    }

    /// `publisher` publishes from a new PC: the tracks of it sent here subscribe there.
    fn publisher_started(&mut self, publisher: String, handle: PublisherHandle) {
        let keys: Vec<Arc<TrackKey>> = self
            .down
            .keys()
            .filter(|k| k.publisher == publisher)
            .cloned()
            .collect();
        if keys.is_empty()
            || self
                .publishers
                .get(&publisher)
                .is_some_and(|known| known.same_peer(&handle))
        {
            return;
        }
        self.publishers.insert(publisher, handle);
        for key in keys {
            self.subscribe(&key);
        }
    }

    /// Shares the downlink estimate among the sent video tracks, after the audio
    /// sent: each is limited to the layers that fit, or paused. Without an
    /// estimate (a client that reports no arrivals) nothing is limited.
    fn share_downlink(&mut self, transport: &Transport, now: Instant) {
        let mut keys = Vec::new();
        let mut demands = Vec::new();
        let mut audio = 0;
        for (key, down) in &self.down {
            if down.is_video() {
                keys.push(Arc::clone(key));
                demands.push(VideoDemand {
                    wanted: down.wanted_layer(),
                    layer_rates: down.rates().rates(),
                    allowance: down.allowance(),
                });
            } else {
                audio += down.rates().total();
            }
        }
        tracing::trace!(estimate = ?self.estimate.get(), audio, "sharing the downlink");
        let allowances = match self.estimate.get() {
            Some(estimate) => bandwidth::allocate(estimate.saturating_sub(audio), &demands),
            None => vec![Allowance::Unlimited; demands.len()],
        };
        self.narrow_since
            .retain(|key, _| self.down.contains_key(key));
        let mut limited = 0;
        for ((key, allowance), demand) in keys.iter().zip(allowances).zip(&demands) {
            let Some(down) = self.down.get_mut(key) else {
                continue;
            };
            let mut since = self.narrow_since.get(key).copied();
            let allowance =
                bandwidth::hold_pause(allowance, demand.lowest_layer(), &mut since, now);
            match since {
                Some(since) => self.narrow_since.insert(Arc::clone(key), since),
                None => self.narrow_since.remove(key),
            };
            if allowance != Allowance::Unlimited {
                limited += 1;
            }
            let before = down.allowance();
            if before == allowance {
                continue;
            }
            down.set_allowance(allowance);
            transport.ctx.metrics.bandwidth_limit_changes.inc();
            tracing::debug!(
                publisher = %key.publisher,
                track = %key.track_id,
                estimate = ?self.estimate.get(),
                ?before,
                after = ?allowance,
                "downlink limit changed"
            );
            if before == Allowance::Paused {
                request_keyframe(&self.publishers, key, None);
            }
        }
        self.limited_gauge.add(limited - self.limited);
        self.limited = limited;
    }

    /// Sets every sent video track to the quality the current subscriptions give
    /// its publisher.
    fn apply_subscriptions(&mut self) {
        self.subscriptions_version = self.subscriptions.version();
        let subscriptions = self.subscriptions.get();
        for (key, down) in self.down.iter_mut() {
            down.set_quality(subscriptions.quality_of(&key.publisher));
        }
    }

    /// Asks the publishers of every sent track still waiting for a keyframe for one
    /// (once connected; before that it could not be delivered).
    fn request_keyframes_for_waiting_tracks(&mut self, connected: bool) {
        if !connected {
            return;
        }
        let now = Instant::now();
        for (key, down) in self.down.iter_mut() {
            if down.keyframe_request_due(now, Duration::ZERO) {
                request_keyframe(&self.publishers, key, None);
            }
        }
    }
}
