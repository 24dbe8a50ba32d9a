//! The recorded files in an S3-compatible object store (MinIO, Ceph RGW,
//! a cloud's own), so that they outlive the recorder that made them: the
//! recorder pool can then be scaled like the others, and any recorder
//! serves any file.
//!
//! A file is written to the recorder's local directory as before (crash
//! safe, cluster by cluster) and, once finished, copied into the bucket
//! ([`ObjectStorage::store`], a multipart upload for large files) and
//! removed locally. Until then the local copy is served; after that, the
//! object. A recorder that starts finds the files an earlier process left
//! (it stopped mid-file or mid-upload) and stores them first
//! ([`ObjectStorage::store_leftovers`]).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore};
use tokio::io::AsyncWriteExt;
use yunhui_proto::env;

/// How many times a file's upload is tried before it is left on the
/// recorder's volume (the next start tries again).
const UPLOAD_ATTEMPTS: u32 = 4;

/// Where the object store is and how to sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStoreConfig {
    /// Base URL (`http://minio.storage:9000`); path-style requests.
    pub endpoint: String,
    /// The bucket, which must exist.
    pub bucket: String,
    /// The region the requests are signed for.
    pub region: String,
    /// Prefix of every key (`""` or e.g. `yunhui/`).
    pub prefix: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl ObjectStoreConfig {
    /// From the `YUNHUI_RECORDINGS_S3_*` variables: `None` when no endpoint
    /// is set, an error naming what is missing when only part is.
    pub fn from_env() -> Result<Option<ObjectStoreConfig>, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let Some(endpoint) = var(env::RECORDINGS_S3_ENDPOINT) else {
            return Ok(None);
        };
        let required = |name: &str| {
            var(name).ok_or_else(|| {
                format!(
                    "{} is set, so {name} must be too",
                    env::RECORDINGS_S3_ENDPOINT
                )
            })
        };
        Ok(Some(ObjectStoreConfig {
            endpoint,
            bucket: required(env::RECORDINGS_S3_BUCKET)?,
            region: var(env::RECORDINGS_S3_REGION).unwrap_or_else(|| "us-east-1".into()),
            prefix: var(env::RECORDINGS_S3_PREFIX).unwrap_or_default(),
            access_key_id: required(env::RECORDINGS_S3_ACCESS_KEY_ID)?,
            secret_access_key: required(env::RECORDINGS_S3_SECRET_ACCESS_KEY)?,
        }))
    }
}

/// A stored file's bytes, or part of them.
pub struct StoredBytes {
    /// The file's whole size.
    pub size: u64,
    /// Which bytes `body` holds.
    pub range: Range<u64>,
    /// The bytes.
    pub body: BoxStream<'static, object_store::Result<bytes::Bytes>>,
}

/// The bucket the recorded files go to.
#[derive(Clone)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// What the log and errors call it: `bucket at endpoint`.
    name: Arc<str>,
}

impl std::fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("bucket", &self.name)
            .finish()
    }
}

impl ObjectStorage {
    /// A client of the store `config` names (no request is made yet).
    pub fn new(config: &ObjectStoreConfig) -> Result<ObjectStorage, String> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&config.endpoint)
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.endpoint.starts_with("http://"))
            .build()
            .map_err(|e| format!("the object store at {}: {e}", config.endpoint))?;
        Ok(ObjectStorage {
            store: Arc::new(store),
            prefix: config.prefix.clone(),
            name: format!("bucket {} at {}", config.bucket, config.endpoint).into(),
        })
    }

    fn key(&self, name: &str) -> ObjectPath {
        ObjectPath::from(format!("{}{name}", self.prefix))
    }

    /// Copies the finished file at `local` into the bucket as `name`, then
    /// removes the local copy; tried [`UPLOAD_ATTEMPTS`] times with a
    /// growing wait. On failure the file stays where it is.
    pub async fn store(&self, local: &Path, name: &str) -> Result<(), String> {
        let mut wait = Duration::from_secs(1);
        let mut attempt = 1;
        loop {
            match self.upload(local, name).await {
                Ok(bytes) => {
                    tracing::info!(file = %name, bytes, store = %self.name, "a recorded file is stored");
                    if let Err(e) = tokio::fs::remove_file(local).await {
                        tracing::warn!(file = %name, error = %e, "the stored file's local copy stays");
                    }
                    return Ok(());
                }
                Err(e) if attempt < UPLOAD_ATTEMPTS => {
                    tracing::warn!(file = %name, attempt, error = %e, "storing a recorded file failed; trying again");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(format!(
                        "storing {name} in the {} failed {UPLOAD_ATTEMPTS} times: {e}",
                        self.name
                    ));
                }
            }
        }
    }

    async fn upload(&self, local: &Path, name: &str) -> Result<u64, String> {
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(|e| format!("opening {}: {e}", local.display()))?;
        let mut writer = BufWriter::new(Arc::clone(&self.store), self.key(name));
        let copied = tokio::io::copy(&mut file, &mut writer).await;
        match copied {
            Ok(bytes) => {
                writer.shutdown().await.map_err(|e| e.to_string())?;
                Ok(bytes)
            }
            Err(e) => {
                // Leaves no half-written object (a multipart upload is aborted).
                let _ = writer.abort().await;
                Err(e.to_string())
            }
        }
    }

    /// Stores every recorded file an earlier process left in `dir`.
    pub async fn store_leftovers(&self, dir: PathBuf) {
        let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
            return;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !yunhui_proto::recording::is_file_name(&name) {
                continue;
            }
            tracing::info!(file = %name, "storing a file an earlier recorder left");
            if let Err(e) = self.store(&entry.path(), &name).await {
                tracing::error!(file = %name, error = %e, "a file an earlier recorder left stays on the volume");
            }
        }
    }

    /// The size of the stored file `name`; `None` when there is none.
    pub async fn size(&self, name: &str) -> Result<Option<u64>, String> {
        match self.store.head(&self.key(name)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(format!("asking the {} for {name}: {e}", self.name)),
        }
    }

    /// The bytes of `name` in `range` (all of them when `None`).
    pub async fn read(&self, name: &str, range: Option<Range<u64>>) -> Result<StoredBytes, String> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = self
            .store
            .get_opts(&self.key(name), options)
            .await
            .map_err(|e| format!("reading {name} from the {}: {e}", self.name))?;
        Ok(StoredBytes {
            size: got.meta.size,
            range: got.range.clone(),
            body: got.into_stream(),
        })
    }

    /// Deletes the stored file `name`; whether there was one.
    pub async fn delete(&self, name: &str) -> Result<bool, String> {
        if self.size(name).await?.is_none() {
            return Ok(false);
        }
        self.store
            .delete(&self.key(name))
            .await
            .map_err(|e| format!("deleting {name} from the {}: {e}", self.name))?;
        Ok(true)
    }
}
