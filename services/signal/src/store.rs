//! The database: an embedded SQLite file by default, PostgreSQL (or a
//! PostgreSQL-compatible database) when given a URL. Queries are written once
//! in the common dialect with `$n` placeholders and run through sqlx's `Any`
//! driver.

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

use crate::error::{Error, Result};

/// Id of the tenant every account joins until multi-tenancy lands.
pub const DEFAULT_TENANT_ID: &str = "default";

/// A connection pool plus the kind of database behind it.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Opens (creating if needed) the SQLite database `yunhui.db` in `dir`.
    pub async fn open_sqlite(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Internal(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let file = dir.join("yunhui.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        Self::connect(&url).await
    }

    /// Connects to `url` (`sqlite://...` or `postgres://...`) and migrates it.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let options =
            AnyConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            // SQLite allows one writer; a single connection avoids lock errors.
            .max_connections(if sqlite { 1 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if !sqlite {
            refuse_empty_string_as_null(&pool).await?;
        }
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| Error::Internal(format!("database migration failed: {e}")))?;
        let store = Store { pool };
        store.ensure_default_tenant().await?;
        Ok(store)
    }

    /// The pool, for the modules that own the tables.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    async fn ensure_default_tenant(&self) -> Result<()> {
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM tenants WHERE id = $1")
            .bind(DEFAULT_TENANT_ID)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            // Everything a single-tenant install needs is on (migrations 0016
            // and 0018 do the same for default tenants made before them).
            sqlx::query(
                "INSERT INTO tenants (id, name, features, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(DEFAULT_TENANT_ID)
            .bind("Default")
            .bind(r#"{"recording":true,"streaming":true,"sip":true,"webinar":true,"interpretation":true}"#)
            .bind(now())
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }
}

/// openGauss in its default Oracle-compatible mode (DBCOMPATIBILITY 'A') and
/// KingbaseES with `ora_input_emptystr_isnull` on store an empty string as
/// NULL, which breaks NOT NULL text columns and comparisons with `""`; such a
/// database is refused before anything is written to it
/// (docs/database-compatibility.md).
async fn refuse_empty_string_as_null(pool: &AnyPool) -> Result<()> {
    let (is_null,): (i64,) = sqlx::query_as(
        "SELECT CAST(CASE WHEN CAST($1 AS TEXT) IS NULL THEN 1 ELSE 0 END AS BIGINT)",
    )
    .bind("")
    .fetch_one(pool)
    .await?;
    if is_null == 1 {
        return Err(Error::Internal(
            "the database stores an empty string as NULL (openGauss created in its default \
             Oracle-compatible mode, or KingbaseES with ora_input_emptystr_isnull on); signal \
             needs PostgreSQL's behaviour: create the database with DBCOMPATIBILITY 'PG' \
             (openGauss) or set ora_input_emptystr_isnull = off (KingbaseES)"
                .into(),
        ));
    }
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch: the clock of the rows several
/// replicas share (leases, node and gateway reports).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
