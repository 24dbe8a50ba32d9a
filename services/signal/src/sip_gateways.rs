//! The SIP gateway table: the latest report of every SIP gateway
//! ([`GatewayReport`]), kept in the database so that every signal replica
//! answers for all gateways whichever replica a report reached, and the
//! operator's drain marks beside them. Gateways are few (one per SIP pod)
//! and report every couple of seconds, so each report is one upsert and
//! each listing one query; nothing is held in memory.
//!
//! A gateway whose last report is older than [`GATEWAY_GONE_AFTER`] is
//! listed as gone; one silent for [`FORGET_AFTER`] is no longer listed (its
//! row is removed at the next report of any gateway).

use sqlx::Row;
use yunhui_proto::sip::{GATEWAY_GONE_AFTER, GatewayLoad, GatewayReport, GatewayReportAnswer};

use crate::error::{Error, Result};
use crate::placement::nodes::{FORGET_AFTER, valid_control_url, valid_node_id};
use crate::store::{Store, now_ms};

/// Largest capacity a gateway may report: more calls than any one process carries.
const MAX_CAPACITY: u64 = 100_000;

/// Checks a report sent for `path_id`.
fn check(path_id: &str, report: &GatewayReport) -> Result<()> {
    let id = &report.gateway_id;
    if !valid_node_id(id) {
        return Err(Error::InvalidInput(format!(
            "the gateway id must be 1 to 253 letters, digits, '-', '.', '_' or ':' (got {id:?})"
        )));
    }
    if path_id != id {
        return Err(Error::InvalidInput(format!(
            "the report is for gateway {id:?} but was sent for gateway {path_id:?}"
        )));
    }
    if !valid_control_url(&report.control_url) {
        return Err(Error::InvalidInput(format!(
            "the control URL must be an http:// or https:// URL of at most 253 characters (got {:?})",
            report.control_url
        )));
    }
    if !(1..=MAX_CAPACITY).contains(&report.capacity) || report.calls > MAX_CAPACITY {
        return Err(Error::InvalidInput(format!(
            "capacity must be 1 to {MAX_CAPACITY} calls and calls at most {MAX_CAPACITY} (got capacity {}, calls {})",
            report.capacity, report.calls
        )));
    }
    Ok(())
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Records `report`, sent for `path_id`, as received now; answers whether
/// the gateway is marked draining.
pub async fn record(
    store: &Store,
    path_id: &str,
    report: &GatewayReport,
) -> Result<GatewayReportAnswer> {
    check(path_id, report)?;
    let now = now_ms();
    let forget_before = now - FORGET_AFTER.as_millis() as i64;
    sqlx::query("DELETE FROM sip_gateways WHERE seen_at_ms < $1")
        .bind(forget_before)
        .execute(store.pool())
        .await?;
    // Update, else insert; a replica that inserted first makes the insert
    // fail, and the update then succeeds.
    for _ in 0..2 {
        let updated = sqlx::query(
            "UPDATE sip_gateways SET control_url = $1, calls = $2, capacity = $3, draining = $4, \
             seen_at_ms = $5 WHERE gateway_id = $6",
        )
        .bind(report.control_url.clone())
        .bind(count(report.calls))
        .bind(count(report.capacity))
        .bind(i64::from(report.draining))
        .bind(now)
        .bind(report.gateway_id.clone())
        .execute(store.pool())
        .await?
        .rows_affected();
        if updated > 0 {
            break;
        }
        let inserted = sqlx::query(
            "INSERT INTO sip_gateways (gateway_id, control_url, calls, capacity, draining, \
             drain_marked, seen_at_ms) VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(report.gateway_id.clone())
        .bind(report.control_url.clone())
        .bind(count(report.calls))
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
        sqlx::query_scalar("SELECT drain_marked FROM sip_gateways WHERE gateway_id = $1")
            .bind(report.gateway_id.clone())
            .fetch_optional(store.pool())
            .await?;
    Ok(GatewayReportAnswer {
        drain: marked == Some(1),
    })
}

/// Every gateway that reported within [`FORGET_AFTER`], by id.
pub async fn list(store: &Store) -> Result<Vec<GatewayLoad>> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT gateway_id, calls, capacity, draining, drain_marked, seen_at_ms \
         FROM sip_gateways WHERE seen_at_ms >= $1 ORDER BY gateway_id",
    )
    .bind(now - FORGET_AFTER.as_millis() as i64)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let seen: i64 = row.try_get("seen_at_ms")?;
            let draining: i64 = row.try_get("draining")?;
            let marked: i64 = row.try_get("drain_marked")?;
            let calls: i64 = row.try_get("calls")?;
            let capacity: i64 = row.try_get("capacity")?;
            Ok(GatewayLoad {
                gateway_id: row.try_get("gateway_id")?,
                live: now.saturating_sub(seen) <= GATEWAY_GONE_AFTER.as_millis() as i64,
                draining: draining == 1 || marked == 1,
                capacity: u64::try_from(capacity).unwrap_or_default(),
                calls: u64::try_from(calls).unwrap_or_default(),
            })
        })
        .collect()
}

/// The control URLs of the gateways that take calls (live, not draining,
/// not full), the one with the most room first.
pub async fn dial_order(store: &Store) -> Result<Vec<String>> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT control_url, calls, capacity FROM sip_gateways \
         WHERE seen_at_ms >= $1 AND draining = 0 AND drain_marked = 0 AND calls < capacity",
    )
    .bind(now - GATEWAY_GONE_AFTER.as_millis() as i64)
    .fetch_all(store.pool())
    .await?;
    let mut gateways = rows
        .iter()
        .map(|row| {
            let calls: i64 = row.try_get("calls")?;
            let capacity: i64 = row.try_get("capacity")?;
            let url: String = row.try_get("control_url")?;
            Ok((calls.saturating_mul(1000) / capacity.max(1), calls, url))
        })
        .collect::<Result<Vec<_>>>()?;
    gateways.sort();
    Ok(gateways.into_iter().map(|(_, _, url)| url).collect())
}

/// Marks `gateway_id` draining: its next report's answer tells it to take
/// no new calls. `None` when the gateway has not reported.
pub async fn mark_draining(store: &Store, gateway_id: &str) -> Result<Option<GatewayLoad>> {
    sqlx::query("UPDATE sip_gateways SET drain_marked = 1 WHERE gateway_id = $1")
        .bind(gateway_id)
        .execute(store.pool())
        .await?;
    Ok(list(store)
        .await?
        .into_iter()
        .find(|g| g.gateway_id == gateway_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str) -> GatewayReport {
        GatewayReport {
            gateway_id: id.into(),
            control_url: "http://10.0.0.7:8090".into(),
            calls: 3,
            capacity: 50,
            draining: false,
        }
    }

    #[test]
    fn a_report_names_its_gateway_its_url_and_a_capacity() {
        assert!(check("sip-a", &report("sip-a")).is_ok());
        let err = |r: &GatewayReport, path: &str| check(path, r).unwrap_err().to_string();
        assert!(err(&report("sip a"), "sip a").contains("gateway id"));
        assert!(err(&report("sip-a"), "sip-b").contains("was sent for gateway \"sip-b\""));
        let mut bad = report("sip-a");
        bad.control_url = "ftp://x".into();
        assert!(err(&bad, "sip-a").contains("control URL"));
        let mut empty = report("sip-a");
        empty.capacity = 0;
        assert!(err(&empty, "sip-a").contains("capacity must be 1"));
    }
}
