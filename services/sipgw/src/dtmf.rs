//! Keys pressed on a device: RFC 4733 telephone events in RTP, and the
//! tones the gateway plays while it waits for them (meeting number and
//! password by keypad, F-SIP-1).

use crate::bridge::FRAME;

/// Turns telephone-event packets into key presses, once per press (the end
/// of an event is sent three times).
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    last_end: Option<(u32, u8)>,
}

impl DtmfReceiver {
    /// The key an event packet (RTP `timestamp`, `payload`) completes, if any.
    pub fn push(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let (&event, &flags) = (payload.first()?, payload.get(1)?);
        if flags & 0x80 == 0 {
            // A key held down: its end comes later.
            self.last_end = None;
            return None;
        }
        if self.last_end == Some((timestamp, event)) {
            return None;
        }
        self.last_end = Some((timestamp, event));
        match event {
            0..=9 => char::from_digit(u32::from(event), 10),
            10 => Some('*'),
            11 => Some('#'),
            _ => None,
        }
    }
}

/// `ms` of a sine at `hz` (8 kHz samples), then `gap_ms` of silence, in
/// whole 20 ms packets.
pub fn tone(hz: f64, ms: usize, gap_ms: usize) -> Vec<i16> {
    let samples = ms * 8;
    let mut out: Vec<i16> = (0..samples)
        .map(|i| ((2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin() * 6000.0) as i16)
        .collect();
    out.resize((samples + gap_ms * 8).div_ceil(FRAME) * FRAME, 0);
    out
}

/// "Key in the meeting number, then #": one rising pair of beeps.
pub fn ask_for_number() -> Vec<i16> {
    [tone(660.0, 200, 50), tone(880.0, 200, 0)].concat()
}

/// "Key in the password, then #": two short high beeps.
pub fn ask_for_password() -> Vec<i16> {
    [tone(880.0, 150, 100), tone(880.0, 150, 0)].concat()
}

/// "That was wrong": one low tone, before asking again.
pub fn wrong() -> Vec<i16> {
    tone(330.0, 500, 250)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_press_counts_once_and_keys_map_to_characters() {
        let mut keys = DtmfReceiver::default();
        let mut pressed = String::new();
        // Key 1 held for three packets, its end sent three times; then #
        // with the same timestamp (some senders reuse it), then 0 and *.
        for (ts, event, end) in [
            (100, 1, false),
            (100, 1, false),
            (100, 1, true),
            (100, 1, true),
            (100, 1, true),
            (100, 11, false),
            (100, 11, true),
            (100, 11, true),
            (900, 0, true),
            (900, 0, true),
            (1700, 10, false),
            (1700, 10, true),
            (1700, 16, true),
        ] {
            let payload = [event, if end { 0x8a } else { 0x0a }, 0x01, 0x40];
            if let Some(key) = keys.push(ts, &payload) {
                pressed.push(key);
            }
        }
        assert_eq!(pressed, "1#0*", "event 16 (flash) is no key");
        assert_eq!(keys.push(1, &[1]), None, "a short payload is ignored");
    }

    #[test]
    fn prompts_are_whole_packets_of_sound() {
        for prompt in [ask_for_number(), ask_for_password(), wrong()] {
            assert_eq!(prompt.len() % FRAME, 0);
            assert!(prompt.iter().any(|s| s.abs() > 3000));
        }
    }
}
