//! An enterprise's meeting devices (F-DIR-1): room systems listed in the
//! directory by name, SIP address and location, to invite into a meeting or
//! schedule (a scheduled meeting calls its devices as it starts, see
//! [`crate::live::ringing`]). Tenant administrators keep the list; everyone
//! in the enterprise reads it.

use sqlx::Row;
use yunhui_proto::api::{AuditAction, DirectoryDevice, DirectoryDeviceRequest};
use yunhui_proto::limits;
use yunhui_proto::signaling::DialTarget;

use crate::accounts::Caller;
use crate::audit;
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// The enterprise's devices, by name.
pub async fn list(store: &Store, caller: &Caller) -> Result<Vec<DirectoryDevice>> {
    let rows = sqlx::query(
        "SELECT id, name, address, location FROM meeting_devices WHERE tenant_id = $1 \
         ORDER BY LOWER(name), name, id",
    )
    .bind(&caller.tenant_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DirectoryDevice {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                address: row.try_get("address")?,
                location: row.try_get("location")?,
            })
        })
        .collect()
}

/// Adds a device to the enterprise's directory (administrators).
pub async fn create(
    store: &Store,
    caller: &Caller,
    req: DirectoryDeviceRequest,
) -> Result<DirectoryDevice> {
    caller.require_tenant_admin("manage meeting devices")?;
    let device = checked(req)?;
    let mut tx = store.pool().begin().await?;
    let rows = sqlx::query("SELECT address FROM meeting_devices WHERE tenant_id = $1")
        .bind(&caller.tenant_id)
        .fetch_all(&mut *tx)
        .await?;
    if rows.len() >= limits::DIRECTORY_DEVICES {
        return Err(Error::InvalidInput(format!(
            "an enterprise has at most {} meeting devices",
            limits::DIRECTORY_DEVICES
        )));
    }
    if rows.iter().any(|r| {
        r.try_get::<String, _>("address")
            .is_ok_and(|a| a == device.address)
    }) {
        return Err(Error::InvalidInput(format!(
            "address: {} is already a device of your enterprise",
            device.address
        )));
    }
    let device = DirectoryDevice {
        id: uuid::Uuid::new_v4().to_string(),
        ..device
    };
    sqlx::query(
        "INSERT INTO meeting_devices (id, tenant_id, name, address, location, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&device.id)
    .bind(&caller.tenant_id)
    .bind(&device.name)
    .bind(&device.address)
    .bind(&device.location)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let detail = format!("{} ({})", device.name, device.address);
    audit::record(
        &mut tx,
        caller,
        AuditAction::DeviceCreated,
        &device.id,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(device)
}

/// Removes one of the enterprise's devices (administrators).
pub async fn delete(store: &Store, caller: &Caller, id: &str) -> Result<()> {
    caller.require_tenant_admin("manage meeting devices")?;
    let mut tx = store.pool().begin().await?;
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT name, address FROM meeting_devices WHERE id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(&caller.tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((name, address)) = found else {
        return Err(Error::NotVisible {
            what: "meeting device",
            id: id.to_owned(),
        });
    };
    sqlx::query("DELETE FROM meeting_devices WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(&caller.tenant_id)
        .execute(&mut *tx)
        .await?;
    let detail = format!("{name} ({address})");
    audit::record(&mut tx, caller, AuditAction::DeviceDeleted, id, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// A request's device as stored: name and location trimmed and within
/// their limits, the address a SIP address that calls it, written as
/// `sip:user@host`. The id is left empty.
fn checked(req: DirectoryDeviceRequest) -> Result<DirectoryDevice> {
    let name = req.name.trim().to_string();
    if name.is_empty()
        || name.chars().count() > limits::DEVICE_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::InvalidInput(format!(
            "name: 1 to {} characters, no control characters",
            limits::DEVICE_NAME_CHARS
        )));
    }
    let address = DialTarget::Sip { uri: req.address }
        .normalised()
        .map_err(|e| Error::InvalidInput(format!("address: {e}")))?
        .shown()
        .to_string();
    let location = req
        .location
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    if let Some(location) = &location
        && (location.chars().count() > limits::LOCATION_CHARS
            || location.chars().any(char::is_control))
    {
        return Err(Error::InvalidInput(format!(
            "location: at most {} characters, no control characters",
            limits::LOCATION_CHARS
        )));
    }
    Ok(DirectoryDevice {
        id: String::new(),
        name,
        address,
        location,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, address: &str) -> DirectoryDeviceRequest {
        DirectoryDeviceRequest {
            name: name.into(),
            address: address.into(),
            location: Some("  3F east  ".into()),
        }
    }

    #[test]
    fn addresses_are_written_as_sip_uris_and_bad_ones_refused() {
        let device = checked(request(" Boardroom ", "boardroom@10.0.0.20")).unwrap();
        assert_eq!(device.name, "Boardroom");
        assert_eq!(device.address, "sip:boardroom@10.0.0.20");
        assert_eq!(device.location.as_deref(), Some("3F east"));
        for (name, address, says) in [
            ("", "room@host", "name:"),
            ("Room", "no-at-sign", "address:"),
            ("Room", "room @host", "address:"),
        ] {
            let error = checked(request(name, address)).unwrap_err().to_string();
            assert!(error.starts_with(says), "{name:?} {address:?}: {error}");
        }
    }
}
