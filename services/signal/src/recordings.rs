//! Cloud recordings as "My videos" (F-REC-1): one row per recorded file,
//! written as the recorder reports files opened and finished, read by the
//! Open API (`crate::api::recordings`), and deleted by their owner, a
//! tenant administrator or retention. Every query names the tenant.
//!
//! The files themselves are in the recordings directory
//! ([`crate::SignalConfig::recordings_dir`]), which the recorder writes.

use std::path::{Path, PathBuf};

use sqlx::Row;
use sqlx::any::AnyRow;
use yunhui_proto::api::{AccountRole, Recording, RecordingFileState};
use yunhui_proto::recording::is_file_name;

use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// Longest title of a recording.
pub const TITLE_CHARS: usize = 128;

/// Media type of the recorder's files.
pub const CONTENT_TYPE: &str = "video/webm";

/// A file the recorder began writing.
pub struct NewFile<'a> {
    /// The recorded meeting's tenant.
    pub tenant_id: &'a str,
    /// The meeting.
    pub meeting_id: &'a str,
    /// Its number.
    pub meeting_number: &'a str,
    /// Whose videos these are: the meeting's host.
    pub owner_account_id: &'a str,
    /// The recording job.
    pub job_id: &'a str,
    /// The file's place in the job, from 1.
    pub index: u32,
    /// Shown title.
    pub title: String,
    /// File name in the recordings directory.
    pub file: &'a str,
    /// The recorder that holds the file, when signal cannot read the
    /// recordings directory (its base URL).
    pub location: Option<&'a str>,
}

/// Whether the tenant's hosts may record in the cloud: licensed, and not
/// switched off by its administrator ([`crate::media_policy`]).
pub async fn tenant_may_record(store: &Store, tenant_id: &str) -> Result<bool> {
    let mut conn = store.pool().acquire().await?;
    Ok(crate::media_policy::of_tenant(&mut conn, tenant_id)
        .await?
        .recording)
}

/// Whether the tenant's hosts may stream live: licensed, and not switched
/// off by its administrator.
pub async fn tenant_may_stream(store: &Store, tenant_id: &str) -> Result<bool> {
    let mut conn = store.pool().acquire().await?;
    Ok(crate::media_policy::of_tenant(&mut conn, tenant_id)
        .await?
        .streaming)
}

/// Keeps a file the recorder opened (once: a repeated report changes nothing).
pub async fn file_started(store: &Store, file: NewFile<'_>) -> Result<()> {
    if !is_file_name(file.file) {
        return Err(Error::InvalidInput(format!(
            "the recorder reported an unacceptable file name {:?}",
            file.file
        )));
    }
    let retention = {
        let mut conn = store.pool().acquire().await?;
        crate::media_policy::of_tenant(&mut conn, file.tenant_id)
            .await?
            .effective_retention_days
    };
    let started = now();
    let expires_at = retention.map(|days| started + i64::from(days) * 24 * 3600);
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    if segment_known(store, file.job_id, file.index).await? {
        return Ok(());
    }
    let inserted = sqlx::query(
        "INSERT INTO recordings (id, tenant_id, meeting_id, meeting_number, owner_account_id, \
         job_id, segment_index, title, file_name, file_location, state, started_at, duration_ms, \
         size_bytes, expires_at, media_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'recording', $11, 0, 0, $12, $13)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(file.tenant_id)
    .bind(file.meeting_id)
    .bind(file.meeting_number)
    .bind(file.owner_account_id)
    .bind(file.job_id)
    .bind(i64::from(file.index))
    .bind(file.title)
    .bind(file.file)
    .bind(file.location)
    .bind(started)
    .bind(expires_at)
    .bind(key)
    .execute(store.pool())
    .await;
    match inserted {
        Ok(_) => Ok(()),
        // The same report twice at once: the unique index kept one.
        Err(_) if segment_known(store, file.job_id, file.index).await? => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn segment_known(store: &Store, job_id: &str, index: u32) -> Result<bool> {
    let row = sqlx::query("SELECT id FROM recordings WHERE job_id = $1 AND segment_index = $2")
        .bind(job_id)
        .bind(i64::from(index))
        .fetch_optional(store.pool())
        .await?;
    Ok(row.is_some())
}

/// Marks a file finished, with its length and size, and tells the tenant's
/// webhooks (`recording.ready`) in the same transaction, once.
pub async fn file_finished(
    store: &Store,
    job_id: &str,
    index: u32,
    duration_ms: u64,
    bytes: u64,
) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    let finished = sqlx::query(
        "UPDATE recordings SET state = 'ready', duration_ms = $1, size_bytes = $2 \
         WHERE job_id = $3 AND segment_index = $4 AND state <> 'ready'",
    )
    .bind(i64::try_from(duration_ms).unwrap_or(i64::MAX))
    .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
    .bind(job_id)
    .bind(i64::from(index))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if finished > 0 {
        let row = sqlx::query(
            "SELECT id, tenant_id, meeting_id, meeting_number, title, duration_ms, size_bytes \
             FROM recordings WHERE job_id = $1 AND segment_index = $2",
        )
        .bind(job_id)
        .bind(i64::from(index))
        .fetch_one(&mut *tx)
        .await?;
        let event = crate::webhooks::Event {
            tenant_id: row.try_get("tenant_id")?,
            kind: yunhui_proto::api::WebhookEvent::RecordingReady,
            data: serde_json::json!({
                "recording_id": row.try_get::<String, _>("id")?,
                "meeting_id": row.try_get::<String, _>("meeting_id")?,
                "meeting_number": row.try_get::<String, _>("meeting_number")?,
                "title": row.try_get::<String, _>("title")?,
                "duration_ms": row.try_get::<i64, _>("duration_ms")?,
                "size_bytes": row.try_get::<i64, _>("size_bytes")?,
            }),
        };
        crate::webhooks::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Marks every file of `job_id` still being written as interrupted (the
/// recorder went away): its duration is estimated from the wall clock and
/// its size read from `dir`, where it plays up to what was written.
pub async fn job_interrupted(store: &Store, job_id: &str, dir: Option<&Path>) -> Result<()> {
    let rows = sqlx::query(
        "SELECT id, file_name, started_at FROM recordings \
         WHERE job_id = $1 AND state = 'recording'",
    )
    .bind(job_id)
    .fetch_all(store.pool())
    .await?;
    for row in rows {
        let id: String = row.try_get("id")?;
        let file: String = row.try_get("file_name")?;
        let started: i64 = row.try_get("started_at")?;
        let size = match dir {
            Some(dir) => tokio::fs::metadata(dir.join(&file))
                .await
                .map(|m| m.len() as i64)
                .unwrap_or(0),
            None => 0,
        };
        sqlx::query(
            "UPDATE recordings SET state = 'interrupted', duration_ms = $1, size_bytes = $2 \
             WHERE id = $3 AND state = 'recording'",
        )
        .bind((now() - started).max(0) * 1000)
        .bind(size)
        .bind(&id)
        .execute(store.pool())
        .await?;
    }
    Ok(())
}

/// Keeps the size of a recording's file learnt after it was listed.
pub async fn set_size(store: &Store, id: &str, size: i64) -> Result<()> {
    sqlx::query("UPDATE recordings SET size_bytes = $1 WHERE id = $2 AND size_bytes = 0")
        .bind(size)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// A recording as kept, with what the API does not show.
pub struct RecordingRecord {
    /// What the API shows (its URLs built on the public URL).
    pub api: Recording,
    /// The file's name in the recordings directory.
    pub file_name: String,
    /// The recorder that holds the file, when it is not in the directory.
    pub file_location: Option<String>,
    /// The key that streams it without a bearer token.
    pub media_key: String,
}

const COLUMNS: &str = "id, tenant_id, meeting_id, meeting_number, owner_account_id, title, \
                       file_name, file_location, state, started_at, duration_ms, size_bytes, expires_at, media_key";

fn record(row: &AnyRow, base: &str) -> Result<RecordingRecord> {
    let id: String = row.try_get("id")?;
    let media_key: String = row.try_get("media_key")?;
    let state = match row.try_get::<String, _>("state")?.as_str() {
        "recording" => RecordingFileState::Recording,
        "ready" => RecordingFileState::Ready,
        _ => RecordingFileState::Interrupted,
    };
    let media_url = format!(
        "{}/api/v1/recordings/{id}/media?key={media_key}",
        base.trim_end_matches('/')
    );
    Ok(RecordingRecord {
        api: Recording {
            download_url: format!("{media_url}&download=1"),
            media_url,
            id,
            title: row.try_get("title")?,
            meeting_id: row.try_get("meeting_id")?,
            meeting_number: row.try_get("meeting_number")?,
            owner_account_id: row.try_get("owner_account_id")?,
            state,
            started_at: row.try_get("started_at")?,
            duration_ms: row.try_get("duration_ms")?,
            size_bytes: row.try_get("size_bytes")?,
            expires_at: row.try_get("expires_at")?,
            content_type: CONTENT_TYPE.into(),
        },
        file_name: row.try_get("file_name")?,
        file_location: row.try_get("file_location")?,
        media_key,
    })
}

/// The caller's recordings, newest first; with `whole_tenant`, every
/// recording of the tenant (tenant administrators only).
pub async fn list(
    store: &Store,
    caller: &Caller,
    whole_tenant: bool,
    base: &str,
) -> Result<Vec<Recording>> {
    let rows = if whole_tenant {
        if caller.role != AccountRole::TenantAdmin {
            return Err(Error::NotTenantAdmin("list every recording of the tenant"));
        }
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM recordings WHERE tenant_id = $1 AND deleted_at IS NULL \
             ORDER BY started_at DESC, segment_index DESC"
        ))
        .bind(&caller.tenant_id)
        .fetch_all(store.pool())
        .await?
    } else {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM recordings WHERE tenant_id = $1 AND owner_account_id = $2 \
             AND deleted_at IS NULL ORDER BY started_at DESC, segment_index DESC"
        ))
        .bind(&caller.tenant_id)
        .bind(&caller.account_id)
        .fetch_all(store.pool())
        .await?
    };
    rows.iter()
        .map(|row| record(row, base).map(|r| r.api))
        .collect()
}

/// One recording the caller may see: their own, or any of the tenant's for
/// a tenant administrator. Others' recordings are not found.
pub async fn get(store: &Store, caller: &Caller, id: &str, base: &str) -> Result<RecordingRecord> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM recordings WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL"
    ))
    .bind(id)
    .bind(&caller.tenant_id)
    .fetch_optional(store.pool())
    .await?;
    let found = row.map(|row| record(&row, base)).transpose()?.filter(|r| {
        r.api.owner_account_id == caller.account_id || caller.role == AccountRole::TenantAdmin
    });
    found.ok_or_else(|| not_visible(id))
}

/// The file of recording `id` when `key` is its media key.
pub async fn file_by_key(store: &Store, id: &str, key: &str) -> Result<RecordingRecord> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM recordings WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    let found = row.map(|row| record(&row, "")).transpose()?;
    match found {
        // Compared in constant time: the key is the only credential here.
        Some(r) if subtle::ConstantTimeEq::ct_eq(r.media_key.as_bytes(), key.as_bytes()).into() => {
            Ok(r)
        }
        _ => Err(not_visible(id)),
    }
}

/// Renames a recording the caller may see.
pub async fn rename(
    store: &Store,
    caller: &Caller,
    id: &str,
    title: &str,
    base: &str,
) -> Result<Recording> {
    let title = title.trim();
    let chars = title.chars().count();
    if chars == 0 || chars > TITLE_CHARS {
        return Err(Error::InvalidInput(format!(
            "a recording's title has 1 to {TITLE_CHARS} characters; this one has {chars}"
        )));
    }
    let existing = get(store, caller, id, base).await?;
    sqlx::query("UPDATE recordings SET title = $1 WHERE id = $2 AND tenant_id = $3")
        .bind(title)
        .bind(id)
        .bind(&caller.tenant_id)
        .execute(store.pool())
        .await?;
    Ok(Recording {
        title: title.to_string(),
        ..existing.api
    })
}

/// Where recorded files are deleted: the recordings directory when signal
/// reads it, else the recorder that holds each file (its internal API).
#[derive(Debug, Clone, Default)]
pub struct FileStore {
    /// The recordings directory, when signal can read it.
    pub dir: Option<PathBuf>,
    /// The internal key the recorders' API takes.
    pub internal_key: Option<String>,
}

impl FileStore {
    /// Deletes `file`, in the directory or at the recorder at `location`.
    /// A file already gone is fine; a failure is logged (the recording is
    /// gone from every list either way).
    async fn remove(&self, file: &str, location: Option<&str>) {
        if !is_file_name(file) {
            return;
        }
        if let Some(dir) = &self.dir {
            match tokio::fs::remove_file(dir.join(file)).await {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && location.is_none() => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(error = %e, file, "could not delete a recording's file");
                    return;
                }
            }
        }
        let Some(location) = location else {
            return;
        };
        let url = format!(
            "{}/internal/v1/files/{file}",
            location.trim_end_matches('/')
        );
        let sent = reqwest::Client::new()
            .delete(&url)
            .bearer_auth(self.internal_key.as_deref().unwrap_or_default())
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(reply) if reply.status().is_success() => {}
            Ok(reply) if reply.status() == reqwest::StatusCode::NOT_FOUND => {}
            Ok(reply) => {
                tracing::warn!(status = %reply.status(), file, %location, "the recorder did not delete a recording's file")
            }
            Err(e) => {
                tracing::warn!(error = %e, file, %location, "the recorder holding a recording's file is unreachable; the file stays")
            }
        }
    }
}

/// Deletes a recording the caller may see: gone from every list at once,
/// and its file from where it is kept.
pub async fn delete(store: &Store, caller: &Caller, id: &str, files: &FileStore) -> Result<()> {
    let existing = get(store, caller, id, "").await?;
    sqlx::query("UPDATE recordings SET deleted_at = $1 WHERE id = $2 AND tenant_id = $3")
        .bind(now())
        .bind(id)
        .bind(&caller.tenant_id)
        .execute(store.pool())
        .await?;
    files
        .remove(&existing.file_name, existing.file_location.as_deref())
        .await;
    Ok(())
}

/// Deletes every recording whose retention ran out by `at`; returns how many.
pub async fn expire(store: &Store, at: i64, files: &FileStore) -> Result<usize> {
    let rows = sqlx::query(
        "SELECT id, file_name, file_location FROM recordings \
         WHERE expires_at IS NOT NULL AND expires_at <= $1 AND deleted_at IS NULL",
    )
    .bind(at)
    .fetch_all(store.pool())
    .await?;
    for row in &rows {
        let id: String = row.try_get("id")?;
        let file: String = row.try_get("file_name")?;
        let location: Option<String> = row.try_get("file_location")?;
        sqlx::query("UPDATE recordings SET deleted_at = $1 WHERE id = $2")
            .bind(at)
            .bind(&id)
            .execute(store.pool())
            .await?;
        files.remove(&file, location.as_deref()).await;
    }
    Ok(rows.len())
}

/// Runs [`expire`] now and every hour.
pub fn spawn_retention(store: Store, files: FileStore) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match expire(&store, now(), &files).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(recordings = n, "deleted recordings past their retention"),
                Err(e) => tracing::warn!(error = %e, "recording retention could not run"),
            }
        }
    });
}

fn not_visible(id: &str) -> Error {
    Error::NotVisible {
        what: "recording",
        id: id.to_string(),
    }
}
