//! The discovery document a Gateway publishes ([`crate::SignalConfig::discovery_file`],
//! a ConfigMap the kubelet mounts and replaces while signal runs): served at
//! `/.well-known/yunhui`, and the base of every absolute link signal hands
//! out ([`crate::App::public_base`]: join links, recordings' media and
//! download links, invitations, the console link), since it names the
//! address clients really use (the Gateway's) where `public_url` is the
//! in-cluster one.
//!
//! The file is read when needed and again only when it changed (its
//! modification time, size or inode: the kubelet swaps in a new file); the
//! cache's lock is never held across the read. Which base a link gets is
//! the pure [`public_base`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use yunhui_proto::discovery::Discovery;

/// The discovery file, read again when it changes.
#[derive(Debug)]
pub struct DiscoveryFile {
    path: Option<PathBuf>,
    cached: Mutex<Option<(Stamp, Arc<Loaded>)>>,
}

/// What tells one version of the file from the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        }
    }
}

/// One version of the file.
#[derive(Debug)]
pub struct Loaded {
    /// Its bytes, served as they are when they are JSON.
    pub bytes: Vec<u8>,
    /// Whether they are JSON.
    pub is_json: bool,
    /// The document, when they are one whose server is an `http(s)://` URL.
    pub document: Option<Discovery>,
}

impl Loaded {
    /// Reads `bytes` of the file at `path` (named in warnings).
    fn parse(bytes: Vec<u8>, path: &Path) -> Loaded {
        let is_json = serde_json::from_slice::<serde_json::Value>(&bytes).is_ok();
        let document = match serde_json::from_slice::<Discovery>(&bytes) {
            Ok(doc) if server_of(&doc).is_some() => Some(doc),
            Ok(doc) => {
                tracing::warn!(path = %path.display(), api = %doc.api, "the discovery document's API is not an http(s) URL; links use the public URL");
                None
            }
            Err(e) if is_json => {
                tracing::warn!(path = %path.display(), error = %e, "the discovery file is not a discovery document; links use the public URL");
                None
            }
            Err(_) => {
                tracing::warn!(path = %path.display(), "the discovery file is not JSON; serving the default document");
                None
            }
        };
        Loaded {
            bytes,
            is_json,
            document,
        }
    }
}

/// The server a document names, when it is an `http(s)://` URL with a host.
fn server_of(doc: &Discovery) -> Option<&str> {
    let server = doc.server();
    let host = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))?;
    (!host.is_empty()).then_some(server)
}

/// The base URL of absolute links: the server of the discovery document
/// when there is one (the address clients use), else `public_url`; without
/// a trailing `/`.
pub fn public_base(document: Option<&Discovery>, public_url: &str) -> String {
    document
        .and_then(server_of)
        .unwrap_or(public_url)
        .trim_end_matches('/')
        .to_string()
}

impl DiscoveryFile {
    /// The file at `path`; none configured means there is never a document.
    pub fn new(path: Option<PathBuf>) -> DiscoveryFile {
        DiscoveryFile {
            path,
            cached: Mutex::new(None),
        }
    }

    /// The file as it is now, or none when there is none or it cannot be read.
    pub async fn read(&self) -> Option<Arc<Loaded>> {
        let path = self.path.as_deref()?;
        // The stamp is taken before the read: a change in between is seen
        // (and read) the next time.
        let stamp = match tokio::fs::metadata(path).await {
            Ok(meta) => Stamp::of(&meta),
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "no discovery file");
                return None;
            }
        };
        let unchanged = (self.lock().as_ref())
            .filter(|(seen, _)| *seen == stamp)
            .map(|(_, loaded)| loaded.clone());
        if unchanged.is_some() {
            return unchanged;
        }
        let bytes = match tokio::fs::read(path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "the discovery file cannot be read");
                return None;
            }
        };
        let loaded = Arc::new(Loaded::parse(bytes, path));
        *self.lock() = Some((stamp, loaded.clone()));
        Some(loaded)
    }

    /// The cache; a panic elsewhere while it was held leaves it usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Stamp, Arc<Loaded>)>> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_use_the_documents_server_else_the_public_url() {
        let gateway = Discovery::for_public_url("https://meet.example.com:31234");
        assert_eq!(
            public_base(Some(&gateway), "http://prod-signal.yunhui-system.svc:8080"),
            "https://meet.example.com:31234"
        );
        assert_eq!(
            public_base(None, "http://prod-signal.yunhui-system.svc:8080/"),
            "http://prod-signal.yunhui-system.svc:8080"
        );
        let mut odd = gateway.clone();
        odd.api = "/api/v1".into();
        assert_eq!(public_base(Some(&odd), "http://a:1"), "http://a:1");
        odd.api = "https:///api/v1".into();
        assert_eq!(public_base(Some(&odd), "http://a:1"), "http://a:1");
    }

    #[tokio::test]
    async fn the_file_is_read_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("discovery.json");
        let file = DiscoveryFile::new(Some(path.clone()));
        assert!(file.read().await.is_none(), "no file yet");
        let write = |url: &str| {
            // As the kubelet does: a new file moved into place.
            let next = dir.path().join("next.json");
            let doc = Discovery::for_public_url(url);
            std::fs::write(&next, serde_json::to_vec(&doc).unwrap()).unwrap();
            std::fs::rename(&next, &path).unwrap();
        };
        write("https://a.example");
        let server = |l: Option<Arc<Loaded>>| l.and_then(|l| l.document.clone()).map(|d| d.api);
        assert_eq!(
            server(file.read().await).as_deref(),
            Some("https://a.example/api/v1")
        );
        let first = file.read().await.unwrap();
        let again = file.read().await.unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "an unchanged file is not read again"
        );
        write("https://b.example:30443");
        assert_eq!(
            server(file.read().await).as_deref(),
            Some("https://b.example:30443/api/v1")
        );
        std::fs::write(&path, b"not json").unwrap();
        let broken = file.read().await.unwrap();
        assert!(!broken.is_json);
        assert!(broken.document.is_none());
        std::fs::remove_file(&path).unwrap();
        assert!(file.read().await.is_none());
    }
}
