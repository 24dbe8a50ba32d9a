//! Live streaming: the recording's WebM, as it is written, into ffmpeg,
//! which transcodes it to what every RTMP service takes (H.264 and AAC in
//! FLV) and pushes it.
//!
//! # Why ffmpeg, as a child process
//!
//! RTMP services expect H.264 and AAC, and the meeting's media is VP8 and
//! Opus, so a live stream is decoded and encoded again, unlike a recording.
//! That takes a VP8 decoder, an H.264 encoder, an AAC encoder and an
//! RTMP(S) client: ffmpeg (libvpx, libx264, its native AAC and RTMP) is the
//! well-kept implementation of all four, and running it as a child keeps
//! its C code out of the recorder's process (a crash of the encoder is a
//! retried stream, not a lost recorder) and lets the operating system
//! account for its CPU. The recorder image carries a static ffmpeg
//! (`YUNHUI_FFMPEG`); `yunhui up` uses the one on the `PATH`.
//!
//! The input is the same WebM a recording file gets
//! ([`crate::webm::SegmentWriter::stream`]): the speaker view's VP8 frames
//! as forwarded (which may change size at a keyframe: ffmpeg scales and
//! pads every picture to [`WIDTH`]x[`HEIGHT`]) and the mixed Opus.
//!
//! # The relay: names and TLS stay in Rust
//!
//! ffmpeg never connects to the service itself. It pushes plain RTMP to a
//! relay on loopback ([`Relay`]), which accepts that one connection and
//! carries it to the service: the service's name is resolved by the
//! recorder (the static ffmpeg of the image cannot resolve names), and for
//! `rtmps://` the TLS is rustls with the system's roots (server name
//! indication and certificate checks as for every other client of ours),
//! not ffmpeg's. The service still sees its own address in the RTMP
//! `tcUrl` (`-rtmp_tcurl`). A failure of the relay (no such host, refused,
//! a bad certificate, a dropped connection) is what the job reports.
//!
//! # One connection
//!
//! [`LiveEncoder`] is one ffmpeg process, so one connection to the service.
//! Its [`LiveEncoder::state`] goes from [`EncoderState::Connecting`] to
//! [`EncoderState::Live`] once bytes have gone out (ffmpeg's `-progress`
//! reports `total_size`), and to [`EncoderState::Exited`] when ffmpeg ends
//! — the service refused or dropped the connection, or the input ended. The
//! job ([`crate::job`]) retries with a new one.

use std::io::{self, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use yunhui_proto::recording::redact_stream_url;

/// Width of the streamed picture.
pub const WIDTH: u32 = 1280;
/// Height of the streamed picture.
pub const HEIGHT: u32 = 720;
/// Clusters (about a second each) that may wait for ffmpeg: more means it
/// has fallen behind (or hangs), and the connection is started again.
const BACKLOG_CLUSTERS: usize = 32;
/// How long a stopped stream's ffmpeg may take to send what it has and
/// close the connection before it is killed.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long reaching the service (name, TCP, TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A streaming service's address, from a push URL
/// (`rtmp[s]://host[:port]/app[/…]/key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `rtmps://`: TLS to the service.
    pub tls: bool,
    /// Its host name or IP address (without brackets).
    pub host: String,
    /// Its port: given, or 1935 (RTMP) or 443 (RTMPS).
    pub port: u16,
    /// The path: the application and the stream key.
    pub path: String,
}

impl Service {
    /// Reads `url`.
    pub fn parse(url: &str) -> Result<Service, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("rtmps://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("rtmp://") {
            (false, rest)
        } else {
            return Err("the push address must start with rtmp:// or rtmps://".into());
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6
                    .split_once(']')
                    .ok_or("the push address has an unclosed [")?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = match port {
            Some(port) => port
                .parse()
                .map_err(|_| format!("the push address's port {port:?} is not a number"))?,
            None if tls => 443,
            None => 1935,
        };
        if host.is_empty() || path.is_empty() {
            return Err("the push address needs a host and a path".into());
        }
        Ok(Service {
            tls,
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// What ffmpeg announces as the RTMP `tcUrl`: the service's own
    /// address up to the application (the key left out).
    pub fn tc_url(&self) -> String {
        let scheme = if self.tls { "rtmps" } else { "rtmp" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let app = self.path.rsplit_once('/').map_or("", |(app, _)| app);
        format!("{scheme}://{host}:{}/{app}", self.port)
    }
}

/// The rustls client settings of `rtmps://` (ring, the system's roots,
/// `SSL_CERT_FILE` honoured), made once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(format!(
                    "no trusted certificate authorities for rtmps:// ({:?})",
                    found.errors
                ));
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS settings: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// A one-connection relay on loopback from ffmpeg to the service; see the
/// module documentation. Stops when dropped.
pub struct Relay {
    port: u16,
    error: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Listens on a loopback port for ffmpeg's one connection to `service`.
    pub async fn start(service: Service) -> io::Result<Relay> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let error = Arc::new(Mutex::new(None));
        let failed = Arc::clone(&error);
        let task = tokio::spawn(async move {
            // Only the first connection: ffmpeg's.
            let Ok((from_ffmpeg, _)) = listener.accept().await else {
                return;
            };
            drop(listener);
            if let Err(why) = carry(from_ffmpeg, &service).await {
                tracing::debug!(%why, "the live stream's relay ended");
                *failed.lock().expect("relay error") = Some(why);
            }
        });
        Ok(Relay { port, error, task })
    }

    /// Why the relay failed, if it did.
    pub fn error(&self) -> Option<String> {
        self.error.lock().expect("relay error").clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects to `service` and carries bytes both ways until either side ends.
async fn carry(mut from_ffmpeg: TcpStream, service: &Service) -> Result<(), String> {
    let at = format!("{}:{}", service.host, service.port);
    let upstream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((service.host.as_str(), service.port)),
    )
    .await
    .map_err(|_| format!("connecting to {at} timed out"))?
    .map_err(|e| format!("connecting to {at}: {e}"))?;
    let _ = upstream.set_nodelay(true);
    let lost = |e: io::Error| format!("the connection to {at} was lost: {e}");
    if !service.tls {
        let mut upstream = upstream;
        return tokio::io::copy_bidirectional(&mut from_ffmpeg, &mut upstream)
            .await
            .map(|_| ())
            .map_err(lost);
    }
    let name = rustls_pki_types::ServerName::try_from(service.host.clone())
        .map_err(|e| format!("{:?} is not a host name for TLS: {e}", service.host))?;
    let connector = tokio_rustls::TlsConnector::from(tls_config()?);
    let mut upstream = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, upstream))
        .await
        .map_err(|_| format!("TLS with {at} timed out"))?
        .map_err(|e| format!("TLS with {at}: {e}"))?;
    tokio::io::copy_bidirectional(&mut from_ffmpeg, &mut upstream)
        .await
        .map(|_| ())
        .map_err(lost)
}

/// Where one connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncoderState {
    /// ffmpeg runs; nothing has reached the service yet.
    Connecting,
    /// The stream is going out.
    Live,
    /// ffmpeg ended, and why (its last error, the key left out).
    Exited(String),
}

/// ffmpeg's arguments: WebM on stdin; H.264 (baseline-friendly `main`
/// profile, 2 s keyframes for the services' segmenters) and AAC in FLV to
/// `url`; progress on stdout, errors only on stderr.
pub fn ffmpeg_args(url: &str, tc_url: &str) -> Vec<String> {
    let picture = format!(
        "scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,\
         pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=30"
    );
    [
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-stats_period",
        "1",
        "-probesize",
        "1000000",
        "-analyzeduration",
        "1000000",
        "-f",
        "matroska",
        "-i",
        "pipe:0",
        "-map",
        "0:v:0",
        "-map",
        "0:a:0",
        "-vf",
        &picture,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-profile:v",
        "main",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "60",
        "-keyint_min",
        "60",
        "-sc_threshold",
        "0",
        "-b:v",
        "2500k",
        "-maxrate",
        "2500k",
        "-bufsize",
        "5000k",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ar",
        "44100",
        "-ac",
        "2",
        "-f",
        "flv",
        "-flvflags",
        "no_duration_filesize",
        "-rtmp_tcurl",
        tc_url,
        url,
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// One ffmpeg process pushing to the service through a [`Relay`].
pub struct LiveEncoder {
    child: Child,
    relay: Relay,
    input: Option<mpsc::Sender<Vec<u8>>>,
    state: watch::Receiver<EncoderState>,
}

impl LiveEncoder {
    /// Starts `ffmpeg` pushing to `url` through a new relay. An error means
    /// ffmpeg could not be run at all (it is missing, most likely) or the
    /// address is unusable: retrying will not help.
    pub async fn start(ffmpeg: &Path, url: &str) -> io::Result<LiveEncoder> {
        let service =
            Service::parse(url).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tc_url = service.tc_url();
        let local = format!("rtmp://127.0.0.1:{{}}/{}", service.path);
        let relay = Relay::start(service).await?;
        let local = local.replace("{}", &relay.port.to_string());
        let mut child = Command::new(ffmpeg)
            .args(ffmpeg_args(&local, &tc_url))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "live streaming runs ffmpeg, which could not be started from {}: {e}",
                        ffmpeg.display()
                    ),
                )
            })?;
        let (state_tx, state) = watch::channel(EncoderState::Connecting);
        let (input, mut backlog) = mpsc::channel::<Vec<u8>>(BACKLOG_CLUSTERS);
        let mut stdin = child.stdin.take().expect("stdin is piped");
        tokio::spawn(async move {
            while let Some(bytes) = backlog.recv().await {
                if stdin.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            // Dropping stdin ends ffmpeg's input: it sends what it has and
            // closes the connection.
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let live = state_tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let sent = line
                    .strip_prefix("total_size=")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0);
                if sent {
                    live.send_if_modified(|s| {
                        let connecting = *s == EncoderState::Connecting;
                        if connecting {
                            *s = EncoderState::Live;
                        }
                        connecting
                    });
                }
            }
        });
        let stderr = child.stderr.take().expect("stderr is piped");
        let secret = local.clone();
        let redacted = redact_stream_url(url);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut last = None;
            while let Ok(Some(line)) = lines.next_line().await {
                let line = line.replace(&secret, &redacted);
                tracing::debug!(ffmpeg = %line, "live stream encoder");
                if !line.trim().is_empty() {
                    last = Some(line);
                }
            }
            // stderr closes when ffmpeg exits.
            let why = last.unwrap_or_else(|| "the encoder ended".to_string());
            let _ = state_tx.send(EncoderState::Exited(why));
        });
        Ok(LiveEncoder {
            child,
            relay,
            input: Some(input),
            state,
        })
    }

    /// Where the connection stands.
    pub fn state(&self) -> EncoderState {
        let state = self.state.borrow().clone();
        // stderr may still be draining when the input side already broke.
        let stopped = matches!(state, EncoderState::Exited(_))
            || self.input.as_ref().is_none_or(|i| i.is_closed());
        if !stopped {
            return state;
        }
        // The relay says what went wrong with the service better than
        // ffmpeg, which only saw its loopback connection close.
        match (self.relay.error(), state) {
            (Some(why), _) => EncoderState::Exited(why),
            (None, EncoderState::Exited(why)) => EncoderState::Exited(why),
            (None, _) => EncoderState::Exited("the encoder stopped reading".into()),
        }
    }

    /// ffmpeg's input, for [`crate::webm::SegmentWriter::stream`]. Writes
    /// never block: a backlog of more than [`BACKLOG_CLUSTERS`] clusters,
    /// or an ffmpeg that stopped reading, is an error.
    pub fn input(&self) -> Box<dyn Write + Send> {
        Box::new(EncoderInput {
            sender: self.input.clone(),
        })
    }

    /// Ends the input and waits (at most [`FINISH_TIMEOUT`]) for ffmpeg to
    /// send what it has and close the connection; kills it after that.
    pub async fn finish(mut self) {
        self.input = None;
        match tokio::time::timeout(FINISH_TIMEOUT, self.child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                tracing::warn!("the live stream's encoder did not stop in time; killed");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// The writing end of ffmpeg's input (see [`LiveEncoder::input`]).
struct EncoderInput {
    sender: Option<mpsc::Sender<Vec<u8>>>,
}

impl Write for EncoderInput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(sender) = &self.sender else {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the encoder is stopped",
            ));
        };
        match sender.try_send(buf.to_vec()) {
            Ok(()) => Ok(buf.len()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the encoder fell behind the meeting",
            )),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.sender = None;
                Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the encoder stopped reading",
                ))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The wait before attempt `failures + 1` after `failures` failed
/// connections in a row: 1 s, doubling, at most 30 s.
pub fn retry_delay(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(5)).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_pushes_h264_and_aac_in_flv_to_the_url_last() {
        let args = ffmpeg_args(
            "rtmp://127.0.0.1:4000/app/key",
            "rtmp://live.example.com:1935/app",
        );
        let after = |flag: &str| {
            let at = args.iter().position(|a| a == flag).unwrap();
            args[at + 1].as_str()
        };
        assert_eq!(after("-c:v"), "libx264");
        assert_eq!(after("-c:a"), "aac");
        assert_eq!(after("-f"), "matroska");
        assert_eq!(after("-i"), "pipe:0");
        assert_eq!(args.last().unwrap(), "rtmp://127.0.0.1:4000/app/key");
        assert_eq!(after("-rtmp_tcurl"), "rtmp://live.example.com:1935/app");
        assert!(after("-vf").contains("pad=1280:720"));
    }

    #[test]
    fn push_addresses_give_the_service_and_its_tc_url() {
        let s = Service::parse("rtmps://live.example.com/rtmp/k3y").unwrap();
        assert_eq!(
            (s.tls, s.host.as_str(), s.port),
            (true, "live.example.com", 443)
        );
        assert_eq!(s.path, "rtmp/k3y");
        assert_eq!(s.tc_url(), "rtmps://live.example.com:443/rtmp");
        let s = Service::parse("rtmp://10.0.0.5:1936/live/app2/key").unwrap();
        assert_eq!((s.tls, s.port), (false, 1936));
        assert_eq!(s.tc_url(), "rtmp://10.0.0.5:1936/live/app2");
        let s = Service::parse("rtmp://[::1]/live/key").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("::1", 1935));
        assert_eq!(s.tc_url(), "rtmp://[::1]:1935/live");
        for bad in [
            "http://a/b",
            "rtmp://a",
            "rtmp://a:x/b",
            "rtmp://[::1/b",
            "rtmp:///b",
        ] {
            assert!(Service::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retries_back_off_to_half_a_minute() {
        let delays: Vec<u64> = (0..8).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
