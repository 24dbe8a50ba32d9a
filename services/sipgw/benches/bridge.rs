//! The gateway's audio work per call, without the network: each 20 ms the
//! meeting's speakers are decoded from Opus and mixed, the mix is companded
//! to G.711 for the device, and the device's G.711 is expanded and encoded
//! to Opus for the SFU. Prints the CPU share one call takes and how many
//! calls one core carries, for 1, 3 and 10 people speaking at once.
//!
//! `cargo bench -p yunhui-sipgw --bench bridge [-- --seconds 30]`

use std::time::Instant;

use bytes::Bytes;
use opus_rs::{Application, OpusEncoder};
use yunhui_client::media::AudioPacket;
use yunhui_sipgw::bridge::{FRAME, Mixer, Uplink};
use yunhui_sipgw::g711::Law;

fn main() {
    let mut seconds = 30u32;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--seconds"
            && let Some(value) = args.next().and_then(|v| v.parse().ok())
        {
            seconds = value;
        }
    }
    let frames = seconds * 50;
    println!("{seconds} s of audio per run (release build, one thread)");
    println!("speakers | CPU per call | calls per core");
    for speakers in [1usize, 3, 10] {
        // What the browsers send: 20 ms Opus frames of speech-like tones.
        let mut encoder = OpusEncoder::new(48_000, 1, Application::Voip).expect("encoder");
        let mut out = [0u8; 1500];
        let packets: Vec<Bytes> = (0..50u32)
            .map(|f| {
                let pcm: Vec<f32> = (0..960u32)
                    .map(|i| {
                        let t = f64::from(f * 960 + i) / 48_000.0;
                        (0.2 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
                            + 0.1 * (2.0 * std::f64::consts::PI * 1250.0 * t).sin())
                            as f32
                    })
                    .collect();
                let n = encoder.encode(&pcm, 960, &mut out).expect("encode");
                Bytes::copy_from_slice(&out[..n])
            })
            .collect();
        let device: Vec<u8> = (0..FRAME)
            .map(|i| {
                let x = (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin();
                Law::Pcma.encode((x * 8000.0) as i16)
            })
            .collect();
        let ids: Vec<std::sync::Arc<str>> = (0..speakers)
            .map(|s| format!("speaker-{s}").into())
            .collect();
        let mut mixer = Mixer::default();
        let mut uplink = Uplink::new().expect("uplink");
        let started = Instant::now();
        let mut sent = 0usize;
        for frame in 0..frames {
            for id in &ids {
                mixer.push(&AudioPacket {
                    stream_id: id.clone(),
                    sequence_number: frame as u16,
                    timestamp: frame * 960,
                    payload: packets[(frame % 50) as usize].clone(),
                });
            }
            let mix = mixer.mix();
            let to_device: Vec<u8> = mix.iter().map(|s| Law::Pcma.encode(*s)).collect();
            std::hint::black_box(&to_device);
            let from_device: Vec<i16> = device.iter().map(|c| Law::Pcma.decode(*c)).collect();
            sent += uplink.push(&from_device).len();
        }
        let busy = started.elapsed().as_secs_f64();
        assert_eq!(sent, frames as usize, "one Opus packet per 20 ms");
        let share = busy / f64::from(seconds);
        println!(
            "{speakers:>8} | {:>10.2} % | {:>14.0}",
            share * 100.0,
            1.0 / share
        );
    }
}
