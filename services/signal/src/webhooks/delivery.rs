//! Sends recorded webhook deliveries: every replica looks for due ones
//! each [`POLL`] (or when woken), claims each with a conditional update so
//! exactly one replica sends it, POSTs it signed, and writes down the
//! outcome. A receiver that does not answer 2xx is tried again after the
//! waits of [`RETRY_AFTER`], then given up.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use sqlx::Row;
use tokio::sync::Notify;

use super::signature;
use crate::error::Result;
use crate::store::{Store, now};

/// How often each replica looks for due deliveries when nobody wakes it.
pub const POLL: Duration = Duration::from_secs(1);

/// Seconds to wait after each failed attempt before the next; after the
/// last, the delivery is given up (eight attempts over about eight and a
/// half hours).
pub const RETRY_AFTER: [i64; 7] = [2, 10, 60, 300, 1800, 7200, 21600];

/// How long a replica holds a delivery it is sending (longer than
/// [`SEND_TIMEOUT`], so two never send it at once).
const CLAIM_SECS: i64 = 60;

/// How long a receiver has to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries sent at once by one replica.
const BATCH: i64 = 16;

/// When a delivery that has failed `attempts` times is tried next (Unix
/// seconds, from `now`); `None` once it is given up.
pub fn next_attempt(attempts: u32, now: i64) -> Option<i64> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    RETRY_AFTER.get(index).map(|wait| now + wait)
}

/// Starts sending this replica's share of due deliveries, woken early by
/// `wake`.
pub fn spawn(store: Store, wake: Arc<Notify>) {
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        // A redirect is the receiver's answer, not a second receiver.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Yunhui-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build();
    let client = match client {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "webhooks are not sent: no HTTP client");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            match send_due(&store, &client).await {
                // A full batch: more may be due.
                Ok(sent) if sent as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook deliveries could not be read"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    });
}

/// Claims and sends up to [`BATCH`] due deliveries; answers how many.
async fn send_due(store: &Store, client: &reqwest::Client) -> Result<usize> {
    let at = now();
    let due = sqlx::query(
        "SELECT id FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL \
         AND next_attempt_at <= $1 AND claimed_until <= $1 ORDER BY next_attempt_at, created_at LIMIT $2",
    )
    .bind(at)
    .bind(BATCH)
    .fetch_all(store.pool())
    .await?;
    let mut claimed = Vec::new();
    for row in due {
        let id: String = row.try_get("id")?;
        let won = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_until = $1 WHERE id = $2 \
             AND claimed_until <= $3 AND next_attempt_at IS NOT NULL",
        )
        .bind(at + CLAIM_SECS)
        .bind(&id)
        .bind(at)
        .execute(store.pool())
        .await?
        .rows_affected();
        if won == 1 {
            claimed.push(id);
        }
    }
    let count = claimed.len();
    for outcome in join_all(claimed.iter().map(|id| send_one(store, client, id))).await {
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "a webhook delivery's outcome could not be written");
        }
    }
    Ok(count)
}

/// Sends one claimed delivery and writes down how it went.
async fn send_one(store: &Store, client: &reqwest::Client, id: &str) -> Result<()> {
    let row = sqlx::query(
        "SELECT d.tenant_id, d.event, d.payload, d.attempts, w.id AS webhook_id, w.url, w.secret, \
         t.deleted_at FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         JOIN tenants t ON t.id = d.tenant_id WHERE d.id = $1 AND w.tenant_id = d.tenant_id",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    // Its webhook was deleted meanwhile (the row with it).
    let Some(row) = row else { return Ok(()) };
    let tenant: String = row.try_get("tenant_id")?;
    let webhook: String = row.try_get("webhook_id")?;
    let event: String = row.try_get("event")?;
    let attempts = u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX) + 1;
    let outcome = if row.try_get::<Option<i64>, _>("deleted_at")?.is_some() {
        Outcome::GiveUp("the enterprise was deleted".into())
    } else {
        let url: String = row.try_get("url")?;
        let secret: String = row.try_get("secret")?;
        let body: String = row.try_get("payload")?;
        post(client, &url, &secret, id, body).await
    };
    let at = now();
    let (status, error, delivered, next) = match &outcome {
        Outcome::Accepted(status) => (Some(*status), None, Some(at), None),
        Outcome::Refused(status, error) => (
            *status,
            Some(error.clone()),
            None,
            next_attempt(attempts, at),
        ),
        Outcome::GiveUp(error) => (None, Some(error.clone()), None, None),
    };
    match (&outcome, next) {
        (Outcome::Accepted(_), _) => {
            tracing::info!(%tenant, %webhook, delivery = %id, %event, attempts, "webhook delivered")
        }
        (_, Some(next)) => tracing::info!(%tenant, %webhook, delivery = %id, %event, attempts,
            error = ?error, retry_in = next - at, "webhook refused; will retry"),
        (_, None) => tracing::warn!(%tenant, %webhook, delivery = %id, %event, attempts,
            error = ?error, "webhook delivery given up"),
    }
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = $1, last_status = $2, last_error = $3, \
         delivered_at = $4, next_attempt_at = $5, claimed_until = 0 WHERE id = $6",
    )
    .bind(i64::from(attempts))
    .bind(status.map(i64::from))
    .bind(error)
    .bind(delivered)
    .bind(next)
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// How one attempt went.
enum Outcome {
    /// The receiver answered 2xx with this status.
    Accepted(u16),
    /// The receiver answered otherwise (its status, if it answered) or
    /// could not be reached: worth another attempt.
    Refused(Option<u16>, String),
    /// Never worth another attempt.
    GiveUp(String),
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    id: &str,
    body: String,
) -> Outcome {
    let timestamp = now();
    let Some(signature) = signature(secret, id, timestamp, &body) else {
        return Outcome::GiveUp("the webhook's stored secret is unreadable".into());
    };
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {
            Outcome::Accepted(response.status().as_u16())
        }
        Ok(response) => {
            let status = response.status();
            Outcome::Refused(
                Some(status.as_u16()),
                format!("the receiver answered {status}"),
            )
        }
        Err(e) => Outcome::Refused(None, format!("the receiver could not be reached: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_attempts_wait_longer_each_time_then_stop() {
        assert_eq!(next_attempt(0, 100), None, "no attempt failed yet");
        assert_eq!(next_attempt(1, 100), Some(102));
        assert_eq!(next_attempt(2, 100), Some(110));
        assert_eq!(next_attempt(7, 100), Some(100 + 21600));
        assert_eq!(next_attempt(8, 100), None, "the eighth failure is the last");
        assert!(RETRY_AFTER.windows(2).all(|w| w[0] < w[1]));
    }
}
