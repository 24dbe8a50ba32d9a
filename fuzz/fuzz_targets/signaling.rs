//! A signaling frame as a client sends it: signal's parser must answer every
//! input with a message or an error code, and whatever it accepts must
//! survive a round trip through the wire form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunhui_proto::signaling::ClientMessage;
use yunhui_signal::live::signaling::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = parse(text) {
        let wire = serde_json::to_string(&message).expect("an accepted message serializes");
        let again: ClientMessage = parse(&wire).expect("a serialized message parses again");
        assert_eq!(again, message, "the round trip changed the message");
    }
});
