//! Session descriptions from outside: a SIP device's offer, which the
//! gateway either refuses with a reason or answers (and its own answer must
//! read back with the same address, codec and telephone events), and a WebRTC
//! publisher's offer, whose tracks the SFU reads.
#![no_main]

use std::net::SocketAddr;

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rtc::sdp::description::session::SessionDescription;
use yunhui_sfu::forwarding::offered_tracks;
use yunhui_sipgw::sdp;

fuzz_target!(|data: &[u8]| {
    match sdp::answer(data) {
        Err(reason) => assert!(!reason.is_empty(), "a refusal says why"),
        Ok(offer) => {
            let ours: SocketAddr = "192.0.2.10:40000".parse().expect("an address");
            let text = sdp::answer_to(ours, &offer, 7);
            let back = sdp::answer(text.as_bytes())
                .unwrap_or_else(|e| panic!("our own answer does not parse ({e}):\n{text}"));
            assert_eq!(back.rtp, ours, "our answer names our media address");
            assert_eq!(
                back.codec, offer.codec,
                "our answer keeps the device's codec"
            );
            assert_eq!(back.telephone_event, offer.telephone_event);
            if offer.telephone_event.is_some() {
                assert_eq!(back.event_clock, offer.event_clock);
            }
        }
    }
    if let Ok(session) = SessionDescription::unmarshal(&mut Cursor::new(data)) {
        let tracks = offered_tracks(&session);
        let mut mids = std::collections::HashSet::new();
        for track in &tracks {
            assert!(!track.mid.is_empty(), "a track has a mid");
            assert!(mids.insert(&track.mid), "one track per mid");
        }
    }
});
