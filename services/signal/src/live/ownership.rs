//! Which signal replica owns each live meeting, when several run side by
//! side (issue 11, `../shared/spec/architecture.md`: one owner per live
//! meeting).
//!
//! Each live meeting has a lease row in the database (`meeting_owners`):
//! the owner replica's id and URL, an epoch and an expiry. A replica that
//! opens a meeting's room claims the lease first; a join that reaches
//! another replica is proxied to the owner ([`super::proxy`]). The owner
//! renews the leases of its open rooms every [`Ownership::renew_every`];
//! when it stops (killed, partitioned), its leases expire and the next join
//! on any replica takes the meeting over with the epoch raised by one. A
//! replica whose renewal finds the epoch changed has lost the meeting: it
//! closes its copy of the room and its participants join again, reaching
//! the new owner. The SFU room of each opening is fresh
//! ([`super::room::Room::media_room`]), so an old owner closing its room
//! never touches the new owner's.
//!
//! Only the decision ([`decide`]) is pure; [`Ownership`] does the database
//! work around it. Without a replica URL (`yunhui up`, one replica) there is
//! no ownership and every meeting is local.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use parking_lot::Mutex;
use sqlx::Row;

use crate::error::{Error, Result};
use crate::store::Store;

/// How long a lease lasts without renewal, by default.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(15);

/// Most meetings renewed by one statement.
const RENEW_CHUNK: usize = 100;

/// This replica, as other replicas reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// Fresh for every start of the process.
    pub id: String,
    /// Base URL of this replica's own HTTP port (its pod address, not the
    /// Service in front of all replicas).
    pub url: String,
}

/// A lease as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The replica holding it.
    pub replica_id: String,
    /// Where that replica is reached.
    pub replica_url: String,
    /// Raised by one at every take-over.
    pub epoch: i64,
    /// When it ends unless renewed, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// What a replica does about a meeting's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No lease: write one for this replica, epoch 1.
    Create,
    /// This replica holds it: extend it.
    Extend {
        /// The epoch held.
        epoch: i64,
    },
    /// Expired, or left by an earlier process at this replica's own address:
    /// take it over with the next epoch.
    TakeOver {
        /// The epoch found (the write is conditional on it).
        from_epoch: i64,
    },
    /// Another live replica owns the meeting.
    Elsewhere {
        /// The owner's base URL.
        url: String,
    },
}

/// Decides what `me` does about a meeting whose lease is `lease` at `now_ms`.
pub fn decide(lease: Option<&Lease>, me: &Replica, now_ms: i64) -> Decision {
    match lease {
        None => Decision::Create,
        Some(lease) if lease.replica_id == me.id => Decision::Extend { epoch: lease.epoch },
        // This replica's address with another id: a process that ran here
        // before and stopped. Its rooms died with it.
        Some(lease) if lease.replica_url == me.url => Decision::TakeOver {
            from_epoch: lease.epoch,
        },
        Some(lease) if lease.expires_at_ms <= now_ms => Decision::TakeOver {
            from_epoch: lease.epoch,
        },
        Some(lease) => Decision::Elsewhere {
            url: lease.replica_url.clone(),
        },
    }
}

/// Who owns a meeting, as a claim found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This replica, with this epoch.
    Here {
        /// The epoch this replica holds.
        epoch: i64,
    },
    /// Another replica, reached at this base URL.
    Elsewhere {
        /// The owner's base URL.
        url: String,
    },
}

/// The leases of this replica.
pub struct Ownership {
    store: Store,
    me: Replica,
    ttl: Duration,
    /// The epoch this replica holds, by meeting.
    held: Mutex<HashMap<String, i64>>,
}

impl Ownership {
    /// Leases for `me`, lasting `ttl` without renewal.
    pub fn new(store: Store, me: Replica, ttl: Duration) -> Self {
        Ownership {
            store,
            me,
            ttl,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// This replica.
    pub fn replica(&self) -> &Replica {
        &self.me
    }

    /// How often leases are renewed: a third of their lifetime, so two
    /// renewals may fail before a lease ends.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    fn expiry(&self) -> i64 {
        now_ms() + self.ttl.as_millis() as i64
    }

    /// Claims `meeting_id` for this replica, or finds its owner.
    pub async fn claim(&self, meeting_id: &str) -> Result<Claim> {
        // A lost race (another replica wrote first) is read again; three
        // rounds are plenty, since every lost round means a row now exists.
        for _ in 0..3 {
            let lease = self.read(meeting_id).await?;
            let written = match decide(lease.as_ref(), &self.me, now_ms()) {
                Decision::Elsewhere { url } => return Ok(Claim::Elsewhere { url }),
                Decision::Create => self.create(meeting_id).await?.then_some(1),
                Decision::Extend { epoch } => self
                    .write_if(meeting_id, epoch, epoch)
                    .await?
                    .then_some(epoch),
                Decision::TakeOver { from_epoch } => {
                    let taken = self
                        .write_if(meeting_id, from_epoch, from_epoch + 1)
                        .await?;
                    if taken {
                        tracing::info!(
                            meeting_id,
                            from = lease
                                .as_ref()
                                .map(|l| l.replica_url.as_str())
                                .unwrap_or_default(),
                            epoch = from_epoch + 1,
                            "took over the meeting from a replica whose lease ended"
                        );
                    }
                    taken.then_some(from_epoch + 1)
                }
            };
            if let Some(epoch) = written {
                self.held.lock().insert(meeting_id.to_owned(), epoch);
                return Ok(Claim::Here { epoch });
            }
        }
        Err(Error::Unavailable(
            "the meeting's owner could not be settled; try again".into(),
        ))
    }

    /// Renews the leases of `live` (the meetings whose rooms are open here)
    /// and returns those this replica lost to another. Leases held for a
    /// meeting no longer live are given up.
    pub async fn renew(&self, live: &HashSet<String>) -> Result<Vec<String>> {
        type Held = Vec<(String, i64)>;
        let (keep, give_up): (Held, Held) = {
            let held = self.held.lock();
            held.iter()
                .map(|(m, e)| (m.clone(), *e))
                .partition(|(meeting, _)| live.contains(meeting))
        };
        for (meeting, epoch) in give_up {
            self.release(&meeting, epoch).await?;
        }
        let mut lost = Vec::new();
        let expires = self.expiry();
        for chunk in keep.chunks(RENEW_CHUNK) {
            // One statement per chunk; the rows it did not change are read
            // back to tell a lost lease from a missing one.
            let mut sql = String::from(
                "UPDATE meeting_owners SET expires_at_ms = $1 WHERE replica_id = $2 AND meeting_id IN (",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", i + 3));
            }
            sql.push(')');
            let mut query = sqlx::query(&sql).bind(expires).bind(self.me.id.clone());
            for (meeting, _) in chunk {
                query = query.bind(meeting.clone());
            }
            let changed = query.execute(self.store.pool()).await?.rows_affected();
            if changed as usize == chunk.len() {
                continue;
            }
            for (meeting, epoch) in chunk {
                match self.read(meeting).await? {
                    Some(lease) if lease.replica_id == self.me.id && lease.epoch == *epoch => {}
                    Some(lease) if lease.replica_id != self.me.id => {
                        tracing::warn!(
                            meeting_id = %meeting,
                            owner = %lease.replica_url,
                            epoch = lease.epoch,
                            "another replica took the meeting over"
                        );
                        self.held.lock().remove(meeting);
                        lost.push(meeting.clone());
                    }
                    // Gone (given up by a close racing a new join): claim again.
                    _ => {
                        if let Claim::Elsewhere { url } = self.claim(meeting).await? {
                            tracing::warn!(meeting_id = %meeting, owner = %url, "the meeting's lease went to another replica");
                            self.held.lock().remove(meeting);
                            lost.push(meeting.clone());
                        }
                    }
                }
            }
        }
        Ok(lost)
    }

    /// Gives up the lease of a meeting whose room closed here, unless a
    /// newer epoch was written meanwhile.
    pub async fn release(&self, meeting_id: &str, epoch: i64) -> Result<()> {
        sqlx::query(
            "DELETE FROM meeting_owners WHERE meeting_id = $1 AND replica_id = $2 AND epoch = $3",
        )
        .bind(meeting_id)
        .bind(self.me.id.clone())
        .bind(epoch)
        .execute(self.store.pool())
        .await?;
        let mut held = self.held.lock();
        if held.get(meeting_id) == Some(&epoch) {
            held.remove(meeting_id);
        }
        Ok(())
    }

    /// The epoch held for `meeting_id`, if any.
    pub fn held(&self, meeting_id: &str) -> Option<i64> {
        self.held.lock().get(meeting_id).copied()
    }

    async fn read(&self, meeting_id: &str) -> Result<Option<Lease>> {
        let row = sqlx::query(
            "SELECT replica_id, replica_url, epoch, expires_at_ms FROM meeting_owners WHERE meeting_id = $1",
        )
        .bind(meeting_id)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|row| {
            Ok(Lease {
                replica_id: row.try_get("replica_id")?,
                replica_url: row.try_get("replica_url")?,
                epoch: row.try_get("epoch")?,
                expires_at_ms: row.try_get("expires_at_ms")?,
            })
        })
        .transpose()
    }

    /// Writes a first lease; `false` when another replica wrote one first.
    async fn create(&self, meeting_id: &str) -> Result<bool> {
        let written = sqlx::query(
            "INSERT INTO meeting_owners (meeting_id, replica_id, replica_url, epoch, expires_at_ms) \
             VALUES ($1, $2, $3, 1, $4)",
        )
        .bind(meeting_id)
        .bind(self.me.id.clone())
        .bind(self.me.url.clone())
        .bind(self.expiry())
        .execute(self.store.pool())
        .await;
        match written {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes this replica the holder at `epoch`, if the row still has
    /// `found_epoch`; `false` when another replica changed it first.
    async fn write_if(&self, meeting_id: &str, found_epoch: i64, epoch: i64) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE meeting_owners SET replica_id = $1, replica_url = $2, epoch = $3, expires_at_ms = $4 \
             WHERE meeting_id = $5 AND epoch = $6",
        )
        .bind(self.me.id.clone())
        .bind(self.me.url.clone())
        .bind(epoch)
        .bind(self.expiry())
        .bind(meeting_id)
        .bind(found_epoch)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        Ok(changed == 1)
    }
}

pub(crate) use crate::store::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Replica {
        Replica {
            id: "b-2".into(),
            url: "http://10.0.0.2:8080".into(),
        }
    }

    fn lease(id: &str, url: &str, expires_at_ms: i64) -> Lease {
        Lease {
            replica_id: id.into(),
            replica_url: url.into(),
            epoch: 4,
            expires_at_ms,
        }
    }

    #[test]
    fn no_lease_is_created() {
        assert_eq!(decide(None, &me(), 1000), Decision::Create);
    }

    #[test]
    fn a_held_lease_is_extended_at_its_epoch() {
        let held = lease("b-2", "http://10.0.0.2:8080", 500);
        // Even past its expiry: nobody took it, so it is still ours.
        assert_eq!(
            decide(Some(&held), &me(), 1000),
            Decision::Extend { epoch: 4 }
        );
    }

    #[test]
    fn a_live_lease_of_another_replica_sends_the_join_there() {
        let other = lease("a-1", "http://10.0.0.1:8080", 2000);
        assert_eq!(
            decide(Some(&other), &me(), 1000),
            Decision::Elsewhere {
                url: "http://10.0.0.1:8080".into()
            }
        );
    }

    #[test]
    fn an_expired_lease_is_taken_over_from_its_epoch() {
        let other = lease("a-1", "http://10.0.0.1:8080", 1000);
        assert_eq!(
            decide(Some(&other), &me(), 1000),
            Decision::TakeOver { from_epoch: 4 }
        );
    }

    #[test]
    fn a_lease_left_at_this_address_by_an_earlier_process_is_taken_over_at_once() {
        let earlier = lease("b-1", "http://10.0.0.2:8080", 9000);
        assert_eq!(
            decide(Some(&earlier), &me(), 1000),
            Decision::TakeOver { from_epoch: 4 }
        );
    }
}
