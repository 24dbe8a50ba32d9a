//! Air-gapped bundles: `yunhui bundle build | verify | keygen`.
//!
//! A bundle is a directory:
//!
//! ```text
//! manifest.json           what is inside, sha256 (or SM3) of every file, aggregate checksum
//! manifest.json.minisig   ed25519 signature over manifest.json (minisign format), or
//! manifest.json.sm2sig    SM2 signature over it (DER, SM2 with SM3), as the edition chooses
//! bundle.pub              the signer's public key (integrity only; pass --key for origin)
//! sbom.cdx.json           CycloneDX SBOM of the Rust and npm packages that ship
//! images/                 OCI image layout: one multi-arch image per service (the
//!                         recorder's with ffmpeg where the edition has a build of it)
//! bin/<arch>/yunhui       the CLI per arch
//! charts/ crds/ examples/ when present in the source tree
//! ```
//!
//! Binaries come from `--binaries DIR` (`DIR/<arch>/<binary>`) or are
//! cross-built as static musl executables with cargo-zigbuild. Prerequisites
//! for the latter: `rustup target add x86_64-unknown-linux-musl
//! aarch64-unknown-linux-musl` and `pip install ziglang cargo-zigbuild`;
//! for loong64, whose standard library rustup does not ship, the nightly
//! pinned in Cargo.toml (`[workspace.metadata.yunhui] build-std-toolchain`)
//! with its `rust-src`, which builds it (`-Zbuild-std`).
//!
//! Prebuilt tools of an image (`[[components.tools]]`, the recorder's
//! ffmpeg) come from `--binaries DIR/<arch>/<name>` when present, otherwise
//! from their pinned download, checked against its SHA-256 and cached
//! outside the source tree (`tools`).

pub mod archive;
pub mod build;
pub mod digest;
pub mod edition;
pub mod image;
pub mod manifest;
pub mod oci;
pub mod sbom;
pub mod signing;
pub mod tools;
pub mod trust;
pub mod verify;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

/// Errors of `yunhui bundle`.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An input file is unusable.
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The edition could not be loaded.
    #[error(transparent)]
    Edition(#[from] edition::EditionError),
    /// An arch name is not known.
    #[error("unknown arch {0:?}; use amd64, arm64 and/or loong64")]
    UnknownArch(String),
    /// No arch was requested.
    #[error("no target arch given and the edition lists none; pass --arch amd64,arm64,loong64")]
    NoArch,
    /// The arch is not part of the edition.
    #[error("arch {arch} is not part of the {edition} edition (it allows {allowed})")]
    ArchNotInEdition {
        /// Requested arch.
        arch: String,
        /// Edition.
        edition: String,
        /// Its arches.
        allowed: String,
    },
    /// A strict edition lacks an image for an arch.
    #[error(
        "the {edition} edition requires every image for every target arch, but these are missing: {missing}; build them (or pass --binaries with <dir>/<arch>/<binary> for each) and try again"
    )]
    StrictArchMissing {
        /// Edition.
        edition: String,
        /// `image for arch (why)`, `; `-separated.
        missing: String,
    },
    /// Cross compilation failed.
    #[error(
        "cross-building for {target} failed: {message}; prerequisites: {prerequisites} and `pip install ziglang cargo-zigbuild`, or pass --binaries DIR"
    )]
    CrossBuild {
        /// Rust target.
        target: String,
        /// What happened.
        message: String,
        /// What the build needs for this target (`rustup target add …`).
        prerequisites: String,
    },
    /// The output directory has content.
    #[error("output directory {0} exists and is not empty; remove it or pass another --out")]
    OutNotEmpty(PathBuf),
    /// Building an image failed.
    #[error(transparent)]
    Image(#[from] image::ImageError),
    /// Writing the OCI layout failed.
    #[error(transparent)]
    Layout(#[from] oci::LayoutError),
    /// Keys or signing failed.
    #[error(transparent)]
    Signing(#[from] signing::SigningError),
    /// The key is not in the algorithm the edition signs with.
    #[error(
        "the {edition} edition signs with {} (`signature` in its edition file), but {key} is an {} key; make one with `yunhui bundle keygen --algorithm {}`",
        wanted.describe(),
        got.describe(),
        clap::ValueEnum::to_possible_value(wanted).map(|v| v.get_name().to_string()).unwrap_or_default()
    )]
    KeyAlgorithm {
        /// Edition.
        edition: String,
        /// The edition's algorithm.
        wanted: signing::Algorithm,
        /// The key file.
        key: PathBuf,
        /// The key's algorithm.
        got: signing::Algorithm,
    },
    /// A tool of an image could not be had.
    #[error(transparent)]
    Tool(#[from] tools::ToolError),
    /// The SBOM could not be produced.
    #[error(transparent)]
    Sbom(#[from] sbom::SbomError),
    /// Serialising JSON failed (a bug).
    #[error("could not serialise JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Verification failed.
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    /// The single-file bundle was refused.
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
}

/// `yunhui bundle …`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: BundleCommand,
}

/// Output format of commands a program may read.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The `bundle` subcommands.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Build a signed bundle for an edition.
    Build(BuildArgs),
    /// Verify a bundle's signature, checksums and completeness.
    Verify(VerifyArgs),
    /// Generate a signing key pair (<OUT>.key and <OUT>.pub).
    Keygen(KeygenArgs),
}

/// `yunhui bundle build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Edition (a file in airgap/editions/): enterprise or xinchuang.
    #[arg(long)]
    pub edition: String,
    /// Target arches, comma-separated (amd64, arm64, loong64); default:
    /// every arch of the edition (`arches` in its file).
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<String>,
    /// Output directory (default: dist/yunhui-<edition>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Prebuilt binaries as DIR/<arch>/<binary>; without it they are cross-built.
    #[arg(long)]
    pub binaries: Option<PathBuf>,
    /// Secret key in the edition's signature algorithm: minisign (ed25519)
    /// or PKCS#8 PEM (SM2); password, if any, in YUNHUI_BUNDLE_KEY_PASSWORD.
    #[arg(long, env = "YUNHUI_BUNDLE_KEY")]
    pub key: PathBuf,
    /// Source revision for image labels and the manifest (default: git HEAD of --source).
    #[arg(long)]
    pub revision: Option<String>,
    /// Workspace root holding Cargo.toml and airgap/.
    #[arg(long, default_value = ".")]
    pub source: PathBuf,
    /// Also write the bundle as one file next to the directory:
    /// `<out>.tar.zst` (zstd), `<out>.tar` (tar) or nothing (none).
    #[arg(long, value_enum, default_value_t)]
    pub archive: archive::Compression,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// `yunhui bundle verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle directory or single file (`.tar`, `.tar.zst`).
    pub bundle: PathBuf,
    /// Which signer to accept.
    #[command(flatten)]
    pub trust: trust::TrustArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// `yunhui bundle keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Path prefix: writes <OUT>.key (mode 0600) and <OUT>.pub.
    #[arg(long, default_value = "yunhui-bundle")]
    pub out: PathBuf,
    /// ed25519: minisign files. sm2: SM2 (GM/T 0003) as PKCS#8 PEM secret
    /// key (encrypted when YUNHUI_BUNDLE_KEY_PASSWORD is set) and SPKI PEM
    /// public key, for editions with `signature = "sm2"`.
    #[arg(long, value_enum, default_value_t)]
    pub algorithm: signing::Algorithm,
}

/// The key id (fingerprint) of the key that signed the bundle at `root`.
fn signer_key_id(root: &Path) -> Option<String> {
    let path = root.join(manifest::BUNDLED_PUBLIC_KEY);
    let text = std::fs::read_to_string(&path).ok()?;
    let public = signing::parse_public_key(&text, &path).ok()?;
    Some(format!(
        "{} key {}",
        public.algorithm().describe(),
        public.key_id()
    ))
}

/// Runs a `bundle` subcommand.
pub fn run(args: BundleArgs) -> Result<(), BundleError> {
    match args.command {
        BundleCommand::Build(args) => {
            let started = std::time::Instant::now();
            let out = args
                .out
                .unwrap_or_else(|| PathBuf::from(format!("dist/yunhui-{}", args.edition)));
            let manifest = build::build(&build::BuildRequest {
                source: args.source,
                edition: args.edition,
                arches: args.arch,
                out: out.clone(),
                binaries: match args.binaries {
                    Some(dir) => build::BinarySource::Prebuilt(dir),
                    None => build::BinarySource::CrossBuild,
                },
                key: args.key,
                revision: args.revision,
            })?;
            let single = archive::write(&out, &manifest, args.archive).map_err(|source| {
                BundleError::Io {
                    path: out.clone(),
                    source,
                }
            })?;
            if let Some(single) = &single {
                eprintln!("wrote the single-file bundle {}", single.display());
            }
            match args.output {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&manifest)?),
                OutputFormat::Text => {
                    let bytes: u64 = manifest.files.iter().map(|f| f.size).sum();
                    println!(
                        "built {} ({} edition, {}) in {:.1}s: {} images, {} files, {:.1} MiB, aggregate {}",
                        out.display(),
                        manifest.edition,
                        manifest
                            .targets
                            .iter()
                            .map(|t| t.arch.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        started.elapsed().as_secs_f64(),
                        manifest.images.len(),
                        manifest.files.len(),
                        bytes as f64 / (1024.0 * 1024.0),
                        manifest.aggregate()
                    );
                    if let Some(id) = signer_key_id(&out) {
                        println!("  signed by {id}: give sites its public key to verify with");
                    }
                    for image in &manifest.images {
                        println!("  {}:{} {}", image.repository, image.tag, image.digest);
                    }
                    for note in &manifest.notes {
                        println!("  note: {note}");
                    }
                }
            }
            Ok(())
        }
        BundleCommand::Verify(args) => {
            let trust = args.trust.trust()?;
            let verified = trust::open(&args.bundle, &trust)?;
            let signer = trust.signer(&verified.key_id);
            match args.output {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::json!({
                        "ok": true,
                        "bundle": args.bundle,
                        "key_id": verified.key_id,
                        "key_from_bundle": verified.key_from_bundle,
                        "signer": signer,
                        "edition": verified.manifest.edition,
                        "version": verified.manifest.version,
                        "algorithm": verified.algorithm,
                        "files": verified.files.len(),
                        "digest": verified.manifest.digest,
                        "aggregate": verified.manifest.aggregate(),
                        "aggregate_sha256": Some(&verified.manifest.aggregate_sha256).filter(|a| !a.is_empty()),
                        "aggregate_sm3": Some(&verified.manifest.aggregate_sm3).filter(|a| !a.is_empty()),
                    })
                ),
                OutputFormat::Text => println!(
                    "ok: {} ({} {} edition): {} signature by {signer} valid, {} files match ({}), images complete",
                    args.bundle.display(),
                    verified.manifest.version,
                    verified.manifest.edition,
                    verified.algorithm.describe(),
                    verified.files.len(),
                    verified.manifest.digest.name(),
                ),
            }
            Ok(())
        }
        BundleCommand::Keygen(args) => {
            let (secret, public, key) = signing::keygen(&args.out, args.algorithm)?;
            println!(
                "wrote {} (secret: keep it off the air-gapped site) and {} (give this to sites): {} key {}",
                secret.display(),
                public.display(),
                key.algorithm().describe(),
                key.key_id()
            );
            Ok(())
        }
    }
}
