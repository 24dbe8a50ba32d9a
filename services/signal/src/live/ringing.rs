//! Scheduled meetings ring their invitees when an occurrence starts
//! (F-JOIN-3): every listening socket of an invited account gets an
//! [`yunhui_proto::signaling::ServerMessage::IncomingCall`], answered like
//! any other invitation; and the meeting calls its invited devices through
//! the SIP gateway (F-MTG-2).

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::Row;
use yunhui_proto::api::MeetingStatus;

use crate::App;
use crate::error::Result;
use crate::licence::Licence;
use crate::live::presence::Ring;
use crate::schedule;
use crate::store::now;

/// How often the schedule is looked at.
const TICK: Duration = Duration::from_secs(15);

/// Rings the invitees of every occurrence that starts in `(from, to]`
/// (seconds since the Unix epoch) and calls its devices; returns how many
/// invitees were rung.
pub async fn ring_starting(app: &App, from: i64, to: i64) -> Result<usize> {
    let rows = sqlx::query(
        "SELECT s.meeting_id, s.tenant_id FROM schedules s JOIN meetings m ON m.id = s.meeting_id \
         WHERE m.status <> 'ended' AND s.first_start <= $1 AND s.last_end >= $2",
    )
    .bind(to)
    .bind(from)
    .fetch_all(app.store.pool())
    .await?;
    let mut rung = 0;
    for row in rows {
        let id: String = row.try_get("meeting_id")?;
        let tenant: String = row.try_get("tenant_id")?;
        // The connection goes back before the calls below, which open the
        // room and so need one of their own (SQLite's pool has one).
        let stored = {
            let mut conn = app.store.pool().acquire().await?;
            schedule::load(&mut conn, &tenant, &id).await?
        };
        let Some(stored) = stored else {
            continue;
        };
        if stored.meeting.status == MeetingStatus::Ended {
            continue;
        }
        for slot in stored.timing.slots(&stored.exceptions)? {
            let start = slot.start.timestamp();
            if start <= from || start > to {
                continue;
            }
            let topic = slot.topic.as_deref().unwrap_or(&stored.meeting.topic);
            for invitee in &stored.invitees {
                app.rooms.presence().ring(
                    Ring {
                        account_id: &invitee.account_id,
                        display_name: &invitee.display_name,
                        meeting_number: &stored.meeting.number,
                        topic,
                        inviter: &stored.host_display_name,
                        link_key: &stored.meeting.link_key,
                    },
                    None,
                );
                rung += 1;
            }
            if !stored.devices.is_empty() {
                let licence = Licence::of_tenant(&app.store, &tenant).await?;
                match app
                    .rooms
                    .call_devices(&stored.meeting, licence, &stored.devices)
                    .await
                {
                    Ok(placed) => {
                        tracing::info!(meeting = %stored.meeting.number, placed, "called a starting meeting's devices")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, meeting = %stored.meeting.number, "a starting meeting's devices were not called")
                    }
                }
            }
        }
    }
    Ok(rung)
}

/// Rings starting occurrences every [`TICK`] for as long as `app` lives.
pub fn spawn(app: &Arc<App>) -> tokio::task::JoinHandle<()> {
    let app: Weak<App> = Arc::downgrade(app);
    tokio::spawn(async move {
        let mut last = now();
        loop {
            tokio::time::sleep(TICK).await;
            let Some(app) = app.upgrade() else {
                return;
            };
            let current = now();
            if let Err(e) = ring_starting(&app, last, current).await {
                tracing::warn!(error = %e, "ringing invitees of starting meetings failed");
            }
            last = current;
        }
    })
}
