//! The read-only OCI distribution API over a verified bundle: `GET /v2/`,
//! `GET|HEAD /v2/<name>/manifests/<tag|digest>`, `GET|HEAD
//! /v2/<name>/blobs/<digest>`, `GET /v2/<name>/tags/list`. Every write
//! method answers 405. Each blob is hashed again as it is served, so a file
//! changed after verification is refused rather than handed out.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{RegistryError, ServeArgs};
use crate::bundle::oci::{MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::bundle::verify::{VerifiedBundle, blob_path};

/// What the server knows about a verified bundle.
pub struct Catalog {
    root: PathBuf,
    /// repository → tag → manifest digest.
    tags: BTreeMap<String, BTreeMap<String, String>>,
    /// manifest digest → media type.
    manifests: BTreeMap<String, String>,
    /// blob bundle path → sha256 hex, as verified.
    files: BTreeMap<String, String>,
}

impl Catalog {
    /// Indexes a verified bundle: tag `<version>` is the multi-arch index,
    /// `<version>-<arch>` the single-platform manifest.
    pub fn new(bundle: &VerifiedBundle) -> Catalog {
        let mut tags: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut manifests = BTreeMap::new();
        for image in &bundle.manifest.images {
            let repo = tags.entry(image.repository.clone()).or_default();
            repo.insert(image.tag.clone(), image.digest.clone());
            manifests.insert(image.digest.clone(), MEDIA_TYPE_INDEX.to_string());
            for platform in &image.platforms {
                repo.insert(
                    format!("{}-{}", image.tag, platform.arch),
                    platform.digest.clone(),
                );
                manifests.insert(platform.digest.clone(), MEDIA_TYPE_MANIFEST.to_string());
            }
        }
        Catalog {
            root: bundle.root.clone(),
            tags,
            manifests,
            files: bundle
                .files
                .iter()
                .map(|(path, (sha, _))| (path.clone(), sha.clone()))
                .collect(),
        }
    }

    /// Reads a blob and checks it still has the verified digest.
    fn read_blob(&self, digest: &str) -> Option<Result<Vec<u8>, String>> {
        let path = blob_path(digest)?;
        let expected = self.files.get(&path)?;
        Some(
            std::fs::read(self.root.join(&path))
                .map_err(|e| format!("{path}: {e}"))
                .and_then(|bytes| {
                    if &hex::encode(Sha256::digest(&bytes)) == expected {
                        Ok(bytes)
                    } else {
                        Err(format!("{path} changed since the bundle was verified"))
                    }
                }),
        )
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "code": code, "message": message }] });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn content(bytes: Vec<u8>, media_type: &str, digest: &str) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(media_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(digest) {
        headers.insert("docker-content-digest", v);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    (StatusCode::OK, headers, bytes).into_response()
}

async fn api_root() -> Response {
    (
        StatusCode::OK,
        [
            ("docker-distribution-api-version", "registry/2.0"),
            ("content-type", "application/json"),
        ],
        "{}",
    )
        .into_response()
}

async fn dispatch(
    State(catalog): State<Arc<Catalog>>,
    method: Method,
    Path(rest): Path<String>,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "this registry serves a bundle read-only",
        );
    }
    if let Some(repo) = rest.strip_suffix("/tags/list") {
        return match catalog.tags.get(repo) {
            Some(tags) => axum::Json(serde_json::json!({
                "name": repo,
                "tags": tags.keys().collect::<Vec<_>>(),
            }))
            .into_response(),
            None => error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such repository"),
        };
    }
    if let Some((repo, reference)) = rest.rsplit_once("/manifests/") {
        let Some(tags) = catalog.tags.get(repo) else {
            return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such repository");
        };
        let digest = if reference.starts_with("sha256:") {
            reference.to_string()
        } else {
            match tags.get(reference) {
                Some(digest) => digest.clone(),
                None => return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "no such tag"),
            }
        };
        let Some(media_type) = catalog.manifests.get(&digest) else {
            return error(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                "no such manifest",
            );
        };
        return match catalog.read_blob(&digest) {
            Some(Ok(bytes)) => content(bytes, media_type, &digest),
            Some(Err(message)) => error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", &message),
            None => error(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                "no such manifest",
            ),
        };
    }
    if let Some((repo, digest)) = rest.rsplit_once("/blobs/") {
        if !catalog.tags.contains_key(repo) {
            return error(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "no such repository");
        }
        return match catalog.read_blob(digest) {
            Some(Ok(bytes)) => content(bytes, "application/octet-stream", digest),
            Some(Err(message)) => error(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", &message),
            None => error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "no such blob"),
        };
    }
    error(StatusCode::NOT_FOUND, "UNSUPPORTED", "unknown endpoint")
}

/// The HTTP routes over a catalog.
pub fn router(catalog: Arc<Catalog>) -> Router {
    Router::new()
        .route("/v2/", axum::routing::get(api_root))
        .route("/v2/{*rest}", axum::routing::any(dispatch))
        .with_state(catalog)
}

/// Verifies the bundle, then serves it until interrupted. Prints
/// `listening on http://ADDR` once bound.
pub async fn run(args: ServeArgs) -> Result<(), RegistryError> {
    let trust = args.trust.trust()?;
    let verified = crate::bundle::trust::open(&args.bundle, &trust)?;
    let catalog = Arc::new(Catalog::new(&verified));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| RegistryError::Listen {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(RegistryError::Serve)?;
    println!("listening on http://{addr}");
    for (repo, tags) in &catalog.tags {
        println!(
            "  {addr}/{repo}: {}",
            tags.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let _ = std::io::stdout().flush();
    axum::serve(listener, router(catalog))
        .await
        .map_err(RegistryError::Serve)
}
