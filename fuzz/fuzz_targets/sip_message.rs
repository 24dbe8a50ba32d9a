//! A SIP datagram as the gateway's transport receives it: the message
//! parser, then what the gateway reads from a request (the meeting number in
//! the request URI, the caller's name, the SDP offer in the body).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rsipstack::sip::SipMessage;
use yunhui_sipgw::gateway::dial_in::{caller_name, meeting_number};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = SipMessage::try_from(data) else {
        return;
    };
    if let SipMessage::Request(request) = message {
        if let Some(number) = meeting_number(&request.uri) {
            assert!(number.len() >= 9 && number.len() <= 11);
            assert!(number.bytes().all(|b| b.is_ascii_digit()));
        }
        let name = caller_name(&request);
        assert!(!name.is_empty() && name.chars().count() <= 64);
        let _ = yunhui_sipgw::sdp::answer(&request.body);
    }
});
