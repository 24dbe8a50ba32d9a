//! The worker table: the latest report of every SIP gateway and recorder
//! ([`WorkerReport`], one table for the pools of [`WorkerPool`]), kept in
//! the database so that every signal replica answers for all workers
//! whichever replica a report reached, and the operator's drain marks beside
//! them. Workers are few (one per pod) and report every couple of seconds,
//! so each report is one upsert and each listing one query; nothing is held
//! in memory.
//!
//! A worker whose last report is older than [`GONE_AFTER`] is listed as
//! gone; one silent for [`FORGET_AFTER`] is no longer listed (its row is
//! removed at the next report of any worker).

use sqlx::Row;
use yunhui_proto::worker::{
    GONE_AFTER, MAX_CAPACITY, WorkerLoad, WorkerPool, WorkerReport, WorkerReportAnswer,
};

use crate::error::{Error, Result};
use crate::placement::nodes::{FORGET_AFTER, valid_control_url, valid_node_id};
use crate::store::{Store, now_ms};

/// Checks a report of a `pool` worker sent for `path_id`.
fn check(pool: WorkerPool, path_id: &str, report: &WorkerReport) -> Result<()> {
    let noun = pool.noun();
    let id = &report.worker_id;
    if !valid_node_id(id) {
        return Err(Error::InvalidInput(format!(
            "the {noun} id must be 1 to 253 letters, digits, '-', '.', '_' or ':' (got {id:?})"
        )));
    }
    if path_id != id {
        return Err(Error::InvalidInput(format!(
            "the report is for {noun} {id:?} but was sent for {noun} {path_id:?}"
        )));
    }
    if !valid_control_url(&report.control_url) {
        return Err(Error::InvalidInput(format!(
            "the control URL must be an http:// or https:// URL of at most 253 characters (got {:?})",
            report.control_url
        )));
    }
    if !(1..=MAX_CAPACITY).contains(&report.capacity) || report.in_progress > MAX_CAPACITY {
        let unit = pool.unit();
        return Err(Error::InvalidInput(format!(
            "capacity must be 1 to {MAX_CAPACITY} {unit} and {unit} in progress at most {MAX_CAPACITY} (got capacity {}, in progress {})",
            report.capacity, report.in_progress
        )));
    }
    Ok(())
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Records `report` of a `pool` worker, sent for `path_id`, as received
/// now; answers whether the worker is marked draining.
pub async fn record(
    store: &Store,
    pool: WorkerPool,
    path_id: &str,
    report: &WorkerReport,
) -> Result<WorkerReportAnswer> {
    check(pool, path_id, report)?;
    let pool_name = pool.path();
    let now = now_ms();
    let forget_before = now - FORGET_AFTER.as_millis() as i64;
    sqlx::query("DELETE FROM workers WHERE seen_at_ms < $1")
        .bind(forget_before)
        .execute(store.pool())
        .await?;
    // Update, else insert; a replica that inserted first makes the insert
    // fail, and the update then succeeds.
    for _ in 0..2 {
        let updated = sqlx::query(
            "UPDATE workers SET control_url = $1, in_progress = $2, capacity = $3, draining = $4, \
             seen_at_ms = $5 WHERE pool = $6 AND worker_id = $7",
        )
        .bind(report.control_url.clone())
        .bind(count(report.in_progress))
        .bind(count(report.capacity))
        .bind(i64::from(report.draining))
        .bind(now)
        .bind(pool_name)
        .bind(report.worker_id.clone())
        .execute(store.pool())
        .await?
        .rows_affected();
        if updated > 0 {
            break;
        }
        let inserted = sqlx::query(
            "INSERT INTO workers (pool, worker_id, control_url, in_progress, capacity, draining, \
             drain_marked, seen_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .bind(pool_name)
        .bind(report.worker_id.clone())
        .bind(report.control_url.clone())
        .bind(count(report.in_progress))
        .bind(count(report.capacity))
        .bind(i64::from(report.draining))
        .bind(now)
        .execute(store.pool())
        .await;
        match inserted {
            Ok(_) => break,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let marked: Option<i64> =
        sqlx::query_scalar("SELECT drain_marked FROM workers WHERE pool = $1 AND worker_id = $2")
            .bind(pool_name)
            .bind(report.worker_id.clone())
            .fetch_optional(store.pool())
            .await?;
    Ok(WorkerReportAnswer {
        drain: marked == Some(1),
    })
}

/// Every `pool` worker that reported within [`FORGET_AFTER`], by id.
pub async fn list(store: &Store, pool: WorkerPool) -> Result<Vec<WorkerLoad>> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT worker_id, in_progress, capacity, draining, drain_marked, seen_at_ms \
         FROM workers WHERE pool = $1 AND seen_at_ms >= $2 ORDER BY worker_id",
    )
    .bind(pool.path())
    .bind(now - FORGET_AFTER.as_millis() as i64)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let seen: i64 = row.try_get("seen_at_ms")?;
            let draining: i64 = row.try_get("draining")?;
            let marked: i64 = row.try_get("drain_marked")?;
            let in_progress: i64 = row.try_get("in_progress")?;
            let capacity: i64 = row.try_get("capacity")?;
            Ok(WorkerLoad {
                worker_id: row.try_get("worker_id")?,
                live: now.saturating_sub(seen) <= GONE_AFTER.as_millis() as i64,
                draining: draining == 1 || marked == 1,
                capacity: u64::try_from(capacity).unwrap_or_default(),
                in_progress: u64::try_from(in_progress).unwrap_or_default(),
            })
        })
        .collect()
}

/// The control URLs of the `pool` workers that take work (live, not
/// draining, not full), the one with the most room first.
pub async fn by_room(store: &Store, pool: WorkerPool) -> Result<Vec<String>> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT control_url, in_progress, capacity FROM workers WHERE pool = $1 \
         AND seen_at_ms >= $2 AND draining = 0 AND drain_marked = 0 AND in_progress < capacity",
    )
    .bind(pool.path())
    .bind(now - GONE_AFTER.as_millis() as i64)
    .fetch_all(store.pool())
    .await?;
    let mut workers = rows
        .iter()
        .map(|row| {
            let in_progress: i64 = row.try_get("in_progress")?;
            let capacity: i64 = row.try_get("capacity")?;
            let url: String = row.try_get("control_url")?;
            Ok((
                in_progress.saturating_mul(1000) / capacity.max(1),
                in_progress,
                url,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    workers.sort();
    Ok(workers.into_iter().map(|(_, _, url)| url).collect())
}

/// The control URLs to hand `pool` work to: with the table of `store`, the
/// workers with room (as [`by_room`]), then `service_url` (the pool's
/// Service) last; a table that cannot be read leaves the Service alone.
pub async fn by_room_then(
    store: Option<&Store>,
    pool: WorkerPool,
    service_url: String,
) -> Vec<String> {
    let mut urls = match store {
        Some(store) => by_room(store, pool).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, pool = pool.path(), "the worker table could not be read; using the pool's Service");
            Vec::new()
        }),
        None => Vec::new(),
    };
    urls.retain(|url| *url != service_url);
    urls.push(service_url);
    urls
}

/// Marks the `pool` worker `worker_id` draining: its next report's answer
/// tells it to take nothing new. `None` when the worker has not reported.
pub async fn mark_draining(
    store: &Store,
    pool: WorkerPool,
    worker_id: &str,
) -> Result<Option<WorkerLoad>> {
    sqlx::query("UPDATE workers SET drain_marked = 1 WHERE pool = $1 AND worker_id = $2")
        .bind(pool.path())
        .bind(worker_id)
        .execute(store.pool())
        .await?;
    Ok(list(store, pool)
        .await?
        .into_iter()
        .find(|w| w.worker_id == worker_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str) -> WorkerReport {
        WorkerReport {
            worker_id: id.into(),
            control_url: "http://10.0.0.7:8090".into(),
            in_progress: 3,
            capacity: 50,
            draining: false,
        }
    }

    #[test]
    fn a_report_names_its_worker_its_url_and_a_capacity() {
        let sip = WorkerPool::SipGateways;
        assert!(check(sip, "sip-a", &report("sip-a")).is_ok());
        let err = |r: &WorkerReport, path: &str| check(sip, path, r).unwrap_err().to_string();
        assert!(err(&report("sip a"), "sip a").contains("SIP gateway id"));
        assert!(err(&report("sip-a"), "sip-b").contains("was sent for SIP gateway \"sip-b\""));
        let mut bad = report("sip-a");
        bad.control_url = "ftp://x".into();
        assert!(err(&bad, "sip-a").contains("control URL"));
        let mut empty = report("sip-a");
        empty.capacity = 0;
        assert!(err(&empty, "sip-a").contains("capacity must be 1 to 100000 calls"));
        let recorder = check(WorkerPool::Recorders, "rec-b", &report("rec-a")).unwrap_err();
        assert!(recorder.to_string().contains("sent for recorder \"rec-b\""));
    }
}
