//! Scheduled and recurring meetings (F-MTG-2…5): schedule, edit, cancel, edit
//! or cancel one occurrence of a series, the upcoming and history lists, and
//! the invitation text.
//!
//! A scheduled meeting is a row in `meetings` (so joining by number or link is
//! unchanged) plus its schedule; a series shares one number. The host edits
//! and cancels; invitees see details, the invitation and their upcoming list.
//! Everything is scoped to the caller's tenant: a schedule of another tenant,
//! or one the caller neither hosts nor is invited to, is "not found".
//!
//! Its routes (served by `crate::api::schedule`, under `/api/v1`):
//! - `POST /schedules`, `GET|PUT|DELETE /schedules/{id}`;
//! - `PUT|DELETE /schedules/{id}/occurrences/{date}` for one occurrence;
//! - `GET /schedules/{id}/invitation?lang=zh|en` (text);
//! - `GET /upcoming?from=&to=` (Unix seconds), `GET /history`.

use std::collections::HashSet;

use sqlx::{AnyConnection, Row};
use yunhui_proto::api::{JoinMode, MeetingStatus};
use yunhui_proto::schedule::{
    HistoryEntry, Invitee, MeetingDevice, Occurrence, OccurrenceException, OccurrenceUpdate,
    Recurrence, ScheduleRequest, ScheduledMeeting,
};

use crate::App;
use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::invitation::{Invitation, Language};
use crate::meetings::{self, MeetingRecord};
use crate::recurrence::{self, DATE_FORMAT, LOCAL_FORMAT, Timing};
use crate::store::{Store, now};

use yunhui_proto::limits::{
    DEVICE_ADDRESS_BYTES, DEVICE_NAME_CHARS, INVITEES as MAX_INVITEES,
    LOCATION_CHARS as MAX_LOCATION, MEETING_DEVICES as MAX_DEVICES,
};
/// Refuses ids that cannot name a record (too long, control characters)
/// before they reach the database, with the answer for an unknown id.
pub(crate) fn check_id(what: &'static str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
        return Err(Error::NotVisible {
            what,
            id: id.chars().filter(|c| !c.is_control()).take(64).collect(),
        });
    }
    Ok(())
}

/// Refuses control characters (NUL among them) in free text.
pub(crate) fn check_text(field: &str, text: &str) -> Result<()> {
    if text.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "{field}: control characters are not allowed"
        )));
    }
    Ok(())
}

/// A schedule as stored, with its meeting row.
#[derive(Debug, Clone)]
pub struct StoredSchedule {
    /// The meeting row.
    pub meeting: MeetingRecord,
    /// Start, zone, length and repetition.
    pub timing: Timing,
    /// Invited accounts.
    pub invitees: Vec<Invitee>,
    /// Invited devices.
    pub devices: Vec<MeetingDevice>,
    /// Physical meeting room.
    pub location: Option<String>,
    /// Changed or cancelled occurrences.
    pub exceptions: Vec<OccurrenceException>,
    /// Display name of the host.
    pub host_display_name: String,
}

/// A validated request: everything checked before anything is written.
struct Plan {
    topic: String,
    password: Option<String>,
    options: yunhui_proto::api::MeetingOptions,
    timing: Timing,
    invitees: Vec<String>,
    devices: Vec<MeetingDevice>,
    location: Option<String>,
}

async fn validate(conn: &mut AnyConnection, caller: &Caller, req: ScheduleRequest) -> Result<Plan> {
    check_text("topic", req.topic.as_deref().unwrap_or_default())?;
    check_text("location", req.location.as_deref().unwrap_or_default())?;
    for (i, d) in req.devices.iter().enumerate() {
        check_text(&format!("devices[{i}].name"), &d.name)?;
        check_text(&format!("devices[{i}].address"), &d.address)?;
    }
    let topic = meetings::clean_topic(req.topic, caller)?;
    let password = meetings::clean_password(req.password)?;
    let timing = Timing::parse(
        &req.start,
        &req.time_zone,
        req.duration_minutes,
        req.recurrence.as_ref(),
    )?;
    let location = req
        .location
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    if let Some(l) = &location
        && l.chars().count() > MAX_LOCATION
    {
        return Err(Error::InvalidInput(format!(
            "location: at most {MAX_LOCATION} characters"
        )));
    }
    if req.devices.len() > MAX_DEVICES {
        return Err(Error::InvalidInput(format!(
            "devices: at most {MAX_DEVICES} meeting devices"
        )));
    }
    let mut devices = Vec::with_capacity(req.devices.len());
    for (i, d) in req.devices.into_iter().enumerate() {
        let name = d.name.trim().to_string();
        let address = d.address.trim().to_string();
        if name.is_empty() || name.chars().count() > DEVICE_NAME_CHARS {
            return Err(Error::InvalidInput(format!(
                "devices[{i}].name: 1 to {DEVICE_NAME_CHARS} characters"
            )));
        }
        if address.is_empty()
            || address.len() > DEVICE_ADDRESS_BYTES
            || address.chars().any(char::is_whitespace)
        {
            return Err(Error::InvalidInput(format!(
                "devices[{i}].address: a SIP or H.323 address of 1 to {DEVICE_ADDRESS_BYTES} characters without spaces"
            )));
        }
        devices.push(MeetingDevice { name, address });
    }
    let invitees = check_invitees(conn, caller, req.invitees, "invitees").await?;
    let options = req.options.unwrap_or_default();
    meetings::check_features(conn, caller, &options).await?;
    Ok(Plan {
        topic,
        password,
        options,
        timing,
        invitees,
        devices,
        location,
    })
}

/// Invitee ids, deduplicated and without the host, all accounts of the
/// caller's tenant. Unknown ids and ids of other tenants get the same
/// answer, so nothing is learnt about other tenants.
pub(crate) async fn check_invitees(
    conn: &mut AnyConnection,
    caller: &Caller,
    ids: Vec<String>,
    field: &str,
) -> Result<Vec<String>> {
    if ids.len() > MAX_INVITEES {
        return Err(Error::InvalidInput(format!(
            "{field}: at most {MAX_INVITEES} accounts"
        )));
    }
    let mut seen = HashSet::new();
    let mut wanted = Vec::new();
    for id in ids {
        let id = id.trim().to_string();
        if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
            return Err(Error::InvalidInput(format!(
                "{field}: an account id has 1 to 64 characters"
            )));
        }
        if id != caller.account_id && seen.insert(id.clone()) {
            wanted.push(id);
        }
    }
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let placeholders: Vec<String> = (0..wanted.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT id FROM accounts WHERE tenant_id = $1 AND id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(&caller.tenant_id);
    for id in &wanted {
        query = query.bind(id);
    }
    let found: HashSet<String> = query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()?;
    if let Some(missing) = wanted.iter().find(|id| !found.contains(*id)) {
        return Err(Error::InvalidInput(format!(
            "{field}: {missing} is not an account of your organisation"
        )));
    }
    Ok(wanted)
}

/// First start and last end of the whole series, exceptions applied.
fn bounds(timing: &Timing, exceptions: &[OccurrenceException]) -> Result<(i64, i64)> {
    let slots = timing.slots(exceptions)?;
    let first = slots.iter().map(|s| s.start.timestamp()).min();
    let last = slots.iter().map(|s| s.end().timestamp()).max();
    Ok(match (first, last) {
        (Some(first), Some(last)) => (first, last),
        // Every occurrence cancelled: nothing to list.
        _ => (0, 0),
    })
}

/// Schedules a meeting hosted by `caller`.
pub async fn create_schedule(
    app: &App,
    caller: &Caller,
    req: ScheduleRequest,
) -> Result<StoredSchedule> {
    let mut tx = app.store.pool().begin().await?;
    let plan = validate(&mut tx, caller, req).await?;
    let meeting = meetings::insert_with_fresh_number(
        &mut tx,
        caller,
        plan.topic.clone(),
        plan.password.clone(),
        plan.options.clone(),
    )
    .await?;
    let (first, last) = bounds(&plan.timing, &[])?;
    let ts = now();
    sqlx::query(
        "INSERT INTO schedules (meeting_id, tenant_id, start_local, time_zone, duration_minutes, recurrence, devices, location, first_start, last_end, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(&meeting.id)
    .bind(&caller.tenant_id)
    .bind(plan.timing.start.format(LOCAL_FORMAT).to_string())
    .bind(plan.timing.zone.name())
    .bind(i64::from(plan.timing.duration_minutes))
    .bind(recurrence_json(plan.timing.recurrence.as_ref()))
    .bind(devices_json(&plan.devices))
    .bind(plan.location.clone())
    .bind(first)
    .bind(last)
    .bind(ts)
    .execute(&mut *tx)
    .await?;
    insert_invitees(&mut tx, &meeting.id, &caller.tenant_id, &plan.invitees).await?;
    tx.commit().await?;
    load_visible(app, caller, &meeting.id).await
}

async fn insert_invitees(
    conn: &mut AnyConnection,
    meeting_id: &str,
    tenant_id: &str,
    invitees: &[String],
) -> Result<()> {
    for id in invitees {
        sqlx::query(
            "INSERT INTO schedule_invitees (meeting_id, tenant_id, account_id) VALUES ($1, $2, $3)",
        )
        .bind(meeting_id)
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Loads the schedule of meeting `id` in `tenant_id`, if there is one.
pub(crate) async fn load(
    conn: &mut AnyConnection,
    tenant_id: &str,
    id: &str,
) -> Result<Option<StoredSchedule>> {
    let Some(row) = sqlx::query(
        "SELECT m.id, m.tenant_id, m.number, m.topic, m.password, m.link_key, m.host_account_id, m.status, m.created_at, m.options, \
         s.start_local, s.time_zone, s.duration_minutes, s.recurrence, s.devices, s.location, a.display_name AS host_display_name \
         FROM schedules s JOIN meetings m ON m.id = s.meeting_id AND m.tenant_id = s.tenant_id \
         JOIN accounts a ON a.id = m.host_account_id \
         WHERE s.meeting_id = $1 AND s.tenant_id = $2",
    )
    .bind(id)
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let meeting = meetings::record_from_row(&row)?;
    let recurrence: Option<String> = row.try_get("recurrence")?;
    let recurrence: Option<Recurrence> =
        recurrence
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(|e| Error::Internal(format!("stored recurrence is unreadable: {e}")))?;
    let duration: i64 = row.try_get("duration_minutes")?;
    let timing = Timing {
        zone: recurrence::parse_zone(&row.try_get::<String, _>("time_zone")?)?,
        start: chrono::NaiveDateTime::parse_from_str(
            &row.try_get::<String, _>("start_local")?,
            LOCAL_FORMAT,
        )
        .map_err(|e| Error::Internal(format!("stored start is unreadable: {e}")))?,
        duration_minutes: u32::try_from(duration).unwrap_or_default(),
        recurrence,
    };
    let devices = serde_json::from_str(&row.try_get::<String, _>("devices")?)
        .map_err(|e| Error::Internal(format!("stored devices are unreadable: {e}")))?;
    let location = row.try_get("location")?;
    let host_display_name = row.try_get("host_display_name")?;
    let invitees = sqlx::query(
        "SELECT a.id, a.display_name FROM schedule_invitees i \
         JOIN accounts a ON a.id = i.account_id AND a.tenant_id = i.tenant_id \
         WHERE i.meeting_id = $1 ORDER BY a.display_name, a.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(crate::accounts::invitee_from_row)
    .collect::<Result<Vec<_>>>()?;
    let exceptions = load_exceptions(conn, id).await?;
    Ok(Some(StoredSchedule {
        meeting,
        timing,
        invitees,
        devices,
        location,
        exceptions,
        host_display_name,
    }))
}

async fn load_exceptions(conn: &mut AnyConnection, id: &str) -> Result<Vec<OccurrenceException>> {
    let rows = sqlx::query(
        "SELECT occurrence_date, cancelled, start_local, duration_minutes, topic \
         FROM schedule_exceptions WHERE meeting_id = $1 ORDER BY occurrence_date",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let cancelled: i64 = r.try_get("cancelled")?;
            let duration: Option<i64> = r.try_get("duration_minutes")?;
            Ok(OccurrenceException {
                date: r.try_get("occurrence_date")?,
                cancelled: cancelled != 0,
                start: r.try_get("start_local")?,
                duration_minutes: duration.and_then(|d| u32::try_from(d).ok()),
                topic: r.try_get("topic")?,
            })
        })
        .collect()
}

/// The schedule `id` if the caller hosts it or is invited, else "not found".
pub async fn load_visible(app: &App, caller: &Caller, id: &str) -> Result<StoredSchedule> {
    check_id("scheduled meeting", id)?;
    let mut conn = app.store.pool().acquire().await?;
    let stored = load(&mut conn, &caller.tenant_id, id)
        .await?
        .ok_or_else(|| Error::NotVisible {
            what: "scheduled meeting",
            id: id.to_string(),
        })?;
    let visible = stored.meeting.host_account_id == caller.account_id
        || stored
            .invitees
            .iter()
            .any(|i| i.account_id == caller.account_id);
    if !visible {
        return Err(Error::NotVisible {
            what: "scheduled meeting",
            id: id.to_string(),
        });
    }
    Ok(stored)
}

/// Like [`load_visible`], inside `conn`, and only for the host: invitees are
/// told they may not change it, everyone else that it does not exist.
async fn load_for_host(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
    action: &'static str,
) -> Result<StoredSchedule> {
    check_id("scheduled meeting", id)?;
    let stored = load(conn, &caller.tenant_id, id)
        .await?
        .ok_or_else(|| Error::NotVisible {
            what: "scheduled meeting",
            id: id.to_string(),
        })?;
    if stored.meeting.host_account_id != caller.account_id {
        if stored
            .invitees
            .iter()
            .any(|i| i.account_id == caller.account_id)
        {
            return Err(Error::NotHost(action));
        }
        return Err(Error::NotVisible {
            what: "scheduled meeting",
            id: id.to_string(),
        });
    }
    if stored.meeting.status == MeetingStatus::Ended {
        return Err(Error::MeetingEnded(stored.meeting.number.clone()));
    }
    Ok(stored)
}

/// Replaces the whole meeting or series; changed or cancelled occurrences
/// are kept (they are keyed by date).
pub async fn edit_schedule(
    app: &App,
    caller: &Caller,
    id: &str,
    req: ScheduleRequest,
) -> Result<StoredSchedule> {
    let mut tx = app.store.pool().begin().await?;
    let stored = load_for_host(&mut tx, caller, id, "edit this meeting").await?;
    let plan = validate(&mut tx, caller, req).await?;
    let (first, last) = bounds(&plan.timing, &stored.exceptions)?;
    meetings::update_settings(
        &mut tx,
        id,
        &plan.topic,
        plan.password.as_deref(),
        &plan.options,
    )
    .await?;
    sqlx::query(
        "UPDATE schedules SET start_local = $1, time_zone = $2, duration_minutes = $3, recurrence = $4, \
         devices = $5, location = $6, first_start = $7, last_end = $8, updated_at = $9 WHERE meeting_id = $10",
    )
    .bind(plan.timing.start.format(LOCAL_FORMAT).to_string())
    .bind(plan.timing.zone.name())
    .bind(i64::from(plan.timing.duration_minutes))
    .bind(recurrence_json(plan.timing.recurrence.as_ref()))
    .bind(devices_json(&plan.devices))
    .bind(plan.location.clone())
    .bind(first)
    .bind(last)
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM schedule_invitees WHERE meeting_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    insert_invitees(&mut tx, id, &caller.tenant_id, &plan.invitees).await?;
    tx.commit().await?;
    load_visible(app, caller, id).await
}

/// Cancels a scheduled meeting or a whole series: it leaves every list and
/// its number is free again.
pub async fn cancel_schedule(app: &App, caller: &Caller, id: &str) -> Result<()> {
    let mut tx = app.store.pool().begin().await?;
    load_for_host(&mut tx, caller, id, "cancel this meeting").await?;
    for sql in [
        "DELETE FROM schedule_exceptions WHERE meeting_id = $1",
        "DELETE FROM schedule_invitees WHERE meeting_id = $1",
        "DELETE FROM schedules WHERE meeting_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE meetings SET status = 'ended', ended_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes (`update`) or cancels (`None`) the occurrence of series `id` on
/// local `date`.
pub async fn change_occurrence(
    app: &App,
    caller: &Caller,
    id: &str,
    date: &str,
    update: Option<OccurrenceUpdate>,
) -> Result<StoredSchedule> {
    let mut tx = app.store.pool().begin().await?;
    // Lock the series' row (SQLite has one writer anyway): changes of one
    // series' occurrences take turns, each reading what the last one wrote.
    sqlx::query("UPDATE schedules SET updated_at = updated_at WHERE meeting_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let action = if update.is_some() {
        "edit an occurrence of this series"
    } else {
        "cancel an occurrence of this series"
    };
    let stored = load_for_host(&mut tx, caller, id, action).await?;
    if stored.timing.recurrence.is_none() {
        return Err(Error::InvalidInput(
            "this meeting is not a series: edit or cancel the whole meeting".into(),
        ));
    }
    let day = recurrence::parse_date("date", date)?;
    if !stored.timing.has_occurrence_on(day)? {
        return Err(Error::OccurrenceNotFound {
            meeting: stored.meeting.number.clone(),
            date: date.to_string(),
        });
    }
    let key = day.format(DATE_FORMAT).to_string();
    let mut exception = stored
        .exceptions
        .iter()
        .find(|e| e.date == key)
        .cloned()
        .unwrap_or(OccurrenceException {
            date: key.clone(),
            cancelled: false,
            start: None,
            duration_minutes: None,
            topic: None,
        });
    match update {
        None => exception.cancelled = true,
        Some(update) => {
            if let Some(start) = update.start {
                let local = recurrence::parse_start("start", &start)?;
                recurrence::localize("start", stored.timing.zone, local)?;
                exception.start = Some(local.format(LOCAL_FORMAT).to_string());
            }
            if let Some(minutes) = update.duration_minutes {
                recurrence::check_duration("duration_minutes", minutes)?;
                exception.duration_minutes = Some(minutes);
            }
            if let Some(topic) = update.topic {
                check_text("topic", &topic)?;
                let topic = topic.trim().to_string();
                if topic.chars().count() > yunhui_proto::limits::TOPIC_CHARS {
                    return Err(Error::InvalidInput(format!(
                        "topic: at most {} characters",
                        yunhui_proto::limits::TOPIC_CHARS
                    )));
                }
                exception.topic = Some(topic).filter(|t| !t.is_empty());
            }
            exception.cancelled = false;
        }
    }
    let mut exceptions: Vec<OccurrenceException> = stored
        .exceptions
        .iter()
        .filter(|e| e.date != key)
        .cloned()
        .collect();
    exceptions.push(exception.clone());
    let (first, last) = bounds(&stored.timing, &exceptions)?;
    // Update the occurrence's exception, else insert it: the series' row,
    // locked first thing in this transaction, keeps a concurrent change from
    // inserting it in between (docs/database-compatibility.md: no upsert).
    // Both statements bind the same values in the same order.
    for sql in [
        "UPDATE schedule_exceptions SET cancelled = $1, start_local = $2, duration_minutes = $3, topic = $4 \
         WHERE meeting_id = $5 AND occurrence_date = $6",
        "INSERT INTO schedule_exceptions (cancelled, start_local, duration_minutes, topic, meeting_id, occurrence_date) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    ] {
        let written = sqlx::query(sql)
            .bind(i64::from(exception.cancelled))
            .bind(exception.start.clone())
            .bind(exception.duration_minutes.map(i64::from))
            .bind(exception.topic.clone())
            .bind(id)
            .bind(&key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if written > 0 {
            break;
        }
    }
    sqlx::query("UPDATE schedules SET first_start = $1, last_end = $2, updated_at = $3 WHERE meeting_id = $4")
        .bind(first)
        .bind(last)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    load_visible(app, caller, id).await
}

/// Occurrences of meetings the caller hosts or is invited to that overlap
/// `[from, to)`, sorted by start.
pub async fn upcoming_occurrences(
    app: &App,
    caller: &Caller,
    from: i64,
    to: i64,
) -> Result<Vec<Occurrence>> {
    let mut conn = app.store.pool().acquire().await?;
    let ids: Vec<String> = sqlx::query(
        "SELECT s.meeting_id FROM schedules s JOIN meetings m ON m.id = s.meeting_id AND m.tenant_id = s.tenant_id \
         WHERE s.tenant_id = $1 AND m.status <> 'ended' AND s.last_end > $2 AND s.first_start < $3 \
         AND (m.host_account_id = $4 OR EXISTS (SELECT 1 FROM schedule_invitees i \
              WHERE i.meeting_id = s.meeting_id AND i.tenant_id = s.tenant_id AND i.account_id = $4))",
    )
    .bind(&caller.tenant_id)
    .bind(from)
    .bind(to)
    .bind(&caller.account_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("meeting_id"))
    .collect::<Result<_, _>>()?;
    let mut list = Vec::new();
    for id in ids {
        let Some(stored) = load(&mut conn, &caller.tenant_id, &id).await? else {
            continue;
        };
        for slot in stored.timing.slots(&stored.exceptions)? {
            let (start, end) = (slot.start.timestamp(), slot.end().timestamp());
            if end <= from || start >= to {
                continue;
            }
            list.push(Occurrence {
                meeting_id: stored.meeting.id.clone(),
                number: stored.meeting.number.clone(),
                topic: slot
                    .topic
                    .clone()
                    .unwrap_or_else(|| stored.meeting.topic.clone()),
                date: slot.date.format(DATE_FORMAT).to_string(),
                start: slot.start.naive_local().format(LOCAL_FORMAT).to_string(),
                starts_at: start,
                ends_at: end,
                duration_minutes: slot.duration_minutes,
                time_zone: stored.timing.zone.name().to_string(),
                recurring: stored.timing.recurrence.is_some(),
                modified: slot.modified,
                host_account_id: stored.meeting.host_account_id.clone(),
                is_host: stored.meeting.host_account_id == caller.account_id,
            });
        }
    }
    list.sort_by(|a, b| (a.starts_at, &a.number).cmp(&(b.starts_at, &b.number)));
    Ok(list)
}

/// Held meetings the caller hosted or was invited to, latest first.
pub async fn history_entries(app: &App, caller: &Caller) -> Result<Vec<HistoryEntry>> {
    let rows = sqlx::query(
        "SELECT h.meeting_id, h.number, h.topic, h.host_account_id, h.started_at, h.ended_at FROM meeting_history h \
         WHERE h.tenant_id = $1 AND (h.host_account_id = $2 OR EXISTS (SELECT 1 FROM schedule_invitees i \
              WHERE i.meeting_id = h.meeting_id AND i.tenant_id = h.tenant_id AND i.account_id = $2)) \
         ORDER BY h.ended_at DESC, h.id LIMIT 200",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_all(app.store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryEntry {
                meeting_id: r.try_get("meeting_id")?,
                number: r.try_get("number")?,
                topic: r.try_get("topic")?,
                host_account_id: r.try_get("host_account_id")?,
                started_at: r.try_get("started_at")?,
                ended_at: r.try_get("ended_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// Whether meeting `meeting_id` is a series with an occurrence starting
/// after `at` (so ending one occurrence keeps its number for the next).
pub async fn series_continues_after(
    conn: &mut AnyConnection,
    meeting_id: &str,
    at: i64,
) -> Result<bool> {
    let Some(row) = sqlx::query(
        "SELECT tenant_id FROM schedules WHERE meeting_id = $1 AND recurrence IS NOT NULL",
    )
    .bind(meeting_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(false);
    };
    let tenant: String = row.try_get("tenant_id")?;
    let Some(stored) = load(conn, &tenant, meeting_id).await? else {
        return Ok(false);
    };
    Ok(stored
        .timing
        .slots(&stored.exceptions)?
        .iter()
        .any(|s| s.start.timestamp() > at))
}

/// Whether an account (`None`: a guest who is not signed in) may join
/// `meeting` under its join mode (F-JOIN-4, the manual's 会议模式): with
/// `anyone` everybody may; with `invitees_only` or `invitees_may_invite` only
/// the host, the invitees of a scheduled meeting and the members of a cloud
/// room, all signed in. Meant for the join path to call before admitting.
pub async fn admits(
    store: &Store,
    meeting: &MeetingRecord,
    account_id: Option<&str>,
) -> Result<bool> {
    if meeting.options.join_mode == JoinMode::Anyone {
        return Ok(true);
    }
    let Some(account_id) = account_id else {
        return Ok(false);
    };
    if account_id == meeting.host_account_id {
        return Ok(true);
    }
    let row = sqlx::query(
        "SELECT account_id FROM schedule_invitees WHERE meeting_id = $1 AND tenant_id = $2 AND account_id = $3 \
         UNION SELECT account_id FROM cloud_room_members WHERE meeting_id = $1 AND tenant_id = $2 AND account_id = $3",
    )
    .bind(&meeting.id)
    .bind(&meeting.tenant_id)
    .bind(account_id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.is_some())
}

impl StoredSchedule {
    /// The API view (host and invitees see the password: the invitation
    /// carries it anyway).
    pub fn to_api(&self, base: &str) -> ScheduledMeeting {
        let first = self
            .timing
            .series_starts()
            .ok()
            .and_then(|s| s.first().map(|d| d.timestamp()))
            .unwrap_or_default();
        ScheduledMeeting {
            meeting: self.meeting.to_api(base),
            host_display_name: self.host_display_name.clone(),
            start: self.timing.start.format(LOCAL_FORMAT).to_string(),
            starts_at: first,
            duration_minutes: self.timing.duration_minutes,
            time_zone: self.timing.zone.name().to_string(),
            invitees: self.invitees.clone(),
            devices: self.devices.clone(),
            location: self.location.clone(),
            recurrence: self.timing.recurrence.clone(),
            exceptions: self.exceptions.clone(),
        }
    }

    /// The invitation text in `lang`; `sip` when the site runs the SIP
    /// gateway, `phone_numbers` its dial-in numbers.
    pub fn invitation(
        &self,
        base: &str,
        lang: Language,
        sip: bool,
        phone_numbers: &[String],
    ) -> Result<String> {
        let api = self.meeting.to_api(base);
        let slots = self.timing.slots(&self.exceptions)?;
        let start = match slots.first() {
            Some(slot) => slot.start,
            None => recurrence::localize("start", self.timing.zone, self.timing.start)?,
        };
        let sip_host = host_of(base);
        Ok(Invitation {
            inviter: &self.host_display_name,
            topic: &self.meeting.topic,
            number: &self.meeting.number,
            password: self.meeting.password.as_deref(),
            start,
            duration_minutes: slots
                .first()
                .map(|s| s.duration_minutes)
                .unwrap_or(self.timing.duration_minutes),
            recurrence: self.timing.recurrence.as_ref(),
            join_url: &api.join_url,
            sip_host: sip.then_some(sip_host.as_str()),
            phone_numbers,
        }
        .render(lang))
    }
}

/// Host name of a URL such as `https://meet.example.com:8443/x`.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.to_string(),
        _ => authority.to_string(),
    }
}

fn recurrence_json(recurrence: Option<&Recurrence>) -> Option<String> {
    recurrence.and_then(|r| serde_json::to_string(r).ok())
}

fn devices_json(devices: &[MeetingDevice]) -> String {
    serde_json::to_string(devices).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        assert_eq!(
            host_of("https://meet.example.com:8443/x"),
            "meet.example.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of("https://meet.example.com"), "meet.example.com");
    }
}
