//! The SDP of a gateway call: the offer the gateway sends (G.711 both
//! laws, telephone events) and what it needs from the answer.

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use rtc::sdp::description::session::SessionDescription;

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
/// law, and its telephone-event payload type if it sends DTMF that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The far end's RTP address.
    pub rtp: SocketAddr,
    /// The first law of ours it accepted.
    pub law: Law,
    /// Payload type of its RFC 4733 telephone events, if any.
    pub telephone_event: Option<u8>,
}

/// Our answer to a device's offer: its law, and telephone events when it
/// offered them.
pub fn answer_to(rtp: SocketAddr, offer: &Answer, session_id: u64) -> String {
    let ip = rtp.ip();
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    let law = offer.law;
    let pt = law.payload_type();
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
             a=rtpmap:{pt} {name}/8000\r\n\
             a=rtpmap:{event} telephone-event/8000\r\n\
             a=fmtp:{event} 0-15\r\n",
            port = rtp.port(),
            name = law.name(),
        )),
        None => sdp.push_str(&format!(
            "m=audio {port} RTP/AVP {pt}\r\na=rtpmap:{pt} {name}/8000\r\n",
            port = rtp.port(),
            name = law.name(),
        )),
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
    let law = media
        .media_name
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find_map(Law::from_payload_type)
        .ok_or("the answer accepts neither PCMA nor PCMU")?;
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
    let telephone_event = media
        .attributes
        .iter()
        .filter(|a| a.key == "rtpmap")
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| {
            let (pt, codec) = v.split_once(' ')?;
            codec
                .to_ascii_lowercase()
                .starts_with("telephone-event/8000")
                .then(|| pt.parse::<u8>().ok())
                .flatten()
        })
        .filter(|pt| {
            media
                .media_name
                .formats
                .iter()
                .any(|f| f == &pt.to_string())
        });
    Ok(Answer {
        rtp: SocketAddr::new(ip, port),
        law,
        telephone_event,
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
                law: Law::Pcma,
                telephone_event: Some(TELEPHONE_EVENT_PT)
            }
        );
        // Answering a device's offer keeps its law and its events.
        let ours: SocketAddr = "192.0.2.9:30000".parse().unwrap();
        let back = answer(answer_to(ours, &parsed, 7).as_bytes()).unwrap();
        assert_eq!(back.rtp, ours);
        assert_eq!(back.law, Law::Pcma);
        assert_eq!(back.telephone_event, Some(TELEPHONE_EVENT_PT));
    }

    #[test]
    fn an_answer_takes_the_first_law_the_far_end_lists() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n\
                   m=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n";
        let parsed = answer(sdp.as_bytes()).unwrap();
        assert_eq!(parsed.law, Law::Pcmu);
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
                .contains("neither PCMA nor PCMU")
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
}
