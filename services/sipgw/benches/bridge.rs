//! The gateway's audio work per call, without the network: each 20 ms the
//! meeting's speakers are decoded from Opus and mixed, the mix is encoded
//! for the device (companded to G.711 at 8 kHz, or Opus at 48 kHz for a
//! device that offered it), and the device's audio is decoded and encoded
//! to Opus for the SFU. Prints the CPU share one call takes and how many
//! calls one core carries, for 1, 3 and 10 people speaking at once.
//!
//! `cargo bench -p yunhui-sipgw --bench bridge [-- --seconds 30]`

use std::time::Instant;

use bytes::Bytes;
use opus_rs::{Application, OpusEncoder};
use yunhui_client::media::AudioPacket;
use yunhui_sipgw::bridge::{Mixer, Uplink};
use yunhui_sipgw::codec::{Codec, DeviceDecoder, DeviceEncoder, frame_len};
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
    println!("device codec | speakers | CPU per call | calls per core");
    for (codec, speakers) in [Codec::G711(Law::Pcma), Codec::Opus { payload_type: 111 }]
        .into_iter()
        .flat_map(|codec| [1usize, 3, 10].map(|speakers| (codec, speakers)))
    {
        let rate = codec.sample_rate();
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
        // What the device sends: a 300 Hz tone in its codec.
        let mut device_encoder = DeviceEncoder::new(codec, rate).expect("device encoder");
        let device: Vec<Bytes> = (0..50u32)
            .map(|f| {
                let frame: Vec<i16> = (0..frame_len(rate) as u32)
                    .map(|i| {
                        let t = f64::from(f * rate / 50 + i) / f64::from(rate);
                        ((2.0 * std::f64::consts::PI * 300.0 * t).sin() * 8000.0) as i16
                    })
                    .collect();
                device_encoder.encode(&frame).expect("encodes")
            })
            .collect();
        let ids: Vec<std::sync::Arc<str>> = (0..speakers)
            .map(|s| format!("speaker-{s}").into())
            .collect();
        let mut mixer = Mixer::at(rate);
        let mut uplink = Uplink::at(rate).expect("uplink");
        let mut to_device = DeviceEncoder::new(codec, rate).expect("encoder");
        let mut from_device = DeviceDecoder::new(codec).expect("decoder");
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
            let mix = mixer.mix_frame();
            std::hint::black_box(to_device.encode(&mix));
            let samples = from_device.decode(&device[(frame % 50) as usize]);
            sent += uplink.push(&samples).len();
        }
        let busy = started.elapsed().as_secs_f64();
        assert_eq!(sent, frames as usize, "one Opus packet per 20 ms");
        let share = busy / f64::from(seconds);
        let name = match codec {
            Codec::G711(_) => "G.711 A-law",
            Codec::Opus { .. } => "Opus 48 kHz",
        };
        println!(
            "{name:>12} | {speakers:>8} | {:>10.2} % | {:>14.0}",
            share * 100.0,
            1.0 / share
        );
    }
}
