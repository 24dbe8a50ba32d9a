//! How much of its licence a tenant uses (`GET /api/v1/admin/licence`):
//! participants in meetings and meetings running, now and at the busiest
//! moment so far.
//!
//! The replica that owns a meeting writes the meeting's participant count
//! to its row whenever it changes, through a [`Recorder`] (the count
//! changes under the room's lock, where nothing may wait on the database).
//! A tenant's use now is the sum over its live meetings' rows, so it is
//! the same whichever replica is asked; a sum above the tenant's stored
//! peak raises the peak.

use std::collections::HashMap;

use sqlx::Row;
use tokio::sync::mpsc;
use yunhui_proto::api::{LicenceTerms, LicenceUse};

use super::Licence;
use crate::accounts::Caller;
use crate::error::Result;
use crate::store::{Store, now};

/// A meeting's participants now.
#[derive(Debug, Clone)]
pub struct Occupancy {
    /// The meeting's tenant.
    pub tenant_id: String,
    /// The meeting.
    pub meeting_id: String,
    /// Participants in it (not counting recorders and other hidden members).
    pub participants: usize,
}

/// Hands meetings' participant counts to a task that writes them, the
/// latest of each meeting when several wait, and raises the tenants'
/// peaks. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Occupancy>,
}

impl Recorder {
    /// Starts the writing task.
    pub fn spawn(store: Store) -> Self {
        let (queue, mut counts) = mpsc::unbounded_channel::<Occupancy>();
        tokio::spawn(async move {
            while let Some(first) = counts.recv().await {
                let mut latest = HashMap::new();
                latest.insert(first.meeting_id.clone(), first);
                while let Ok(next) = counts.try_recv() {
                    latest.insert(next.meeting_id.clone(), next);
                }
                let mut tenants: Vec<String> = Vec::new();
                for occupancy in latest.into_values() {
                    if let Err(e) = write(&store, &occupancy).await {
                        tracing::warn!(error = %e, tenant = %occupancy.tenant_id,
                            meeting = %occupancy.meeting_id, "a meeting's participant count could not be written");
                    }
                    if !tenants.contains(&occupancy.tenant_id) {
                        tenants.push(occupancy.tenant_id);
                    }
                }
                for tenant in tenants {
                    if let Err(e) = raise_peaks(&store, &tenant).await {
                        tracing::warn!(error = %e, %tenant, "the licence's peak use could not be updated");
                    }
                }
            }
        });
        Recorder { queue }
    }

    /// Queues a meeting's count; never waits.
    pub fn tell(&self, occupancy: Occupancy) {
        let _ = self.queue.send(occupancy);
    }
}

async fn write(store: &Store, occupancy: &Occupancy) -> Result<()> {
    sqlx::query("UPDATE meetings SET participants = $1 WHERE id = $2 AND tenant_id = $3")
        .bind(i64::try_from(occupancy.participants).unwrap_or(i64::MAX))
        .bind(&occupancy.meeting_id)
        .bind(&occupancy.tenant_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// The tenant's participants in meetings and meetings running now.
async fn now_in_use(store: &Store, tenant_id: &str) -> Result<(u32, u32)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS meetings, CAST(COALESCE(SUM(participants), 0) AS BIGINT) AS participants \
         FROM meetings WHERE tenant_id = $1 AND status = 'live'",
    )
    .bind(tenant_id)
    .fetch_one(store.pool())
    .await?;
    Ok((
        count(row.try_get("participants")?),
        count(row.try_get("meetings")?),
    ))
}

/// Raises the tenant's stored peaks to its use now where that is higher.
async fn raise_peaks(store: &Store, tenant_id: &str) -> Result<()> {
    let (participants, meetings) = now_in_use(store, tenant_id).await?;
    let at = now();
    for (peak, peak_at, in_use) in [
        ("peak_participants", "peak_participants_at", participants),
        ("peak_meetings", "peak_meetings_at", meetings),
    ] {
        sqlx::query(&format!(
            "UPDATE tenants SET {peak} = $1, {peak_at} = $2 WHERE id = $3 AND {peak} < $1"
        ))
        .bind(i64::from(in_use))
        .bind(at)
        .bind(tenant_id)
        .execute(store.pool())
        .await?;
    }
    Ok(())
}

/// The caller's tenant's licence and its use, for its administrators.
pub async fn of_tenant(store: &Store, caller: &Caller) -> Result<LicenceUse> {
    caller.require_tenant_admin("see the licence's use")?;
    let terms = match Licence::of_tenant(store, &caller.tenant_id).await? {
        Licence::Unlimited => LicenceTerms::Unlimited,
        Licence::ConcurrentPorts(ports) => LicenceTerms::ConcurrentPorts { ports },
        Licence::CloudRooms { count, capacity } => LicenceTerms::CloudRooms {
            rooms: count,
            capacity,
        },
    };
    let (participants, meetings) = now_in_use(store, &caller.tenant_id).await?;
    let row = sqlx::query(
        "SELECT peak_participants, peak_participants_at, peak_meetings, peak_meetings_at \
         FROM tenants WHERE id = $1",
    )
    .bind(&caller.tenant_id)
    .fetch_one(store.pool())
    .await?;
    // The use now may be above the stored peak for the moment it takes
    // the recorder to raise it.
    let peak = |stored: u32, at: Option<i64>, now_in_use: u32| {
        if now_in_use > stored {
            (now_in_use, Some(now()))
        } else {
            (stored, at)
        }
    };
    let (peak_participants, peak_participants_at) = peak(
        count(row.try_get("peak_participants")?),
        row.try_get("peak_participants_at")?,
        participants,
    );
    let (peak_meetings, peak_meetings_at) = peak(
        count(row.try_get("peak_meetings")?),
        row.try_get("peak_meetings_at")?,
        meetings,
    );
    Ok(LicenceUse {
        terms,
        participants,
        meetings,
        peak_participants,
        peak_participants_at,
        peak_meetings,
        peak_meetings_at,
    })
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}
