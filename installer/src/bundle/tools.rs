//! Prebuilt executables shipped in an image (`[[components.tools]]` of an
//! edition: the recorder's ffmpeg): taken from `--binaries DIR/<arch>/<name>`
//! when the caller has one, otherwise downloaded from the arch's pinned URL,
//! refused unless its SHA-256 is the pinned one, and extracted from that zip
//! archive (a Python wheel).
//!
//! Downloads are kept in a cache outside the source tree
//! (`$XDG_CACHE_HOME/yunhui/tools`, else `~/.cache/yunhui/tools`), one folder
//! per archive digest. An archive enters the cache only once its digest
//! matched, and a cached one is checked again before every use (a changed
//! one is removed and downloaded again), so a mismatch leaves nothing behind.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::edition::{Tool, ToolSource};
use super::manifest::ToolCopy;

/// Largest archive downloaded and largest member extracted: far above any
/// real tool, low enough that a wrong URL cannot fill the disk.
const MAX_SIZE: u64 = 1 << 30;

/// Errors getting a tool.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Neither `XDG_CACHE_HOME` nor `HOME` says where the cache is.
    #[error(
        "no cache folder for downloaded tools: set XDG_CACHE_HOME or HOME, or pass --binaries DIR with DIR/<arch>/<tool> for each tool"
    )]
    NoCache,
    /// The download failed.
    #[error(
        "could not download {url}: {message}; check the network (HTTPS_PROXY for a proxy, SSL_CERT_FILE for the CA of a TLS-inspecting one), or pass --binaries DIR with DIR/{arch}/{tool}"
    )]
    Download {
        /// What was asked for.
        url: String,
        /// The tool.
        tool: String,
        /// Its arch.
        arch: String,
        /// What went wrong.
        message: String,
    },
    /// The archive is not the pinned one.
    #[error(
        "{url} has SHA-256 {actual}, but the edition pins {expected}; refusing it (nothing was kept)"
    )]
    DigestMismatch {
        /// Where it came from.
        url: String,
        /// The edition's digest.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// The archive or its member is unusable.
    #[error("{url}: {message}")]
    Archive {
        /// Where the archive came from.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ToolError + '_ {
    move |source| ToolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where downloaded archives are cached: `$XDG_CACHE_HOME/yunhui/tools`, or
/// `$HOME/.cache/yunhui/tools` (an unset, empty or relative
/// `XDG_CACHE_HOME` is ignored, as the XDG specification says).
pub fn cache_dir() -> Result<PathBuf, ToolError> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .map(|cache| cache.join("yunhui").join("tools"))
        .ok_or(ToolError::NoCache)
}

/// Where one arch's copy of a tool comes from, checked and ready to read.
#[derive(Debug)]
pub enum Resolved {
    /// `--binaries DIR/<arch>/<name>`, taken as it is.
    Provided(PathBuf),
    /// The pinned archive, its digest checked; `member` is in it.
    Archive {
        /// The archive, open (the checked copy, whatever the cache does next).
        file: File,
        /// The pinned source.
        source: ToolSource,
    },
}

/// The ELF machine number of a bundle arch's executables.
fn elf_machine(arch: &str) -> Option<u16> {
    match arch {
        "amd64" => Some(62),
        "arm64" => Some(183),
        "loong64" => Some(258),
        _ => None,
    }
}

impl Resolved {
    /// The executable's bytes: the provided file, or the member extracted
    /// from the archive.
    pub fn contents(&mut self) -> Result<Vec<u8>, ToolError> {
        match self {
            Resolved::Provided(path) => std::fs::read(&*path).map_err(io_err(path)),
            Resolved::Archive { file, source } => {
                let bad = |message: String| ToolError::Archive {
                    url: source.url.clone(),
                    message,
                };
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| bad(e.to_string()))?;
                let mut archive = zip::ZipArchive::new(&*file)
                    .map_err(|e| bad(format!("not a zip archive: {e}")))?;
                let mut entry = archive
                    .by_name(&source.member)
                    .map_err(|e| bad(format!("no member {}: {e}", source.member)))?;
                if entry.size() > MAX_SIZE {
                    return Err(bad(format!(
                        "member {} is {} bytes, more than {MAX_SIZE}",
                        source.member,
                        entry.size()
                    )));
                }
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| bad(format!("cannot extract {}: {e}", source.member)))?;
                Ok(bytes)
            }
        }
    }

    /// The bundle manifest's record of this copy, whose bytes are `executable`.
    pub fn copy(&self, arch: &str, executable: &[u8]) -> ToolCopy {
        let sha256 = hex::encode(Sha256::digest(executable));
        match self {
            Resolved::Provided(_) => ToolCopy {
                arch: arch.to_string(),
                sha256,
                source: "provided".to_string(),
                url: String::new(),
                archive_sha256: String::new(),
                member: String::new(),
            },
            Resolved::Archive { source, .. } => ToolCopy {
                arch: arch.to_string(),
                sha256,
                source: "download".to_string(),
                url: source.url.clone(),
                archive_sha256: source.sha256.clone(),
                member: source.member.clone(),
            },
        }
    }
}

/// Gets `tool` for `arch`: `provided` when it is a file, otherwise the
/// arch's pinned archive, from the cache ([`cache_dir`]) or downloaded into
/// it, digest checked and holding the member. `None` when the tool has no
/// source for `arch`.
pub fn resolve(
    tool: &Tool,
    arch: &str,
    provided: Option<&Path>,
) -> Result<Option<Resolved>, ToolError> {
    let Some(source) = tool.sources.get(arch) else {
        return Ok(None);
    };
    if let Some(path) = provided.filter(|p| p.is_file()) {
        eprintln!("{} for {arch}: {}", tool.name, path.display());
        return Ok(Some(Resolved::Provided(path.to_path_buf())));
    }
    let file = cached_or_download(tool, arch, source, &cache_dir()?)?;
    check_member(&file, source, tool, arch)?;
    Ok(Some(Resolved::Archive {
        file,
        source: source.clone(),
    }))
}

/// Checks, before anything is written, that the archive has the member and
/// that it starts as an ELF executable for `arch` does (an edition that
/// mixes up its arches is caught here).
fn check_member(
    file: &File,
    source: &ToolSource,
    tool: &Tool,
    arch: &str,
) -> Result<(), ToolError> {
    let bad = |message: String| ToolError::Archive {
        url: source.url.clone(),
        message,
    };
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| bad(format!("not a zip archive: {e}")))?;
    let mut entry = match archive.by_name(&source.member) {
        Ok(entry) if entry.is_file() => entry,
        _ => {
            return Err(bad(format!(
                "has no file {}; check sources.{arch}.member of tool {} in the edition",
                source.member, tool.name
            )));
        }
    };
    let mut header = Vec::with_capacity(20);
    (&mut entry)
        .take(20)
        .read_to_end(&mut header)
        .map_err(|e| bad(format!("cannot extract {}: {e}", source.member)))?;
    let machine = header
        .get(18..20)
        .filter(|_| header.starts_with(b"\x7fELF"))
        .map(|m| u16::from_le_bytes([m[0], m[1]]));
    if machine != elf_machine(arch) {
        return Err(bad(format!(
            "member {} is not an {arch} ELF executable (machine {}); check sources.{arch} of \
             tool {} in the edition",
            source.member,
            machine.map_or_else(|| "none".to_string(), |m| m.to_string()),
            tool.name
        )));
    }
    Ok(())
}

/// The file name a download is cached under: the URL's last part.
fn file_name(url: &str) -> String {
    let name = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if name.is_empty() || name.starts_with('.') {
        "download".to_string()
    } else {
        name.to_string()
    }
}

/// SHA-256 (hex) of a file from its start.
fn sha256_of(file: &mut File, path: &Path) -> Result<String, ToolError> {
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(file, &mut hasher).map_err(io_err(path))?;
    Ok(hex::encode(hasher.finalize()))
}

/// The archive, checked: the cached copy when its digest still matches,
/// otherwise a download that is refused unless it matches and then cached.
fn cached_or_download(
    tool: &Tool,
    arch: &str,
    source: &ToolSource,
    cache: &Path,
) -> Result<File, ToolError> {
    let folder = cache.join(&source.sha256);
    let cached = folder.join(file_name(&source.url));
    if let Ok(mut file) = File::open(&cached) {
        if sha256_of(&mut file, &cached)? == source.sha256 {
            eprintln!("{} for {arch}: {} (cached)", tool.name, cached.display());
            return Ok(file);
        }
        eprintln!(
            "{} for {arch}: the cached {} no longer has the pinned SHA-256; removing it and downloading again",
            tool.name,
            cached.display()
        );
        std::fs::remove_file(&cached).map_err(io_err(&cached))?;
    }
    eprintln!("{} for {arch}: downloading {}", tool.name, source.url);
    // An unnamed temporary file: whatever happens, nothing of a refused or
    // interrupted download stays on disk.
    let temp_dir = std::env::temp_dir();
    let mut file = tempfile::tempfile().map_err(io_err(&temp_dir))?;
    let actual = download(&source.url, &mut file).map_err(|message| ToolError::Download {
        url: source.url.clone(),
        tool: tool.name.clone(),
        arch: arch.to_string(),
        message,
    })?;
    if actual != source.sha256 {
        return Err(ToolError::DigestMismatch {
            url: source.url.clone(),
            expected: source.sha256.clone(),
            actual,
        });
    }
    if let Err(e) = keep(&mut file, &folder, &cached) {
        eprintln!(
            "{} for {arch}: could not keep the download in {}: {e}; the next build downloads it again",
            tool.name,
            cache.display()
        );
    }
    Ok(file)
}

/// Copies a checked download into the cache under its final name, through a
/// temporary file in the same folder renamed at the end (never half a file).
fn keep(file: &mut File, folder: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let mut temp = tempfile::NamedTempFile::new_in(folder)?;
    file.seek(SeekFrom::Start(0))?;
    std::io::copy(file, temp.as_file_mut())?;
    temp.as_file_mut().sync_all()?;
    temp.persist(to).map_err(|e| e.error)?;
    Ok(())
}

/// Downloads `url` into `into` and returns the SHA-256 (hex) of what came.
/// Runs its own runtime on a thread of its own, so it works whether or not
/// the caller is inside one.
fn download(url: &str, into: &mut File) -> Result<String, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(fetch(url, into))
            })
            .join()
            .unwrap_or_else(|_| Err("the download thread panicked".to_string()))
    })
}

/// The certificates of `SSL_CERT_FILE`, when it is set: the OpenSSL
/// convention by which a build host behind a TLS-inspecting proxy names the
/// proxy's CA. They are trusted besides the built-in roots.
fn extra_roots() -> Result<Vec<reqwest::Certificate>, String> {
    let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let path = PathBuf::from(path);
    let pem = std::fs::read(&path).map_err(|e| format!("SSL_CERT_FILE={}: {e}", path.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        format!(
            "SSL_CERT_FILE={}: not a PEM certificate file: {e}",
            path.display()
        )
    })
}

async fn fetch(url: &str, into: &mut File) -> Result<String, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("yunhui-bundle-build/", env!("CARGO_PKG_VERSION")));
    for cert in extra_roots()? {
        builder = builder.add_root_certificate(cert);
    }
    let client = builder.build().map_err(|e| error_chain(&e))?;
    let mut response = client.get(url).send().await.map_err(|e| error_chain(&e))?;
    if !response.status().is_success() {
        return Err(format!("the server answered {}", response.status()));
    }
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        size += chunk.len() as u64;
        if size > MAX_SIZE {
            return Err(format!("more than {MAX_SIZE} bytes; not a tool archive"));
        }
        hasher.update(&chunk);
        into.write_all(&chunk).map_err(|e| e.to_string())?;
    }
    into.flush().map_err(|e| e.to_string())?;
    Ok(hex::encode(hasher.finalize()))
}

/// An error with its causes (`error sending request: connection refused`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_is_cached_under_the_last_part_of_its_url() {
        assert_eq!(
            file_name("https://files.example/a/b/tool-1.0-py3-none-any.whl"),
            "tool-1.0-py3-none-any.whl"
        );
        assert_eq!(file_name("https://files.example/x.zip?t=1#f"), "x.zip");
        assert_eq!(file_name("https://files.example/"), "download");
        assert_eq!(file_name("https://files.example/.."), "download");
    }
}
