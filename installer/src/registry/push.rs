//! `yunhui registry push`: copies every image of a verified bundle (blobs,
//! per-platform manifests, the multi-arch index) into a registry over the
//! OCI distribution API.
//!
//! For each repository every blob (config and layers) is checked with
//! `HEAD /v2/<name>/blobs/<digest>` and skipped when the registry has it;
//! otherwise it is uploaded monolithically (`POST …/blobs/uploads/` then
//! `PUT <location>?digest=…`), streamed from disk. Then each platform manifest
//! is put by digest and under `<tag>-<arch>`, and the index under `<tag>`.
//! Because blobs already present are skipped, a push that was cut off is
//! resumed by running the same command again.
//!
//! Transport: HTTPS by default, verified against the system roots plus
//! `--ca FILE`; `--insecure` switches to plain HTTP (it never turns off
//! certificate checks). Authentication: HTTP basic with `--username` and a
//! password read from stdin (`--password-stdin`). The registry re-checks
//! every digest, so a blob altered after verification is refused by it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;

use crate::bundle::oci::{ImageManifest, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::bundle::verify::{VerifiedBundle, blob_path};

/// `yunhui registry push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The bundle directory (verified before anything is pushed).
    pub bundle: PathBuf,
    /// The registry, `HOST[:PORT]` (no scheme, no path).
    #[arg(long)]
    pub registry: String,
    /// A PEM file with the CA certificate(s) that signed the registry's
    /// certificate, trusted in addition to the system roots.
    #[arg(long, conflicts_with = "insecure")]
    pub ca: Option<PathBuf>,
    /// Use plain HTTP instead of HTTPS (only for registries without TLS).
    #[arg(long)]
    pub insecure: bool,
    /// User name for basic authentication (with --password-stdin).
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Which signer to accept.
    #[command(flatten)]
    pub trust: crate::bundle::trust::TrustArgs,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = PushOutput::Text)]
    pub output: PushOutput,
    /// Test hook: stop with an error after this many blob uploads, as if the
    /// connection had been cut.
    #[arg(long, hide = true)]
    pub stop_after_uploads: Option<usize>,
}

/// Output format of `registry push`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PushOutput {
    /// One line per image and a total.
    Text,
    /// One JSON document.
    Json,
}

/// Errors of `registry push`.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// `--registry` is not `HOST[:PORT]`.
    #[error("--registry {0:?} is not HOST[:PORT] (no scheme, no path)")]
    BadRegistry(String),
    /// The CA file could not be used.
    #[error("--ca {path}: {message}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The password could not be read.
    #[error("could not read the password from stdin: {0}")]
    Password(String),
    /// No connection could be made.
    #[error(
        "registry {registry} is unreachable: {detail}; check the host and port, that the registry is running, and that a firewall allows it"
    )]
    Unreachable {
        /// The registry.
        registry: String,
        /// The cause.
        detail: String,
    },
    /// The registry's certificate was not trusted.
    #[error(
        "TLS verification of {registry} failed: {detail}; pass --ca FILE with the CA certificate that signed the registry's certificate (or --insecure if the registry speaks plain HTTP)"
    )]
    Tls {
        /// The registry.
        registry: String,
        /// The cause.
        detail: String,
    },
    /// 401.
    #[error(
        "registry {registry} refused the credentials (401 Unauthorized): wrong username or password{hint}"
    )]
    Unauthorized {
        /// The registry.
        registry: String,
        /// Extra advice.
        hint: String,
    },
    /// 403.
    #[error(
        "registry {registry} denied {what} (403 Forbidden): the user may not push to {repository}"
    )]
    Forbidden {
        /// The registry.
        registry: String,
        /// The request.
        what: String,
        /// The repository.
        repository: String,
    },
    /// Any other unexpected answer.
    #[error("registry {registry}: {what} answered {status}: {body}")]
    Protocol {
        /// The registry.
        registry: String,
        /// The request.
        what: String,
        /// HTTP status.
        status: StatusCode,
        /// The start of the response body.
        body: String,
    },
    /// A bundle file could not be read.
    #[error("{path}: {message}")]
    Bundle {
        /// The bundle path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The test hook stopped the push.
    #[error(
        "push stopped after {0} blob uploads (--stop-after-uploads); run the command again to resume"
    )]
    Stopped(usize),
    /// The summary could not be written.
    #[error("could not write the summary: {0}")]
    Output(String),
}

/// What was pushed for one image.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageSummary {
    /// Repository in the registry.
    pub repository: String,
    /// The index's tag.
    pub tag: String,
    /// The index digest (pullable as `repository@digest`).
    pub digest: String,
    /// Platform manifest digests.
    pub platforms: Vec<String>,
    /// Blobs uploaded.
    pub blobs_uploaded: usize,
    /// Blobs the registry already had.
    pub blobs_skipped: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
}

/// The result of a push.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PushSummary {
    /// The registry.
    pub registry: String,
    /// Per image.
    pub images: Vec<ImageSummary>,
    /// Blobs uploaded in total.
    pub blobs_uploaded: usize,
    /// Blobs skipped in total.
    pub blobs_skipped: usize,
    /// Bytes uploaded in total.
    pub bytes_uploaded: u64,
}

struct Client {
    http: reqwest::Client,
    base: Url,
    registry: String,
    auth: Option<(String, String)>,
    uploads: usize,
    stop_after: Option<usize>,
}

fn error_detail(error: &reqwest::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

impl Client {
    fn new(args: &PushArgs, auth: Option<(String, String)>) -> Result<Client, PushError> {
        let registry = args.registry.trim().to_string();
        if registry.is_empty() || registry.contains('/') || registry.contains('@') {
            return Err(PushError::BadRegistry(registry));
        }
        let scheme = if args.insecure { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{registry}/"))
            .map_err(|_| PushError::BadRegistry(registry.clone()))?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::limited(5));
        if let Some(path) = &args.ca {
            let pem = std::fs::read(path).map_err(|e| PushError::Ca {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| PushError::Ca {
                path: path.clone(),
                message: format!("not a PEM certificate file: {e}"),
            })?;
            if certs.is_empty() {
                return Err(PushError::Ca {
                    path: path.clone(),
                    message: "no PEM certificate in the file".into(),
                });
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| PushError::Ca {
            path: args.ca.clone().unwrap_or_default(),
            message: error_detail(&e),
        })?;
        Ok(Client {
            http,
            base,
            registry,
            auth,
            uploads: 0,
            stop_after: args.stop_after_uploads,
        })
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.auth {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    fn url(&self, path: &str) -> Result<Url, PushError> {
        self.base
            .join(path)
            .map_err(|_| PushError::BadRegistry(self.registry.clone()))
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
        repository: &str,
    ) -> Result<reqwest::Response, PushError> {
        let response = request.send().await.map_err(|e| {
            let detail = error_detail(&e);
            let lower = detail.to_lowercase();
            if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
            {
                PushError::Tls {
                    registry: self.registry.clone(),
                    detail,
                }
            } else {
                PushError::Unreachable {
                    registry: self.registry.clone(),
                    detail,
                }
            }
        })?;
        match response.status() {
            StatusCode::UNAUTHORIZED => {
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let hint = if self.auth.is_none() {
                    "; the registry requires a login: pass --username U --password-stdin".into()
                } else if challenge.to_lowercase().starts_with("bearer") {
                    "; the registry asks for a bearer token, which is not supported yet (use basic auth)".into()
                } else {
                    String::new()
                };
                Err(PushError::Unauthorized {
                    registry: self.registry.clone(),
                    hint,
                })
            }
            StatusCode::FORBIDDEN => Err(PushError::Forbidden {
                registry: self.registry.clone(),
                what: what.to_string(),
                repository: repository.to_string(),
            }),
            _ => Ok(response),
        }
    }

    async fn unexpected(&self, what: &str, response: reqwest::Response) -> PushError {
        let status = response.status();
        let mut body = response.text().await.unwrap_or_default();
        body.truncate(500);
        PushError::Protocol {
            registry: self.registry.clone(),
            what: what.to_string(),
            status,
            body: body.trim().to_string(),
        }
    }

    /// `GET /v2/`: reachability, TLS and credentials, before any upload.
    async fn ping(&self) -> Result<(), PushError> {
        let what = "GET /v2/";
        let response = self
            .send(self.request(Method::GET, self.url("v2/")?), what, "")
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.unexpected(what, response).await)
        }
    }

    /// Pushes one blob unless the registry has it; `Some(size)` when uploaded,
    /// `None` when the registry already had it.
    async fn push_blob(
        &mut self,
        root: &Path,
        repository: &str,
        digest: &str,
    ) -> Result<Option<u64>, PushError> {
        let what = format!("HEAD /v2/{repository}/blobs/{digest}");
        let head = self
            .send(
                self.request(
                    Method::HEAD,
                    self.url(&format!("v2/{repository}/blobs/{digest}"))?,
                ),
                &what,
                repository,
            )
            .await?;
        match head.status() {
            s if s.is_success() => return Ok(None),
            StatusCode::NOT_FOUND => {}
            _ => return Err(self.unexpected(&what, head).await),
        }
        if self.stop_after.is_some_and(|n| self.uploads >= n) {
            return Err(PushError::Stopped(self.uploads));
        }
        let path = blob_path(digest).ok_or_else(|| PushError::Bundle {
            path: digest.to_string(),
            message: "not a sha256 digest".into(),
        })?;
        let file =
            tokio::fs::File::open(root.join(&path))
                .await
                .map_err(|e| PushError::Bundle {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
        let size = file
            .metadata()
            .await
            .map_err(|e| PushError::Bundle {
                path: path.clone(),
                message: e.to_string(),
            })?
            .len();

        let what = format!("POST /v2/{repository}/blobs/uploads/");
        let start = self
            .send(
                self.request(
                    Method::POST,
                    self.url(&format!("v2/{repository}/blobs/uploads/"))?,
                )
                .header(CONTENT_LENGTH, 0),
                &what,
                repository,
            )
            .await?;
        if start.status() != StatusCode::ACCEPTED {
            return Err(self.unexpected(&what, start).await);
        }
        let location = start
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| PushError::Protocol {
                registry: self.registry.clone(),
                what: what.clone(),
                status: start.status(),
                body: "no Location header for the upload".into(),
            })?;
        let mut upload = self.base.join(location).map_err(|e| PushError::Protocol {
            registry: self.registry.clone(),
            what: what.clone(),
            status: start.status(),
            body: format!("bad upload location {location:?}: {e}"),
        })?;
        upload.query_pairs_mut().append_pair("digest", digest);

        let what = format!("PUT upload of {repository}@{digest}");
        let put = self
            .send(
                self.request(Method::PUT, upload)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, size)
                    .body(reqwest::Body::from(file)),
                &what,
                repository,
            )
            .await?;
        if put.status() != StatusCode::CREATED {
            return Err(self.unexpected(&what, put).await);
        }
        self.uploads += 1;
        Ok(Some(size))
    }

    async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), PushError> {
        let what = format!("PUT /v2/{repository}/manifests/{reference}");
        let response = self
            .send(
                self.request(
                    Method::PUT,
                    self.url(&format!("v2/{repository}/manifests/{reference}"))?,
                )
                .header(CONTENT_TYPE, media_type)
                .body(bytes),
                &what,
                repository,
            )
            .await?;
        if response.status() == StatusCode::CREATED || response.status() == StatusCode::OK {
            Ok(())
        } else {
            Err(self.unexpected(&what, response).await)
        }
    }
}

fn read_blob(bundle: &VerifiedBundle, digest: &str) -> Result<Vec<u8>, PushError> {
    let path = blob_path(digest).ok_or_else(|| PushError::Bundle {
        path: digest.to_string(),
        message: "not a sha256 digest".into(),
    })?;
    std::fs::read(bundle.root.join(&path)).map_err(|e| PushError::Bundle {
        path,
        message: e.to_string(),
    })
}

fn media_type_of(bytes: &[u8], default: &str) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("mediaType")?.as_str().map(str::to_string))
        .unwrap_or_else(|| default.to_string())
}

/// Pushes every image of a verified bundle.
async fn push(
    client: &mut Client,
    bundle: &VerifiedBundle,
    text: bool,
    progress: &crate::progress::Progress,
) -> Result<PushSummary, PushError> {
    let bar = progress.bar(bundle.manifest.images.len() as u64, "pushing");
    let mut summary = PushSummary {
        registry: client.registry.clone(),
        ..PushSummary::default()
    };
    for image in &bundle.manifest.images {
        let repository = image.repository.as_str();
        let mut done = BTreeSet::new();
        let mut image_summary = ImageSummary {
            repository: repository.to_string(),
            tag: image.tag.clone(),
            digest: image.digest.clone(),
            ..ImageSummary::default()
        };
        for platform in &image.platforms {
            let bytes = read_blob(bundle, &platform.digest)?;
            let manifest: ImageManifest =
                serde_json::from_slice(&bytes).map_err(|e| PushError::Bundle {
                    path: blob_path(&platform.digest).unwrap_or_default(),
                    message: format!("not an image manifest: {e}"),
                })?;
            let blobs = std::iter::once(&manifest.config).chain(&manifest.layers);
            for descriptor in blobs {
                if !done.insert(descriptor.digest.clone()) {
                    continue;
                }
                match client
                    .push_blob(&bundle.root, repository, &descriptor.digest)
                    .await?
                {
                    Some(size) => {
                        image_summary.blobs_uploaded += 1;
                        image_summary.bytes_uploaded += size;
                        bar.set_message(format!(
                            "{repository}: {} MiB",
                            image_summary.bytes_uploaded >> 20
                        ));
                    }
                    None => image_summary.blobs_skipped += 1,
                }
            }
            let media_type = media_type_of(&bytes, MEDIA_TYPE_MANIFEST);
            client
                .put_manifest(repository, &platform.digest, &media_type, bytes.clone())
                .await?;
            client
                .put_manifest(
                    repository,
                    &format!("{}-{}", image.tag, platform.arch),
                    &media_type,
                    bytes,
                )
                .await?;
            image_summary.platforms.push(platform.digest.clone());
        }
        let bytes = read_blob(bundle, &image.digest)?;
        let media_type = media_type_of(&bytes, MEDIA_TYPE_INDEX);
        client
            .put_manifest(repository, &image.tag, &media_type, bytes)
            .await?;
        if text {
            println!(
                "{}/{repository}:{} {}: {} blobs uploaded ({} bytes), {} already present, {} platforms",
                client.registry,
                image.tag,
                image.digest,
                image_summary.blobs_uploaded,
                image_summary.bytes_uploaded,
                image_summary.blobs_skipped,
                image_summary.platforms.len()
            );
            let _ = std::io::stdout().flush();
        }
        summary.blobs_uploaded += image_summary.blobs_uploaded;
        summary.blobs_skipped += image_summary.blobs_skipped;
        summary.bytes_uploaded += image_summary.bytes_uploaded;
        summary.images.push(image_summary);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(summary)
}

fn read_password() -> Result<String, PushError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| PushError::Password(e.to_string()))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(PushError::Password(
            "stdin was empty; pipe the password in, e.g. `echo \"$PASS\" | yunhui registry push … --password-stdin`"
                .into(),
        ));
    }
    Ok(password)
}

/// A registry to push into and how to reach it (what a site file's
/// `registry` says).
#[derive(Debug, Clone)]
pub struct Destination {
    /// `HOST[:PORT]`.
    pub host: String,
    /// CA that signed the registry's certificate.
    pub ca: Option<std::path::PathBuf>,
    /// Plain HTTP.
    pub insecure: bool,
    /// User name and password, if the registry needs them.
    pub credentials: Option<(String, String)>,
}

/// Pushes a verified bundle's images into `destination` (for `yunhui install`
/// with `registry.push: true`).
pub async fn push_to(
    destination: Destination,
    bundle: &VerifiedBundle,
    progress: &crate::progress::Progress,
) -> Result<PushSummary, PushError> {
    let args = PushArgs {
        bundle: bundle.root.clone(),
        registry: destination.host,
        ca: destination.ca,
        insecure: destination.insecure,
        username: None,
        password_stdin: false,
        // Already verified by the caller.
        trust: crate::bundle::trust::TrustArgs {
            key: None,
            insecure_skip_signature: false,
        },
        output: PushOutput::Json,
        stop_after_uploads: None,
    };
    let mut client = Client::new(&args, destination.credentials)?;
    client.ping().await?;
    push(&mut client, bundle, false, progress).await
}

/// Verifies the bundle, then pushes its images and prints a summary.
pub async fn run(args: PushArgs) -> Result<(), super::RegistryError> {
    let auth = match (&args.username, args.password_stdin) {
        (Some(user), true) => Some((user.clone(), read_password()?)),
        _ => None,
    };
    let trust = args.trust.trust()?;
    let verified = crate::bundle::trust::open(&args.bundle, &trust)?;
    let mut client = Client::new(&args, auth)?;
    client.ping().await?;
    let text = args.output == PushOutput::Text;
    let progress = crate::progress::Progress::new(!text);
    let summary = push(&mut client, &verified, text, &progress).await?;
    match args.output {
        PushOutput::Json => println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(|e| PushError::Output(e.to_string()))?
        ),
        PushOutput::Text => println!(
            "pushed {} images to {}: {} blobs uploaded ({} bytes), {} already present",
            summary.images.len(),
            summary.registry,
            summary.blobs_uploaded,
            summary.bytes_uploaded,
            summary.blobs_skipped
        ),
    }
    Ok(())
}
