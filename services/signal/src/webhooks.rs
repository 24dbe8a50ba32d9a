//! Webhooks (F-API-1): a tenant administrator names receivers of the
//! tenant's events (meetings started and ended, participants joined and
//! left, recordings ready); signal POSTs each event to each receiver that
//! asked for it, signed, until the receiver accepts it.
//!
//! An event is written as one delivery row per webhook ([`record`]), in the
//! same transaction as the change it reports where there is one (a
//! meeting's status, a recording's file), so what happened is never told
//! without having happened, nor lost by a crash after it. Participants'
//! comings and goings, decided under a room's lock, reach [`record`]
//! through an [`Emitter`]'s queue instead. [`delivery`] sends the rows.
//! Everything is scoped by tenant: an event is recorded only for its own
//! tenant's webhooks.

pub mod delivery;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;
use sqlx::{AnyConnection, Row};
use tokio::sync::{Notify, mpsc};
use yunhui_proto::api::{
    AuditAction, CreateWebhookRequest, CreatedWebhook, DeliveryState, Webhook, WebhookDelivery,
    WebhookEvent,
};
use yunhui_proto::limits;

use crate::accounts::Caller;
use crate::audit;
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// Every signing secret starts with this (the Standard Webhooks form).
pub const SECRET_PREFIX: &str = "whsec_";

/// Deliveries listed per webhook, newest first.
const LISTED_DELIVERIES: i64 = 100;

/// One thing that happened in a tenant.
#[derive(Debug, Clone)]
pub struct Event {
    /// Whose it is: only this tenant's webhooks hear of it.
    pub tenant_id: String,
    /// What happened.
    pub kind: WebhookEvent,
    /// The event's details (the payload's `data`).
    pub data: serde_json::Value,
}

/// The payload POSTed for `event`, happened at `at` (Unix seconds).
pub fn payload(event: &Event, at: i64) -> String {
    let timestamp = chrono::DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({
        "type": event.kind.as_str(),
        "timestamp": timestamp,
        "data": event.data,
    })
    .to_string()
}

/// The `webhook-signature` header for a request: `v1,` and the base64
/// HMAC-SHA256 of `<id>.<timestamp>.<body>` under the secret's key (the
/// base64 after `whsec_`). `None` for a secret not of that form.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    use hmac::{Hmac, Mac};
    let key = BASE64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// Records `event` for every webhook of its tenant that asked for it:
/// one pending delivery each, due now. Answers how many.
pub async fn record(conn: &mut AnyConnection, event: &Event) -> Result<usize> {
    let rows = sqlx::query(
        "SELECT w.id, w.events FROM webhooks w JOIN tenants t ON t.id = w.tenant_id \
         WHERE w.tenant_id = $1 AND t.deleted_at IS NULL",
    )
    .bind(&event.tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let at = now();
    let body = payload(event, at);
    let mut recorded = 0;
    for row in rows {
        let events = events_from(&row.try_get::<String, _>("events")?)?;
        if !events.contains(&event.kind) {
            continue;
        }
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event, payload, created_at, \
             attempts, next_attempt_at, claimed_until) VALUES ($1, $2, $3, $4, $5, $6, 0, $6, 0)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(row.try_get::<String, _>("id")?)
        .bind(&event.tenant_id)
        .bind(event.kind.as_str())
        .bind(&body)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        recorded += 1;
    }
    Ok(recorded)
}

/// Hands events decided where no database call may wait (under a room's
/// lock) to a task that records them, in the order given, and wakes the
/// sender. Cheap to clone.
#[derive(Clone)]
pub struct Emitter {
    queue: mpsc::UnboundedSender<Event>,
}

impl Emitter {
    /// Starts the recording task; `recorded` is told after each event.
    pub fn spawn(store: Store, recorded: Arc<Notify>) -> Self {
        let (queue, mut events) = mpsc::unbounded_channel::<Event>();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let written = async {
                    let mut conn = store.pool().acquire().await?;
                    record(&mut conn, &event).await
                }
                .await;
                match written {
                    Ok(0) => {}
                    Ok(_) => recorded.notify_one(),
                    Err(e) => {
                        tracing::warn!(error = %e, tenant = %event.tenant_id, event = event.kind.as_str(),
                            "an event for webhooks could not be recorded")
                    }
                }
            }
        });
        Emitter { queue }
    }

    /// Queues `event`; never waits.
    pub fn emit(&self, event: Event) {
        let _ = self.queue.send(event);
    }
}

/// Creates a webhook of the calling administrator's tenant.
pub async fn create(
    store: &Store,
    caller: &Caller,
    req: CreateWebhookRequest,
) -> Result<CreatedWebhook> {
    caller.require_tenant_admin("manage webhooks")?;
    let url = check_url(&req.url)?;
    let mut events = req.events;
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(Error::InvalidInput(format!(
            "events: name at least one event, of {}",
            WebhookEvent::ALL.map(WebhookEvent::as_str).join(", ")
        )));
    }
    let count = sqlx::query("SELECT COUNT(*) AS n FROM webhooks WHERE tenant_id = $1")
        .bind(&caller.tenant_id)
        .fetch_one(store.pool())
        .await?
        .try_get::<i64, _>("n")?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= limits::WEBHOOKS {
        return Err(Error::InvalidInput(format!(
            "an enterprise has at most {} webhooks; delete one first",
            limits::WEBHOOKS
        )));
    }
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let secret = format!("{SECRET_PREFIX}{}", BASE64.encode(key));
    let webhook = Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        url,
        events,
        created_at: now(),
    };
    let events_json = serde_json::to_string(&webhook.events)
        .map_err(|e| Error::Internal(format!("webhook events do not serialise: {e}")))?;
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO webhooks (id, tenant_id, url, events, secret, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&webhook.id)
    .bind(&caller.tenant_id)
    .bind(&webhook.url)
    .bind(events_json)
    .bind(&secret)
    .bind(webhook.created_at)
    .execute(&mut *tx)
    .await?;
    let events: Vec<&str> = webhook.events.iter().map(|e| e.as_str()).collect();
    let detail = format!("{}: {}", webhook.url, events.join(", "));
    audit::record(
        &mut tx,
        caller,
        AuditAction::WebhookCreated,
        &webhook.id,
        &detail,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %caller.tenant_id, webhook = %webhook.id, url = %webhook.url, "webhook created");
    Ok(CreatedWebhook { webhook, secret })
}

/// The tenant's webhooks, oldest first.
pub async fn list(store: &Store, caller: &Caller) -> Result<Vec<Webhook>> {
    caller.require_tenant_admin("manage webhooks")?;
    let rows = sqlx::query(
        "SELECT id, url, events, created_at FROM webhooks WHERE tenant_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(&caller.tenant_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Webhook {
                id: row.try_get("id")?,
                url: row.try_get("url")?,
                events: events_from(&row.try_get::<String, _>("events")?)?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Deletes one of the tenant's webhooks and its deliveries: nothing more
/// is sent to it.
pub async fn delete(store: &Store, caller: &Caller, id: &str) -> Result<()> {
    caller.require_tenant_admin("manage webhooks")?;
    let mut tx = store.pool().begin().await?;
    let url = require_own(&mut tx, caller, id).await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM webhooks WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(&caller.tenant_id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, caller, AuditAction::WebhookDeleted, id, &url).await?;
    tx.commit().await?;
    tracing::info!(tenant = %caller.tenant_id, webhook = %id, "webhook deleted");
    Ok(())
}

/// The latest deliveries to one of the tenant's webhooks, newest first.
pub async fn deliveries(store: &Store, caller: &Caller, id: &str) -> Result<Vec<WebhookDelivery>> {
    caller.require_tenant_admin("manage webhooks")?;
    let mut conn = store.pool().acquire().await?;
    require_own(&mut conn, caller, id).await?;
    let rows = sqlx::query(
        "SELECT id, event, attempts, next_attempt_at, delivered_at, last_status, last_error, \
         created_at FROM webhook_deliveries WHERE webhook_id = $1 AND tenant_id = $2 \
         ORDER BY created_at DESC, id LIMIT $3",
    )
    .bind(id)
    .bind(&caller.tenant_id)
    .bind(LISTED_DELIVERIES)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let event: String = row.try_get("event")?;
            let next_attempt_at: Option<i64> = row.try_get("next_attempt_at")?;
            let delivered_at: Option<i64> = row.try_get("delivered_at")?;
            Ok(WebhookDelivery {
                id: row.try_get("id")?,
                event: event_from(&event)?,
                state: match (delivered_at, next_attempt_at) {
                    (Some(_), _) => DeliveryState::Delivered,
                    (None, Some(_)) => DeliveryState::Pending,
                    (None, None) => DeliveryState::Failed,
                },
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                last_status: row
                    .try_get::<Option<i64>, _>("last_status")?
                    .and_then(|s| u16::try_from(s).ok()),
                last_error: row.try_get("last_error")?,
                created_at: row.try_get("created_at")?,
                next_attempt_at,
            })
        })
        .collect()
}

/// Refuses a webhook id that is not the caller's tenant's.
/// The URL of webhook `id` of the caller's tenant; refused when it has none such.
async fn require_own(conn: &mut AnyConnection, caller: &Caller, id: &str) -> Result<String> {
    let found = sqlx::query("SELECT url FROM webhooks WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(&caller.tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    match found {
        Some(row) => Ok(row.try_get("url")?),
        None => Err(Error::NotVisible {
            what: "webhook",
            id: id.to_owned(),
        }),
    }
}

/// A receiver's URL as stored: `http` or `https` with a host, within the
/// length limit.
fn check_url(url: &str) -> Result<String> {
    let url = url.trim();
    if url.len() > limits::WEBHOOK_URL_BYTES {
        return Err(Error::InvalidInput(format!(
            "url: a webhook's URL has at most {} bytes",
            limits::WEBHOOK_URL_BYTES
        )));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::InvalidInput(format!("url: {url:?} is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::InvalidInput(format!(
            "url: a webhook needs an http:// or https:// URL with a host, not {url:?}"
        )));
    }
    Ok(parsed.to_string())
}

fn events_from(text: &str) -> Result<Vec<WebhookEvent>> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("a webhook's stored events are unreadable: {e}")))
}

fn event_from(name: &str) -> Result<WebhookEvent> {
    WebhookEvent::ALL
        .into_iter()
        .find(|e| e.as_str() == name)
        .ok_or_else(|| Error::Internal(format!("a delivery's stored event {name:?} is unknown")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The specification's own example (standard-webhooks, spec/standard-webhooks.md).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, id, 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(
            signature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id, 1, body),
            None
        );
        assert_eq!(signature("whsec_not base64!", id, 1, body), None);
    }

    #[test]
    fn urls_need_http_and_a_host() {
        assert_eq!(
            check_url(" https://hooks.example.com/yunhui ").unwrap(),
            "https://hooks.example.com/yunhui"
        );
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://",
            "file:///etc/passwd",
        ] {
            let error = check_url(bad).unwrap_err().to_string();
            assert!(error.starts_with("url: "), "{bad}: {error}");
        }
        let long = format!(
            "https://example.com/{}",
            "a".repeat(limits::WEBHOOK_URL_BYTES)
        );
        assert!(
            check_url(&long)
                .unwrap_err()
                .to_string()
                .contains("at most")
        );
    }

    #[test]
    fn the_payload_names_type_time_and_data() {
        let event = Event {
            tenant_id: "t1".into(),
            kind: WebhookEvent::MeetingStarted,
            data: serde_json::json!({"meeting_id": "m1"}),
        };
        let body: serde_json::Value =
            serde_json::from_str(&payload(&event, 1_800_000_000)).unwrap();
        assert_eq!(body["type"], "meeting.started");
        assert_eq!(body["timestamp"], "2027-01-15T08:00:00Z");
        assert_eq!(body["data"]["meeting_id"], "m1");
    }
}
