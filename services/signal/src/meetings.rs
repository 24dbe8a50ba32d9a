//! Meeting records: instant meetings with random 9-digit numbers, optional
//! passwords and join-link keys.

use rand::Rng;
use sqlx::Row;
use subtle::ConstantTimeEq;
use yunhui_proto::api::{
    CreateMeetingRequest, Meeting, MeetingOptions, MeetingPreview, MeetingStatus,
};

use yunhui_proto::limits;

use crate::accounts::{Caller, new_secret};
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// A meeting row as the server sees it (password included).
#[derive(Debug, Clone)]
pub struct MeetingRecord {
    /// Meeting id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// The 9–11 digit number.
    pub number: String,
    /// Topic.
    pub topic: String,
    /// Password, if the meeting has one.
    pub password: Option<String>,
    /// Key embedded in the join link.
    pub link_key: String,
    /// Host account.
    pub host_account_id: String,
    /// Lifecycle state.
    pub status: MeetingStatus,
    /// Creation time.
    pub created_at: i64,
    /// Settings.
    pub options: MeetingOptions,
}

impl MeetingRecord {
    /// The host's view, with the join link built on `base`, the deployment's
    /// address ([`crate::App::public_base`]).
    pub fn to_api(&self, base: &str) -> Meeting {
        Meeting {
            id: self.id.clone(),
            number: self.number.clone(),
            topic: self.topic.clone(),
            has_password: self.password.is_some(),
            password: self.password.clone(),
            host_account_id: self.host_account_id.clone(),
            status: self.status,
            join_url: format!(
                "{}/j/{}?k={}",
                base.trim_end_matches('/'),
                self.number,
                self.link_key
            ),
            created_at: self.created_at,
            options: self.options.clone(),
        }
    }

    /// What anyone may see before joining.
    pub fn preview(&self) -> MeetingPreview {
        MeetingPreview {
            number: self.number.clone(),
            topic: self.topic.clone(),
            has_password: self.password.is_some(),
            status: self.status,
        }
    }

    /// Checks a joiner's password or link key.
    pub fn check_access(&self, password: Option<&str>, link_key: Option<&str>) -> Result<()> {
        let Some(expected) = &self.password else {
            return Ok(());
        };
        if let Some(key) = link_key {
            if bool::from(key.as_bytes().ct_eq(self.link_key.as_bytes())) {
                return Ok(());
            }
            return Err(Error::WrongPassword(self.number.clone()));
        }
        match password {
            None | Some("") => Err(Error::PasswordRequired(self.number.clone())),
            Some(given) if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
            Some(_) => Err(Error::WrongPassword(self.number.clone())),
        }
    }
}

/// Removes spaces and dashes people type into meeting numbers.
pub fn normalize_number(number: &str) -> String {
    number.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
}

/// The topic to store: trimmed, or "<display name>'s meeting" when empty.
pub fn clean_topic(topic: Option<String>, caller: &Caller) -> Result<String> {
    let topic = topic
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("{}'s meeting", caller.display_name));
    if topic.chars().count() > limits::TOPIC_CHARS {
        return Err(Error::InvalidInput(format!(
            "the topic is longer than {} characters",
            limits::TOPIC_CHARS
        )));
    }
    Ok(topic)
}

/// The password to store: none when empty, else 4–16 printable ASCII characters.
pub fn clean_password(password: Option<String>) -> Result<Option<String>> {
    let password = password.filter(|p| !p.is_empty());
    if let Some(p) = &password {
        let len = p.chars().count();
        let allowed = limits::MEETING_PASSWORD_MIN_CHARS..=limits::MEETING_PASSWORD_MAX_CHARS;
        if !allowed.contains(&len) || !p.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::InvalidInput(format!(
                "password: a meeting password has {} to {} letters, digits or symbols",
                limits::MEETING_PASSWORD_MIN_CHARS,
                limits::MEETING_PASSWORD_MAX_CHARS
            )));
        }
    }
    Ok(password)
}

/// Creates an instant meeting hosted by `caller`.
pub async fn create_instant(
    store: &Store,
    caller: &Caller,
    req: CreateMeetingRequest,
) -> Result<MeetingRecord> {
    let topic = clean_topic(req.topic, caller)?;
    let password = clean_password(req.password)?;
    if req.options.as_ref().is_some_and(|o| o.webinar) {
        return Err(Error::InvalidInput(
            "options.webinar: a webinar is scheduled (POST /api/v1/schedules), not started at once"
                .into(),
        ));
    }
    let options = req.options.unwrap_or_default();
    let mut conn = store.pool().acquire().await?;
    check_features(&mut conn, caller, &options).await?;
    insert_with_fresh_number(&mut conn, caller, topic, password, options).await
}

/// Refuses the webinar and interpretation options when the tenant's
/// features do not include them (the Tenant's `features.webinar` and
/// `features.interpretation`).
pub async fn check_features(
    conn: &mut sqlx::AnyConnection,
    caller: &Caller,
    options: &MeetingOptions,
) -> Result<()> {
    if options.webinar && !crate::tenants::feature_on(conn, &caller.tenant_id, "webinar").await? {
        return Err(Error::NotAllowed(
            "schedule webinars: the enterprise's features do not include webinars",
        ));
    }
    if options.interpretation
        && !crate::tenants::feature_on(conn, &caller.tenant_id, "interpretation").await?
    {
        return Err(Error::NotAllowed(
            "hold meetings with interpretation: the enterprise's features do not include it",
        ));
    }
    Ok(())
}

/// Inserts a new waiting meeting hosted by `caller` under a random number
/// that no open meeting holds. Each attempt runs in a savepoint, so `conn`
/// may be inside a transaction (PostgreSQL aborts a transaction on a failed
/// insert otherwise).
pub async fn insert_with_fresh_number(
    conn: &mut sqlx::AnyConnection,
    caller: &Caller,
    topic: String,
    password: Option<String>,
    options: MeetingOptions,
) -> Result<MeetingRecord> {
    use sqlx::Connection;
    for _ in 0..16 {
        let record = MeetingRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: caller.tenant_id.clone(),
            number: random_number(),
            topic: topic.clone(),
            password: password.clone(),
            link_key: new_secret(16),
            host_account_id: caller.account_id.clone(),
            status: MeetingStatus::Waiting,
            created_at: now(),
            options: options.clone(),
        };
        let mut attempt = conn.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO meetings (id, tenant_id, number, topic, password, link_key, host_account_id, status, created_at, options) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&record.id)
        .bind(&record.tenant_id)
        .bind(&record.number)
        .bind(&record.topic)
        .bind(record.password.clone())
        .bind(&record.link_key)
        .bind(&record.host_account_id)
        .bind(status_str(record.status))
        .bind(record.created_at)
        .bind(options_json(&record.options))
        .execute(&mut *attempt)
        .await;
        match inserted {
            Ok(_) => {
                attempt.commit().await?;
                return Ok(record);
            }
            // The number is taken by an open meeting: draw another.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                attempt.rollback().await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Internal(
        "could not find a free meeting number".into(),
    ))
}

/// Changes the topic, password and settings of a meeting (the schedule
/// module's edit of a scheduled meeting).
pub async fn update_settings(
    conn: &mut sqlx::AnyConnection,
    meeting_id: &str,
    topic: &str,
    password: Option<&str>,
    options: &MeetingOptions,
) -> Result<()> {
    sqlx::query("UPDATE meetings SET topic = $1, password = $2, options = $3 WHERE id = $4")
        .bind(topic)
        .bind(password)
        .bind(options_json(options))
        .bind(meeting_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The open (not ended) meeting with `number`, in any tenant: guests join by
/// number alone.
pub async fn find_open_by_number(store: &Store, number: &str) -> Result<MeetingRecord> {
    let number = normalize_number(number);
    if !(9..=11).contains(&number.len()) || !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::MeetingNotFound(number));
    }
    let row = sqlx::query(&format!("{SELECT} WHERE number = $1 AND status <> 'ended'"))
        .bind(&number)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| Error::MeetingNotFound(number.clone()))?;
    record_from_row(&row)
}

/// A meeting of the caller's tenant, by id.
pub async fn get(store: &Store, caller: &Caller, id: &str) -> Result<MeetingRecord> {
    let row = sqlx::query(&format!("{SELECT} WHERE id = $1 AND tenant_id = $2"))
        .bind(id)
        .bind(&caller.tenant_id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| Error::MeetingNotFound(id.to_string()))?;
    record_from_row(&row)
}

/// Meetings hosted by the caller, newest first.
pub async fn list_hosted(store: &Store, caller: &Caller) -> Result<Vec<MeetingRecord>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE tenant_id = $1 AND host_account_id = $2 ORDER BY created_at DESC LIMIT 200"
    ))
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(record_from_row).collect()
}

pub(crate) const SELECT: &str = "SELECT id, tenant_id, number, topic, password, link_key, host_account_id, status, created_at, options FROM meetings";

/// Stores a meeting's settings (they change during the meeting, e.g. a lock).
pub async fn set_options(store: &Store, meeting_id: &str, options: &MeetingOptions) -> Result<()> {
    sqlx::query("UPDATE meetings SET options = $1 WHERE id = $2")
        .bind(options_json(options))
        .bind(meeting_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

fn options_json(options: &MeetingOptions) -> String {
    serde_json::to_string(options).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn record_from_row(row: &sqlx::any::AnyRow) -> Result<MeetingRecord> {
    let status: String = row.try_get("status")?;
    Ok(MeetingRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        number: row.try_get("number")?,
        topic: row.try_get("topic")?,
        password: row.try_get("password")?,
        link_key: row.try_get("link_key")?,
        host_account_id: row.try_get("host_account_id")?,
        status: match status.as_str() {
            "live" => MeetingStatus::Live,
            "ended" => MeetingStatus::Ended,
            _ => MeetingStatus::Waiting,
        },
        created_at: row.try_get("created_at")?,
        options: serde_json::from_str(&row.try_get::<String, _>("options")?)
            .map_err(|e| Error::Internal(format!("stored meeting options are unreadable: {e}")))?,
    })
}

pub(crate) fn status_str(status: MeetingStatus) -> &'static str {
    match status {
        MeetingStatus::Waiting => "waiting",
        MeetingStatus::Live => "live",
        MeetingStatus::Ended => "ended",
    }
}

/// A 9-digit number without a leading zero, from the OS random source
/// (900 million values, so numbers cannot be enumerated in practice).
fn random_number() -> String {
    rand::rngs::OsRng
        .gen_range(100_000_000u64..1_000_000_000)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(password: Option<&str>) -> MeetingRecord {
        MeetingRecord {
            id: "m".into(),
            tenant_id: "t".into(),
            number: "123456789".into(),
            topic: "x".into(),
            password: password.map(String::from),
            link_key: "key".into(),
            host_account_id: "h".into(),
            status: MeetingStatus::Waiting,
            created_at: 0,
            options: MeetingOptions::default(),
        }
    }

    #[test]
    fn access_rules() {
        assert!(record(None).check_access(None, None).is_ok());
        let m = record(Some("1234"));
        assert!(matches!(
            m.check_access(None, None),
            Err(Error::PasswordRequired(_))
        ));
        assert!(matches!(
            m.check_access(Some("999"), None),
            Err(Error::WrongPassword(_))
        ));
        assert!(m.check_access(Some("1234"), None).is_ok());
        assert!(m.check_access(None, Some("key")).is_ok());
        assert!(matches!(
            m.check_access(Some("1234"), Some("bad")),
            Err(Error::WrongPassword(_))
        ));
    }

    #[test]
    fn numbers_are_nine_digits_and_normalized() {
        for _ in 0..100 {
            let n = random_number();
            assert_eq!(n.len(), 9);
            assert!(!n.starts_with('0'));
        }
        assert_eq!(normalize_number("123 456-789"), "123456789");
    }
}
