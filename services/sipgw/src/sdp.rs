//! The SDP of a gateway call: the offer the gateway sends (G.711 both
//! laws, telephone events), what it needs from the answer, and its answer to
//! a device's offer (Opus when the device offers it, else G.711).

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use rtc::sdp::description::session::SessionDescription;

use crate::codec::{Codec, OPUS_CLOCK};
use crate::g711::Law;

/// RTP payload type of telephone events (RFC 4733) in our offer.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// The offer: one audio stream on `rtp` with PCMA, PCMU and telephone events.
pub fn offer(rtp: SocketAddr, session_id: u64) -> String {
    let ip = rtp.ip();
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    format!(
        "v=0\r\n\
         o=yunhui {session_id} {session_id} IN {family} {ip}\r\n\
         s=yunhui\r\n\
         c=IN {family} {ip}\r\n\
         t=0 0\r\n\
         m=audio {port} RTP/AVP 8 0 {TELEPHONE_EVENT_PT}\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:{TELEPHONE_EVENT_PT} telephone-event/8000\r\n\
         a=fmtp:{TELEPHONE_EVENT_PT} 0-15\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n",
        port = rtp.port(),
    )
}

/// What the far end answered (or offered): where to send RTP, in which
/// codec, and its telephone-event payload type if it sends DTMF that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The far end's RTP address.
    pub rtp: SocketAddr,
    /// The codec of the call: Opus (`opus/48000/2`) when it is listed,
    /// else the first G.711 law listed.
    pub codec: Codec,
    /// Payload type of its RFC 4733 telephone events, if any.
    pub telephone_event: Option<u8>,
    /// The events' RTP clock: 8 kHz, or 48 kHz beside Opus when the device
    /// offers that.
    pub event_clock: u32,
}

/// Our answer to a device's offer: its codec (under its payload type), and
/// telephone events when it offered them.
pub fn answer_to(rtp: SocketAddr, offer: &Answer, session_id: u64) -> String {
    let ip = rtp.ip();
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    let codec = offer.codec;
    let pt = codec.payload_type();
    let mut sdp = format!(
        "v=0\r\n\
         o=yunhui {session_id} {session_id} IN {family} {ip}\r\n\
         s=yunhui\r\n\
         c=IN {family} {ip}\r\n\
         t=0 0\r\n",
    );
    match offer.telephone_event {
        Some(event) => sdp.push_str(&format!(
            "m=audio {port} RTP/AVP {pt} {event}\r\n\
             a=rtpmap:{pt} {rtpmap}\r\n\
             a=rtpmap:{event} telephone-event/{clock}\r\n\
             a=fmtp:{event} 0-15\r\n",
            port = rtp.port(),
            rtpmap = codec.rtpmap(),
            clock = offer.event_clock,
        )),
        None => sdp.push_str(&format!(
            "m=audio {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {rtpmap}\r\n",
            port = rtp.port(),
            rtpmap = codec.rtpmap(),
        )),
    }
    if let Codec::Opus { .. } = codec {
        // The gateway sends mono and takes either.
        sdp.push_str(&format!("a=fmtp:{pt} stereo=0;sprop-stereo=0\r\n"));
    }
    sdp.push_str("a=ptime:20\r\na=sendrecv\r\n");
    sdp
}

/// Reads the far end's answer (or a device's offer).
pub fn answer(sdp: &[u8]) -> Result<Answer, String> {
    let session = SessionDescription::unmarshal(&mut Cursor::new(sdp))
        .map_err(|e| format!("the answer's SDP is unreadable: {e}"))?;
    let media = session
        .media_descriptions
        .iter()
        .find(|m| m.media_name.media == "audio" && m.media_name.port.value > 0)
        .ok_or("the answer accepts no audio stream")?;
    let listed = |pt: u8| {
        media
            .media_name
            .formats
            .iter()
            .any(|f| f == &pt.to_string())
    };
    let rtpmaps = || {
        media
            .attributes
            .iter()
            .filter(|a| a.key == "rtpmap")
            .filter_map(|a| a.value.as_deref())
            .filter_map(|v| {
                let (pt, codec) = v.split_once(' ')?;
                let pt = pt.trim().parse::<u8>().ok()?;
                listed(pt).then(|| (pt, codec.trim().to_ascii_lowercase()))
            })
    };
    let opus = rtpmaps()
        .find(|(_, codec)| codec == "opus/48000/2")
        .map(|(payload_type, _)| Codec::Opus { payload_type });
    let codec = match opus {
        Some(opus) => opus,
        None => media
            .media_name
            .formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .find_map(Law::from_payload_type)
            .map(Codec::G711)
            .ok_or("the answer accepts neither Opus nor PCMA nor PCMU")?,
    };
    let address = media
        .connection_information
        .as_ref()
        .or(session.connection_information.as_ref())
        .and_then(|c| c.address.as_ref())
        .ok_or("the answer has no connection address")?;
    let ip: IpAddr = address.address.parse().map_err(|_| {
        format!(
            "the answer's address {:?} is not an IP address",
            address.address
        )
    })?;
    let port = u16::try_from(media.media_name.port.value)
        .map_err(|_| "the answer's audio port is out of range".to_string())?;
    // Events on the audio's clock when offered (Opus's 48 kHz), else 8 kHz.
    let event_at = |clock: u32| {
        rtpmaps()
            .find(|(_, codec)| {
                codec
                    .strip_prefix("telephone-event/")
                    .and_then(|rate| rate.split('/').next())
                    .is_some_and(|rate| rate == clock.to_string())
            })
            .map(|(pt, _)| (pt, clock))
    };
    let events = match codec {
        Codec::Opus { .. } => event_at(OPUS_CLOCK).or_else(|| event_at(8_000)),
        Codec::G711(_) => event_at(8_000),
    };
    Ok(Answer {
        rtp: SocketAddr::new(ip, port),
        codec,
        telephone_event: events.map(|(pt, _)| pt),
        event_clock: events.map_or(8_000, |(_, clock)| clock),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_reads_back_as_an_answer_in_its_first_law() {
        let rtp: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let parsed = answer(offer(rtp, 42).as_bytes()).unwrap();
        assert_eq!(
            parsed,
            Answer {
                rtp,
                codec: Codec::G711(Law::Pcma),
                telephone_event: Some(TELEPHONE_EVENT_PT),
                event_clock: 8_000,
            }
        );
        // Answering a device's offer keeps its law and its events.
        let ours: SocketAddr = "192.0.2.9:30000".parse().unwrap();
        let back = answer(answer_to(ours, &parsed, 7).as_bytes()).unwrap();
        assert_eq!(back.rtp, ours);
        assert_eq!(back.codec, Codec::G711(Law::Pcma));
        assert_eq!(back.telephone_event, Some(TELEPHONE_EVENT_PT));
    }

    #[test]
    fn an_answer_takes_the_first_law_the_far_end_lists() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n\
                   m=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n";
        let parsed = answer(sdp.as_bytes()).unwrap();
        assert_eq!(parsed.codec, Codec::G711(Law::Pcmu));
        assert_eq!(
            parsed.telephone_event, None,
            "101 has no rtpmap: not events"
        );
        assert_eq!(parsed.rtp, "10.1.1.1:6000".parse::<SocketAddr>().unwrap());
    }

    #[test]
    fn unusable_answers_say_why() {
        let sdp = |connection: &str, media: &str| {
            format!("v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\n{connection}t=0 0\r\n{media}")
        };
        let c = "c=IN IP4 10.1.1.1\r\n";
        let no_law = sdp(c, "m=audio 6000 RTP/AVP 18\r\n");
        assert!(
            answer(no_law.as_bytes())
                .unwrap_err()
                .contains("neither Opus nor PCMA nor PCMU")
        );
        let rejected = sdp(c, "m=audio 0 RTP/AVP 0\r\n");
        assert!(
            answer(rejected.as_bytes())
                .unwrap_err()
                .contains("no audio")
        );
        let no_address = sdp("", "m=audio 6000 RTP/AVP 0\r\n");
        assert!(
            answer(no_address.as_bytes())
                .unwrap_err()
                .contains("connection address")
        );
        assert!(answer(b"garbage").unwrap_err().contains("unreadable"));
    }

    fn offer_of(media: &str) -> String {
        format!("v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n{media}")
    }

    #[test]
    fn opus_is_chosen_over_g711_under_the_devices_payload_type() {
        let offer = offer_of(
            "m=audio 6000 RTP/AVP 0 8 96 101 102\r\n\
             a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:96 OPUS/48000/2\r\na=fmtp:96 useinbandfec=1\r\n\
             a=rtpmap:101 telephone-event/48000\r\na=rtpmap:102 telephone-event/8000\r\n",
        );
        let parsed = answer(offer.as_bytes()).unwrap();
        assert_eq!(parsed.codec, Codec::Opus { payload_type: 96 });
        assert_eq!(
            (parsed.telephone_event, parsed.event_clock),
            (Some(101), 48_000),
            "events on Opus's clock"
        );
        let ours: SocketAddr = "192.0.2.9:30000".parse().unwrap();
        let text = answer_to(ours, &parsed, 7);
        assert!(text.contains("m=audio 30000 RTP/AVP 96 101\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:96 opus/48000/2\r\n"), "{text}");
        assert!(
            text.contains("a=rtpmap:101 telephone-event/48000\r\n"),
            "{text}"
        );
        assert!(!text.contains("PCM"), "one codec answered: {text}");
        let back = answer(text.as_bytes()).unwrap();
        assert_eq!(
            (back.codec, back.telephone_event),
            (parsed.codec, Some(101))
        );
    }

    #[test]
    fn opus_needs_its_rtpmap_listed_in_the_media_line() {
        // An Opus rtpmap whose payload type the m-line does not list, or
        // Opus at another rate, is not Opus on offer: G.711 it is.
        for media in [
            "m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:96 opus/48000/2\r\n\
             a=rtpmap:101 telephone-event/8000\r\n",
            "m=audio 6000 RTP/AVP 96 8 101\r\na=rtpmap:96 opus/16000/1\r\n\
             a=rtpmap:101 telephone-event/8000\r\n",
        ] {
            let parsed = answer(offer_of(media).as_bytes()).unwrap();
            assert_eq!(parsed.codec, Codec::G711(Law::Pcma), "{media}");
            assert_eq!(
                (parsed.telephone_event, parsed.event_clock),
                (Some(101), 8_000)
            );
        }
        // Opus alone, without events: no keypad, still a call.
        let parsed = answer(
            offer_of("m=audio 6000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(parsed.codec, Codec::Opus { payload_type: 111 });
        assert_eq!(parsed.telephone_event, None);
        // Neither: refused, saying why.
        let refused =
            answer(offer_of("m=audio 6000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n").as_bytes())
                .unwrap_err();
        assert!(
            refused.contains("neither Opus nor PCMA nor PCMU"),
            "{refused}"
        );
    }
}
