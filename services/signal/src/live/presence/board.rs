//! Calls placed during a meeting, shared by several signal replicas
//! (`ringing_calls`, migration 0022): an invitee's listening sockets may be
//! connected to any replica, while the inviter is in the meeting on its
//! owner. The owner writes each call ([`CallBoard::place`]); every replica
//! reads the calls placed elsewhere every [`SYNC_EVERY`], rings the
//! invitee's sockets connected to it and writes that it rang
//! (`rang_by`); an answer on any replica is written (`answer`); the owner
//! reads its calls back and tells the inviter ([`news`] is the pure
//! decision), and the other replicas stop ringing an answered call. A call
//! rings for at most [`CALL_TTL`]. With one replica nothing is written.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::Row;

use super::{CallNews, OwnCall, Placed, Presence};
use crate::error::Result;
use crate::live::ownership::now_ms;
use crate::store::Store;

/// How often a replica reads the calls.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// How long a call placed here may go without any replica ringing it
/// before its inviter is told `offline`.
pub const OFFLINE_AFTER: Duration = Duration::from_secs(3);

/// How long a shared call rings unanswered.
pub const CALL_TTL: Duration = Duration::from_secs(120);

/// A call as the other replicas left it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// A replica rang it.
    pub rang: bool,
    /// `accepted` or `declined`, once answered.
    pub answer: Option<String>,
}

/// What the inviter of `call` learns from its row (`None`: not written yet,
/// or swept after [`CALL_TTL`]).
pub fn news(call: &OwnCall, row: Option<&Written>) -> Option<CallNews> {
    match row {
        Some(Written {
            answer: Some(answer),
            ..
        }) => Some(CallNews::Answered {
            accept: answer == "accepted",
        }),
        Some(Written { rang: true, .. }) if !call.told_ringing => Some(CallNews::Ringing),
        _ if call.age >= CALL_TTL => Some(CallNews::Expired),
        _ if !call.told_ringing && call.age >= OFFLINE_AFTER => Some(CallNews::Offline),
        _ => None,
    }
}

/// This replica's view of the shared calls.
pub struct CallBoard {
    store: Store,
    /// This replica's id.
    me: String,
}

impl CallBoard {
    /// The board of replica `me`.
    pub fn new(store: Store, me: String) -> Self {
        CallBoard { store, me }
    }

    /// Writes a call placed here, for the other replicas to ring.
    pub async fn place(&self, call: &Placed) -> Result<()> {
        sqlx::query(
            "INSERT INTO ringing_calls (call_id, account_id, display_name, meeting_number, topic, \
             inviter, link_key, placed_by, placed_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&call.call_id)
        .bind(&call.account_id)
        .bind(&call.display_name)
        .bind(&call.meeting_number)
        .bind(&call.topic)
        .bind(&call.inviter)
        .bind(&call.link_key)
        .bind(&self.me)
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Writes the answer to a call (the first answer stands).
    pub async fn answer(&self, call_id: &str, accept: bool) -> Result<()> {
        sqlx::query("UPDATE ringing_calls SET answer = $1 WHERE call_id = $2 AND answer IS NULL")
            .bind(if accept { "accepted" } else { "declined" })
            .bind(call_id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// One round: rings the calls placed elsewhere, stops those answered
    /// elsewhere, and tells this replica's inviters what became of theirs.
    pub async fn sync(&self, presence: &Presence) -> Result<()> {
        let oldest = now_ms() - CALL_TTL.as_millis() as i64;
        self.ring_others(presence, oldest).await?;
        self.follow_own(presence, oldest).await?;
        // Calls past their time, whoever placed them (an answered call
        // stays until then, for the other replicas to stop ringing it).
        sqlx::query("DELETE FROM ringing_calls WHERE placed_at_ms <= $1")
            .bind(oldest)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    async fn ring_others(&self, presence: &Presence, oldest: i64) -> Result<()> {
        let rows = sqlx::query(
            "SELECT call_id, account_id, display_name, meeting_number, topic, inviter, link_key, \
             answer FROM ringing_calls WHERE placed_by <> $1 AND placed_at_ms > $2",
        )
        .bind(&self.me)
        .bind(oldest)
        .fetch_all(self.store.pool())
        .await?;
        let mut live = Vec::with_capacity(rows.len());
        for row in rows {
            let call = Placed {
                call_id: row.try_get("call_id")?,
                account_id: row.try_get("account_id")?,
                display_name: row.try_get("display_name")?,
                meeting_number: row.try_get("meeting_number")?,
                topic: row.try_get("topic")?,
                inviter: row.try_get("inviter")?,
                link_key: row.try_get("link_key")?,
            };
            let answer: Option<String> = row.try_get("answer")?;
            if answer.is_some() {
                continue;
            }
            if presence.ring_from_elsewhere(&call) {
                sqlx::query(
                    "UPDATE ringing_calls SET rang_by = $1 WHERE call_id = $2 AND rang_by IS NULL",
                )
                .bind(&self.me)
                .bind(&call.call_id)
                .execute(self.store.pool())
                .await?;
            }
            live.push(call.call_id);
        }
        // Answered elsewhere, or past its time: it stops ringing here.
        for call_id in presence.ringing_from_elsewhere() {
            if !live.contains(&call_id) {
                presence.ended_elsewhere(&call_id);
            }
        }
        Ok(())
    }

    async fn follow_own(&self, presence: &Presence, oldest: i64) -> Result<()> {
        let own = presence.own_shared_calls();
        if own.is_empty() {
            return Ok(());
        }
        let rows = sqlx::query(
            "SELECT call_id, rang_by, answer FROM ringing_calls WHERE placed_by = $1 \
             AND placed_at_ms > $2",
        )
        .bind(&self.me)
        .bind(oldest)
        .fetch_all(self.store.pool())
        .await?;
        let mut written = HashMap::with_capacity(rows.len());
        for row in rows {
            let rang_by: Option<String> = row.try_get("rang_by")?;
            written.insert(
                row.try_get::<String, _>("call_id")?,
                Written {
                    rang: rang_by.is_some(),
                    answer: row.try_get("answer")?,
                },
            );
        }
        for call in own {
            if let Some(news) = news(&call, written.get(&call.call_id)) {
                presence.settle(&call.call_id, news);
            }
        }
        Ok(())
    }
}

/// Runs [`CallBoard::sync`] every [`SYNC_EVERY`] for as long as `presence`
/// lives.
pub fn spawn_sync(board: Arc<CallBoard>, presence: Weak<Presence>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SYNC_EVERY).await;
            let Some(presence) = presence.upgrade() else {
                return;
            };
            if let Err(e) = board.sync(&presence).await {
                tracing::warn!(error = %e, "reading the calls of the other replicas failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(told_ringing: bool, age_secs: u64) -> OwnCall {
        OwnCall {
            call_id: "c".into(),
            told_ringing,
            age: Duration::from_secs(age_secs),
        }
    }

    fn written(rang: bool, answer: Option<&str>) -> Written {
        Written {
            rang,
            answer: answer.map(String::from),
        }
    }

    #[test]
    fn the_inviter_learns_the_answer_given_anywhere() {
        for told in [false, true] {
            assert_eq!(
                news(&own(told, 1), Some(&written(true, Some("accepted")))),
                Some(CallNews::Answered { accept: true })
            );
            assert_eq!(
                news(&own(told, 1), Some(&written(true, Some("declined")))),
                Some(CallNews::Answered { accept: false })
            );
        }
    }

    #[test]
    fn ringing_elsewhere_is_told_once() {
        assert_eq!(
            news(&own(false, 0), Some(&written(true, None))),
            Some(CallNews::Ringing)
        );
        assert_eq!(news(&own(true, 0), Some(&written(true, None))), None);
    }

    #[test]
    fn offline_only_when_nothing_rang_anywhere_in_time() {
        // Not rung yet, and still young: wait (the row may not be written yet).
        assert_eq!(news(&own(false, 1), None), None);
        assert_eq!(news(&own(false, 1), Some(&written(false, None))), None);
        assert_eq!(
            news(&own(false, 3), Some(&written(false, None))),
            Some(CallNews::Offline)
        );
        // Ringing here: never offline.
        assert_eq!(news(&own(true, 30), Some(&written(false, None))), None);
    }

    #[test]
    fn an_unanswered_call_stops_after_its_time() {
        assert_eq!(news(&own(true, 120), None), Some(CallNews::Expired));
        assert_eq!(
            news(&own(true, 121), Some(&written(true, None))),
            Some(CallNews::Expired)
        );
    }
}
