//! The enterprise's recording and live-streaming policy (the console's
//! "Recording" tab): whether hosts may record in the cloud and stream live,
//! and how long recordings are kept. The licence (the Tenant resource:
//! `tenants.features` and `recording_retention_days`, written by the
//! operator) decides what may be on and the longest retention; the
//! administrator's choice (`tenants.recording_off`, `streaming_off` and
//! `admin_retention_days`, columns the operator's sync never writes) narrows
//! it. Deciding ([`policy_of`], [`check`]) is apart from reading and writing.

use sqlx::{AnyConnection, Row};
use yunhui_proto::api::{AuditAction, MediaPolicy, MediaPolicyRequest};
use yunhui_proto::limits::RETENTION_DAYS;

use crate::accounts::Caller;
use crate::audit;
use crate::error::{Error, Result};
use crate::store::Store;

/// A tenant's row as far as the policy goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The licence's feature switches (`{"recording": true, ...}`).
    pub features: serde_json::Value,
    /// The licence's retention, days; 0: none.
    pub licence_retention_days: i64,
    /// The administrator switched recording off.
    pub recording_off: bool,
    /// The administrator switched live streaming off.
    pub streaming_off: bool,
    /// The administrator's retention, days.
    pub admin_retention_days: Option<i64>,
}

fn days(value: i64) -> Option<u32> {
    u32::try_from(value).ok().filter(|d| *d > 0)
}

/// The policy in force for a tenant stored as `stored`.
pub fn policy_of(stored: &Stored) -> MediaPolicy {
    let licensed = |feature: &str| stored.features[feature].as_bool().unwrap_or(false);
    let recording_licensed = licensed("recording");
    let streaming_licensed = licensed("streaming");
    let max_retention_days = days(stored.licence_retention_days);
    let retention_days = stored.admin_retention_days.and_then(days);
    // A licence shortened after the administrator chose keeps the licence's.
    let effective_retention_days = match (retention_days, max_retention_days) {
        (Some(chosen), Some(max)) => Some(chosen.min(max)),
        (chosen, max) => chosen.or(max),
    };
    MediaPolicy {
        recording_licensed,
        recording: recording_licensed && !stored.recording_off,
        streaming_licensed,
        streaming: streaming_licensed && !stored.streaming_off,
        max_retention_days,
        retention_days,
        effective_retention_days,
    }
}

/// Whether `req` stays within what the licence (`now`'s `*_licensed` and
/// `max_retention_days`) allows.
pub fn check(req: &MediaPolicyRequest, now: &MediaPolicy) -> Result<()> {
    if req.recording && !now.recording_licensed {
        return Err(Error::InvalidInput(
            "the licence does not include cloud recording: it cannot be switched on".into(),
        ));
    }
    if req.streaming && !now.streaming_licensed {
        return Err(Error::InvalidInput(
            "the licence does not include live streaming: it cannot be switched on".into(),
        ));
    }
    if let Some(days) = req.retention_days {
        let max = now
            .max_retention_days
            .unwrap_or(RETENTION_DAYS as u32)
            .min(RETENTION_DAYS as u32);
        if days == 0 || days > max {
            return Err(Error::InvalidInput(format!(
                "retention_days must be 1 to {max} (the longest the licence allows), not {days}"
            )));
        }
    }
    Ok(())
}

async fn load(conn: &mut AnyConnection, tenant_id: &str) -> Result<Option<Stored>> {
    let Some(row) = sqlx::query(
        "SELECT features, recording_retention_days, recording_off, streaming_off, \
         admin_retention_days FROM tenants WHERE id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Stored {
        features: serde_json::from_str(&row.try_get::<String, _>("features")?).unwrap_or_default(),
        licence_retention_days: row.try_get("recording_retention_days")?,
        recording_off: row.try_get::<i64, _>("recording_off")? != 0,
        streaming_off: row.try_get::<i64, _>("streaming_off")? != 0,
        admin_retention_days: row.try_get("admin_retention_days")?,
    }))
}

/// The policy of a tenant; nothing is allowed for one that does not exist.
pub async fn of_tenant(conn: &mut AnyConnection, tenant_id: &str) -> Result<MediaPolicy> {
    Ok(load(conn, tenant_id).await?.map_or(
        MediaPolicy {
            recording_licensed: false,
            recording: false,
            streaming_licensed: false,
            streaming: false,
            max_retention_days: None,
            retention_days: None,
            effective_retention_days: None,
        },
        |stored| policy_of(&stored),
    ))
}

/// The caller's enterprise's policy (tenant administrators).
pub async fn get(store: &Store, caller: &Caller) -> Result<MediaPolicy> {
    caller.require_tenant_admin("read the recording and streaming policy")?;
    let mut conn = store.pool().acquire().await?;
    of_tenant(&mut conn, &caller.tenant_id).await
}

/// Sets the caller's enterprise's policy within its licence; audited when
/// something changed.
pub async fn set(store: &Store, caller: &Caller, req: MediaPolicyRequest) -> Result<MediaPolicy> {
    caller.require_tenant_admin("change the recording and streaming policy")?;
    let mut tx = store.pool().begin().await?;
    // Locks the tenant's row first, so two administrators take turns.
    sqlx::query("UPDATE tenants SET recording_off = recording_off WHERE id = $1")
        .bind(&caller.tenant_id)
        .execute(&mut *tx)
        .await?;
    let before = of_tenant(&mut tx, &caller.tenant_id).await?;
    check(&req, &before)?;
    sqlx::query(
        "UPDATE tenants SET recording_off = $1, streaming_off = $2, admin_retention_days = $3 \
         WHERE id = $4",
    )
    .bind(i64::from(!req.recording))
    .bind(i64::from(!req.streaming))
    .bind(req.retention_days.map(i64::from))
    .bind(&caller.tenant_id)
    .execute(&mut *tx)
    .await?;
    let after = of_tenant(&mut tx, &caller.tenant_id).await?;
    if after != before {
        let on_off = |on: bool| if on { "on" } else { "off" };
        let retention = after
            .retention_days
            .map_or_else(|| "the licence's".to_string(), |d| format!("{d} days"));
        let detail = format!(
            "recording {}, live streaming {}, retention {retention}",
            on_off(after.recording),
            on_off(after.streaming)
        );
        audit::record(
            &mut tx,
            caller,
            AuditAction::MediaPolicyChanged,
            &caller.tenant_id,
            &detail,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(
        tenant = %caller.tenant_id,
        recording = after.recording,
        streaming = after.streaming,
        retention_days = ?after.effective_retention_days,
        "the recording and streaming policy changed"
    );
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(features: serde_json::Value, licence: i64, admin: Option<i64>) -> Stored {
        Stored {
            features,
            licence_retention_days: licence,
            recording_off: false,
            streaming_off: false,
            admin_retention_days: admin,
        }
    }

    #[test]
    fn a_switch_is_on_only_when_licensed_and_not_switched_off() {
        let mut s = stored(serde_json::json!({"recording": true}), 0, None);
        let p = policy_of(&s);
        assert!(p.recording && p.recording_licensed);
        assert!(!p.streaming && !p.streaming_licensed);
        s.recording_off = true;
        assert!(!policy_of(&s).recording);
        assert!(policy_of(&s).recording_licensed);
    }

    #[test]
    fn retention_is_the_administrators_within_the_licences() {
        let none = serde_json::json!({});
        assert_eq!(
            policy_of(&stored(none.clone(), 0, None)).effective_retention_days,
            None
        );
        assert_eq!(
            policy_of(&stored(none.clone(), 90, None)).effective_retention_days,
            Some(90)
        );
        assert_eq!(
            policy_of(&stored(none.clone(), 90, Some(30))).effective_retention_days,
            Some(30)
        );
        // The licence was shortened after the administrator chose.
        assert_eq!(
            policy_of(&stored(none.clone(), 20, Some(30))).effective_retention_days,
            Some(20)
        );
        assert_eq!(
            policy_of(&stored(none, 0, Some(7))).effective_retention_days,
            Some(7)
        );
    }

    #[test]
    fn a_request_outside_the_licence_is_refused_saying_why() {
        let licensed = policy_of(&stored(serde_json::json!({"recording": true}), 90, None));
        let req = |recording, streaming, retention_days| MediaPolicyRequest {
            recording,
            streaming,
            retention_days,
        };
        assert!(check(&req(true, false, Some(90)), &licensed).is_ok());
        assert!(check(&req(false, false, None), &licensed).is_ok());
        let err = check(&req(true, true, None), &licensed).unwrap_err();
        assert!(err.to_string().contains("live streaming"), "{err}");
        let err = check(&req(true, false, Some(91)), &licensed).unwrap_err();
        assert!(err.to_string().contains("1 to 90"), "{err}");
        assert!(check(&req(true, false, Some(0)), &licensed).is_err());
        let unlimited = policy_of(&stored(serde_json::json!({}), 0, None));
        assert!(check(&req(false, false, Some(3650)), &unlimited).is_ok());
        assert!(check(&req(false, false, Some(3651)), &unlimited).is_err());
    }
}
