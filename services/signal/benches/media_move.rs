//! Media moved between SFU nodes: how long the media of SDK participants
//! stops when their meeting's node leaves (what `yunhui-sfu` reports when
//! its drain runs out) and signal moves the meeting to another node.
//!
//! Signal and the SFU nodes run in this process, each node with its own UDP
//! media port, its own internal API on loopback and its own reports to
//! signal, as in a pool. `--meetings` meetings of two participants each
//! publish audio (50 packets/s) and video (30 frames/s) and receive each
//! other's. Each round starts a fresh node, makes the node holding the
//! meetings leave, and waits until every track flows again; it prints the
//! time until every room was on the new node and, over all tracks, the
//! median and the longest silence of audio and of video.
//!
//! ```sh
//! cargo bench -p yunhui-signal --bench media_move -- --meetings 4 --rounds 3
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use anyhow::bail;
use support::pool::{Node, PoolSignal, host, publishing_pair, receives, wait_for_nodes};
use yunhui_client::gaps::MediaGaps;
use yunhui_client::media::{SyntheticMedia, TrackKind};

struct Options {
    meetings: usize,
    rounds: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        meetings: 4,
        rounds: 3,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> anyhow::Result<usize> {
            let value = args.next().unwrap_or_default();
            match value.parse::<usize>() {
                Ok(n) if (1..=50).contains(&n) => Ok(n),
                _ => bail!("{name} takes a number from 1 to 50, not {value:?}"),
            }
        };
        match arg.as_str() {
            "--meetings" => options.meetings = number("--meetings")?,
            "--rounds" => options.rounds = number("--rounds")?,
            // What cargo bench passes to every bench target.
            "--bench" => {}
            other => bail!("unknown argument {other:?} (--meetings N, --rounds N)"),
        }
    }
    Ok(options)
}

fn media() -> SyntheticMedia {
    SyntheticMedia {
        video_bitrate: 300_000,
        video_fps: 30,
        ..SyntheticMedia::default()
    }
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let signal = PoolSignal::start().await;
    let mut node = Node::start("sfu-0", &signal).await;
    wait_for_nodes(&signal, &[("sfu-0", false)]).await;
    let host_api = host(&signal.base_url).await;
    let mut sessions = Vec::new();
    for i in 0..options.meetings {
        sessions.push(publishing_pair(&signal.base_url, &host_api, &i.to_string(), media()).await?);
    }
    let mut tracks = Vec::new();
    for (host, guest) in &sessions {
        for (receiver, sender) in [(host, guest), (guest, host)] {
            for kind in [TrackKind::Audio, TrackKind::Video] {
                receives(receiver, &sender.participant_id(), kind).await;
                let track = receiver.subscriber().track(&sender.participant_id(), kind);
                tracks.push((kind, track.expect("a received track")));
            }
        }
    }
    println!(
        "{} meetings, {} received tracks; each round moves every meeting to a new node",
        options.meetings,
        tracks.len()
    );
    println!(
        "| round | all rooms on the new node | audio silence median / max | video silence median / max |"
    );
    println!("| --- | --- | --- | --- |");
    let participants = 2 * options.meetings as u64;
    for round in 1..=options.rounds {
        let next = Node::start(&format!("sfu-{round}"), &signal).await;
        wait_for_nodes(
            &signal,
            &[(node.id.as_str(), false), (next.id.as_str(), false)],
        )
        .await;
        let gaps = MediaGaps::watch(tracks.iter().map(|(_, t)| t.clone()).collect());
        let left = Instant::now();
        node.reporter
            .as_ref()
            .expect("the node reports")
            .leave()
            .await?;
        while next.load().await != (options.meetings as u64, participants) {
            if left.elapsed() > Duration::from_secs(60) {
                bail!("the meetings did not move within a minute");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let moved = left.elapsed();
        // Until every track has had a second of media after the move.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let before: Vec<u64> = tracks.iter().map(|(_, t)| t.packets()).collect();
            tokio::time::sleep(Duration::from_millis(500)).await;
            let all = tracks
                .iter()
                .zip(before)
                .all(|((_, t), before)| t.packets() > before);
            if all {
                break;
            }
            if Instant::now() > deadline {
                bail!("some media did not come back within a minute");
            }
        }
        let measured = gaps.stop();
        let figures = |kind: TrackKind| {
            let mut gaps: Vec<Duration> = tracks
                .iter()
                .zip(&measured)
                .filter(|((k, _), _)| *k == kind)
                .map(|(_, gap)| gap.longest)
                .collect();
            gaps.sort();
            (gaps[gaps.len() / 2], gaps[gaps.len() - 1])
        };
        let (audio_median, audio_max) = figures(TrackKind::Audio);
        let (video_median, video_max) = figures(TrackKind::Video);
        println!(
            "| {round} | {} ms | {} / {} ms | {} / {} ms |",
            millis(moved),
            millis(audio_median),
            millis(audio_max),
            millis(video_median),
            millis(video_max)
        );
        node.stop().await;
        node = next;
    }
    for (host, guest) in sessions {
        host.close().await;
        guest.close().await;
    }
    Ok(())
}
