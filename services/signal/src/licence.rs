//! Tenant licences (F-ACC-5), enforced when a participant enters a meeting.
//!
//! The operator writes a tenant's licence through the tenant admin API as
//! `{"concurrentPorts": N}` (at most N participants in meetings at once,
//! across the tenant) or `{"cloudRooms": {"count": R, "capacity": C}}` (at
//! most R meetings live at once, each with at most C participants). A
//! tenant without licence terms (the default tenant of `yunhui up`) is not
//! limited.

pub mod usage;

use serde::Deserialize;
use sqlx::Row;

use crate::error::{Error, Result};
use crate::store::Store;

/// What a tenant may use at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Licence {
    /// No limits.
    Unlimited,
    /// Participants in meetings at once, across the tenant.
    ConcurrentPorts(u32),
    /// Live meetings at once, each with at most `capacity` participants.
    CloudRooms {
        /// Live meetings.
        count: u32,
        /// Participants per meeting.
        capacity: u32,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Terms {
    concurrent_ports: Option<u32>,
    cloud_rooms: Option<RoomTerms>,
}

#[derive(Deserialize)]
struct RoomTerms {
    count: u32,
    capacity: u32,
}

impl Licence {
    /// Reads licence terms as stored by the tenant admin API.
    pub fn parse(json: &str) -> Result<Licence> {
        let terms: Terms = serde_json::from_str(json)
            .map_err(|e| Error::Internal(format!("stored licence terms are unreadable: {e}")))?;
        Ok(match (terms.concurrent_ports, terms.cloud_rooms) {
            (Some(ports), _) => Licence::ConcurrentPorts(ports),
            (None, Some(rooms)) => Licence::CloudRooms {
                count: rooms.count,
                capacity: rooms.capacity,
            },
            (None, None) => Licence::Unlimited,
        })
    }

    /// The licence of `tenant_id`.
    pub async fn of_tenant(store: &Store, tenant_id: &str) -> Result<Licence> {
        let row = sqlx::query("SELECT licence FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(store.pool())
            .await?;
        match row {
            Some(row) => Licence::parse(&row.try_get::<String, _>("licence")?),
            None => Ok(Licence::Unlimited),
        }
    }

    /// Refuses one more participant when the tenant already has
    /// `tenant_participants` in meetings and this meeting has `room_participants`.
    pub fn admit_participant(
        &self,
        tenant_participants: usize,
        room_participants: usize,
    ) -> Result<()> {
        match *self {
            Licence::ConcurrentPorts(ports) if tenant_participants >= ports as usize => {
                Err(Error::LicenceExceeded(format!(
                    "all {ports} concurrent ports of the licence are in use; try again when someone leaves"
                )))
            }
            Licence::CloudRooms { capacity, .. } if room_participants >= capacity as usize => {
                Err(Error::LicenceExceeded(format!(
                    "this meeting is full: the licence allows {capacity} participants per meeting"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Refuses opening one more meeting when the tenant has `live_rooms` open.
    pub fn open_room(&self, live_rooms: usize) -> Result<()> {
        match *self {
            Licence::CloudRooms { count, .. } if live_rooms >= count as usize => {
                Err(Error::LicenceExceeded(format!(
                    "all {count} cloud rooms of the licence are in use; try again when a meeting ends"
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_read_and_applied() {
        assert_eq!(Licence::parse("{}").unwrap(), Licence::Unlimited);
        let ports = Licence::parse(r#"{"concurrentPorts": 3}"#).unwrap();
        assert_eq!(ports, Licence::ConcurrentPorts(3));
        assert!(ports.admit_participant(2, 100).is_ok());
        assert!(matches!(
            ports.admit_participant(3, 0),
            Err(Error::LicenceExceeded(_))
        ));
        assert!(ports.open_room(1000).is_ok());
        let rooms = Licence::parse(r#"{"cloudRooms": {"count": 1, "capacity": 2}}"#).unwrap();
        assert!(rooms.admit_participant(1000, 1).is_ok());
        assert!(rooms.admit_participant(0, 2).is_err());
        assert!(rooms.open_room(0).is_ok());
        assert!(rooms.open_room(1).is_err());
        assert!(Licence::parse("[").is_err());
    }
}
