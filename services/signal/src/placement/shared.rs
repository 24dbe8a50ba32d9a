//! The node table shared by several signal replicas. A node reports to the
//! Service in front of all replicas, so each report reaches one of them;
//! that replica writes it to the database ([`persist`]) and every replica
//! reads the newer ones back into its own table every
//! [`SYNC_EVERY`] ([`spawn_sync`]). A drain mark set at one replica
//! ([`mark_draining`]) travels the same way. With one replica nothing is
//! written.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::Row;
use yunhui_proto::media::NodeReport;

use super::NodeId;
use super::nodes::{FORGET_AFTER, NodeTable};
use crate::error::{Error, Result};
use crate::store::{Store, now_ms};

/// How often a replica reads the other replicas' reports.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Writes a node's report as received now.
pub async fn persist(store: &Store, report: &NodeReport) -> Result<()> {
    let body = serde_json::to_string(report)
        .map_err(|e| Error::Internal(format!("a node report could not be encoded: {e}")))?;
    let now = now_ms();
    // Update, else insert; a replica that inserted first makes the insert
    // fail, and the update then succeeds.
    for _ in 0..2 {
        let updated =
            sqlx::query("UPDATE media_nodes SET report = $1, seen_at_ms = $2 WHERE node_id = $3")
                .bind(body.clone())
                .bind(now)
                .bind(report.node_id.clone())
                .execute(store.pool())
                .await?
                .rows_affected();
        if updated > 0 {
            return Ok(());
        }
        let inserted = sqlx::query(
            "INSERT INTO media_nodes (node_id, report, seen_at_ms) VALUES ($1, $2, $3)",
        )
        .bind(report.node_id.clone())
        .bind(body.clone())
        .bind(now)
        .execute(store.pool())
        .await;
        match inserted {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Records that `node_id` was marked draining, for the other replicas.
pub async fn mark_draining(store: &Store, node_id: &str) -> Result<()> {
    sqlx::query("UPDATE media_nodes SET drain_marked = 1 WHERE node_id = $1")
        .bind(node_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Reads every report not older than [`FORGET_AFTER`] into `table`, with
/// the drain marks other replicas recorded.
pub async fn load(store: &Store, table: &NodeTable) -> Result<usize> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT report, seen_at_ms, drain_marked FROM media_nodes WHERE seen_at_ms > $1",
    )
    .bind(now - FORGET_AFTER.as_millis() as i64)
    .fetch_all(store.pool())
    .await?;
    let mut merged = 0;
    for row in rows {
        let body: String = row.try_get("report")?;
        let seen: i64 = row.try_get("seen_at_ms")?;
        let report: NodeReport = match serde_json::from_str(&body) {
            Ok(report) => report,
            Err(e) => {
                tracing::warn!(error = %e, "a stored node report is unreadable; skipped");
                continue;
            }
        };
        let drain_marked: i64 = row.try_get("drain_marked")?;
        let id = NodeId(report.node_id.clone());
        let age = Duration::from_millis(now.saturating_sub(seen).max(0) as u64);
        if let Err(e) = table.merge(report, age) {
            tracing::warn!(error = %e, "a stored node report is invalid; skipped");
            continue;
        }
        if drain_marked == 1 {
            table.set_draining(&id);
        }
        merged += 1;
    }
    Ok(merged)
}

/// Reads the other replicas' reports into `table` every [`SYNC_EVERY`] for
/// as long as `table` lives.
pub fn spawn_sync(store: Store, table: &Arc<NodeTable>) -> tokio::task::JoinHandle<()> {
    let table: Weak<NodeTable> = Arc::downgrade(table);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SYNC_EVERY).await;
            let Some(table) = table.upgrade() else {
                return;
            };
            if let Err(e) = load(&store, &table).await {
                tracing::warn!(error = %e, "reading the media nodes' reports failed");
            }
        }
    })
}
