//! The manual's 管理助手 (section 3.8, F-MTG-6): what each user keeps at hand
//! to start meetings quickly.
//!
//! - Personal cloud meeting rooms: a meeting with a fixed number that never
//!   ends (ending a meeting in it frees the room for the next one), with
//!   members and a password. Owner and members see it; the owner changes it.
//! - Meeting templates: personal presets (topic, length, password, location,
//!   settings); `POST /templates/{id}/start` opens an instant meeting from one.
//! - Locations: the tenant's physical meeting rooms, listed for everyone in
//!   the tenant; whoever added one may remove it.
//!
//! Everything is scoped to the caller's tenant; what the caller may not see
//! is "not found".

use sqlx::{AnyConnection, Row};
use yunhui_proto::api::{CreateMeetingRequest, Meeting};
use yunhui_proto::schedule::{
    CloudRoom, CloudRoomRequest, Invitee, Location, LocationRequest, MeetingTemplate,
    TemplateRequest,
};

use yunhui_proto::limits;

use crate::App;
use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::meetings::{self, MeetingRecord};
use crate::recurrence;
use crate::schedule::{check_id, check_invitees, check_text};
use crate::store::now;

/// Most templates or cloud rooms of one account, and locations of a tenant.
const MAX_PER_OWNER: i64 = 100;
const MAX_LOCATIONS: i64 = 1000;

// ---- cloud rooms -------------------------------------------------------

/// Whether meeting `meeting_id` is a personal cloud room (it never ends).
pub async fn is_cloud_room(conn: &mut AnyConnection, meeting_id: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT meeting_id FROM cloud_rooms WHERE meeting_id = $1")
            .bind(meeting_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

pub(crate) async fn room_members(conn: &mut AnyConnection, id: &str) -> Result<Vec<Invitee>> {
    let rows = sqlx::query(
        "SELECT a.id, a.display_name FROM cloud_room_members r \
         JOIN accounts a ON a.id = r.account_id AND a.tenant_id = r.tenant_id \
         WHERE r.meeting_id = $1 ORDER BY a.display_name, a.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(crate::accounts::invitee_from_row).collect()
}

/// The room `id` with its members, if the caller owns it or is a member.
async fn load_room(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> Result<(MeetingRecord, Vec<Invitee>)> {
    check_id("cloud room", id)?;
    let not_found = || Error::NotVisible {
        what: "cloud room",
        id: id.to_string(),
    };
    let row = sqlx::query(&format!(
        "{} WHERE id = $1 AND tenant_id = $2 AND id IN (SELECT meeting_id FROM cloud_rooms WHERE tenant_id = $2)",
        meetings::SELECT
    ))
    .bind(id)
    .bind(&caller.tenant_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(not_found)?;
    let meeting = meetings::record_from_row(&row)?;
    let members = room_members(conn, id).await?;
    let visible = meeting.host_account_id == caller.account_id
        || members.iter().any(|m| m.account_id == caller.account_id);
    if !visible {
        return Err(not_found());
    }
    Ok((meeting, members))
}

async fn owned_room(conn: &mut AnyConnection, caller: &Caller, id: &str) -> Result<MeetingRecord> {
    let (meeting, members) = load_room(conn, caller, id).await?;
    if meeting.host_account_id != caller.account_id {
        debug_assert!(members.iter().any(|m| m.account_id == caller.account_id));
        return Err(Error::NotHost("change this cloud room"));
    }
    Ok(meeting)
}

pub(crate) async fn insert_members(
    conn: &mut AnyConnection,
    id: &str,
    tenant_id: &str,
    members: &[String],
) -> Result<()> {
    for account in members {
        sqlx::query(
            "INSERT INTO cloud_room_members (meeting_id, tenant_id, account_id) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(account)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn count(conn: &mut AnyConnection, sql: &str, a: &str, b: &str) -> Result<i64> {
    let row = sqlx::query(sql)
        .bind(a)
        .bind(b)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// The new cloud room with its fixed number.
pub async fn create_room(app: &App, caller: &Caller, req: CloudRoomRequest) -> Result<CloudRoom> {
    check_text("name", req.name.as_deref().unwrap_or_default())?;
    let mut tx = app.store.pool().begin().await?;
    let topic = meetings::clean_topic(req.name, caller)?;
    let password = meetings::clean_password(req.password)?;
    let members = check_invitees(&mut tx, caller, req.members, "members").await?;
    let owned = count(
        &mut tx,
        "SELECT COUNT(*) FROM cloud_rooms WHERE tenant_id = $1 AND owner_account_id = $2",
        &caller.tenant_id,
        &caller.account_id,
    )
    .await?;
    if owned >= MAX_PER_OWNER {
        return Err(Error::InvalidInput(format!(
            "you already have {MAX_PER_OWNER} cloud rooms; delete one first"
        )));
    }
    let meeting = meetings::insert_with_fresh_number(
        &mut tx,
        caller,
        topic,
        password,
        req.options.unwrap_or_default(),
    )
    .await?;
    sqlx::query(
        "INSERT INTO cloud_rooms (meeting_id, tenant_id, owner_account_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&meeting.id)
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    insert_members(&mut tx, &meeting.id, &caller.tenant_id, &members).await?;
    let members = room_members(&mut tx, &meeting.id).await?;
    tx.commit().await?;
    Ok(CloudRoom {
        meeting: meeting.to_api(&app.public_base().await),
        members,
    })
}

/// Cloud rooms the caller owns or is a member of.
pub async fn list_rooms(app: &App, caller: &Caller) -> Result<Vec<CloudRoom>> {
    let mut conn = app.store.pool().acquire().await?;
    let ids: Vec<String> = sqlx::query(
        "SELECT c.meeting_id FROM cloud_rooms c JOIN meetings m ON m.id = c.meeting_id \
         WHERE c.tenant_id = $1 AND (c.owner_account_id = $2 OR EXISTS (SELECT 1 FROM cloud_room_members r \
              WHERE r.meeting_id = c.meeting_id AND r.tenant_id = c.tenant_id AND r.account_id = $2)) \
         ORDER BY m.topic, m.number",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("meeting_id"))
    .collect::<Result<_, _>>()?;
    let mut rooms = Vec::with_capacity(ids.len());
    let base = app.public_base().await;
    for id in ids {
        let (meeting, members) = load_room(&mut conn, caller, &id).await?;
        rooms.push(CloudRoom {
            meeting: meeting.to_api(&base),
            members,
        });
    }
    Ok(rooms)
}

/// The cloud room.
pub async fn get_room(app: &App, caller: &Caller, id: String) -> Result<CloudRoom> {
    let mut conn = app.store.pool().acquire().await?;
    let (meeting, members) = load_room(&mut conn, caller, &id).await?;
    Ok(CloudRoom {
        meeting: meeting.to_api(&app.public_base().await),
        members,
    })
}

/// The cloud room as changed; its number stays.
pub async fn edit_room(
    app: &App,
    caller: &Caller,
    id: String,
    req: CloudRoomRequest,
) -> Result<CloudRoom> {
    let mut tx = app.store.pool().begin().await?;
    owned_room(&mut tx, caller, &id).await?;
    check_text("name", req.name.as_deref().unwrap_or_default())?;
    let topic = meetings::clean_topic(req.name, caller)?;
    let password = meetings::clean_password(req.password)?;
    let members = check_invitees(&mut tx, caller, req.members, "members").await?;
    let options = req.options.unwrap_or_default();
    meetings::update_settings(&mut tx, &id, &topic, password.as_deref(), &options).await?;
    sqlx::query("DELETE FROM cloud_room_members WHERE meeting_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    insert_members(&mut tx, &id, &caller.tenant_id, &members).await?;
    let (meeting, members) = load_room(&mut tx, caller, &id).await?;
    tx.commit().await?;
    Ok(CloudRoom {
        meeting: meeting.to_api(&app.public_base().await),
        members,
    })
}

/// Deleted; its number is free.
pub async fn delete_room(app: &App, caller: &Caller, id: String) -> Result<()> {
    let mut tx = app.store.pool().begin().await?;
    owned_room(&mut tx, caller, &id).await?;
    for sql in [
        "DELETE FROM cloud_room_members WHERE meeting_id = $1",
        "DELETE FROM cloud_rooms WHERE meeting_id = $1",
    ] {
        sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE meetings SET status = 'ended', ended_at = $1 WHERE id = $2")
        .bind(now())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---- templates ---------------------------------------------------------

fn clean_template(req: TemplateRequest, caller: &Caller) -> Result<TemplateRequest> {
    check_text("name", &req.name)?;
    check_text("topic", req.topic.as_deref().unwrap_or_default())?;
    check_text("location", req.location.as_deref().unwrap_or_default())?;
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > limits::TEMPLATE_NAME_CHARS {
        return Err(Error::InvalidInput(format!(
            "name: a template name has 1 to {} characters",
            limits::TEMPLATE_NAME_CHARS
        )));
    }
    let topic = match req.topic {
        Some(t) if !t.trim().is_empty() => Some(meetings::clean_topic(Some(t), caller)?),
        _ => None,
    };
    recurrence::check_duration("duration_minutes", req.duration_minutes)?;
    let location = req
        .location
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    if location
        .as_ref()
        .is_some_and(|l| l.chars().count() > limits::LOCATION_CHARS)
    {
        return Err(Error::InvalidInput(format!(
            "location: at most {} characters",
            limits::LOCATION_CHARS
        )));
    }
    Ok(TemplateRequest {
        name,
        topic,
        duration_minutes: req.duration_minutes,
        password: meetings::clean_password(req.password)?,
        location,
        options: Some(req.options.unwrap_or_default()),
    })
}

fn template_from_row(row: &sqlx::any::AnyRow) -> Result<MeetingTemplate> {
    let settings: TemplateRequest = serde_json::from_str(&row.try_get::<String, _>("settings")?)
        .map_err(|e| Error::Internal(format!("stored template is unreadable: {e}")))?;
    Ok(MeetingTemplate {
        id: row.try_get("id")?,
        name: settings.name,
        topic: settings.topic,
        duration_minutes: settings.duration_minutes,
        password: settings.password,
        location: settings.location,
        options: settings.options.unwrap_or_default(),
    })
}

async fn own_template(app: &App, caller: &Caller, id: &str) -> Result<MeetingTemplate> {
    check_id("template", id)?;
    let row = sqlx::query(
        "SELECT id, settings FROM meeting_templates WHERE id = $1 AND tenant_id = $2 AND owner_account_id = $3",
    )
    .bind(id)
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_optional(app.store.pool())
    .await?
    .ok_or_else(|| Error::NotVisible {
        what: "template",
        id: id.to_string(),
    })?;
    template_from_row(&row)
}

/// The new template.
pub async fn create_template(
    app: &App,
    caller: &Caller,
    req: TemplateRequest,
) -> Result<MeetingTemplate> {
    let settings = clean_template(req, caller)?;
    let mut conn = app.store.pool().acquire().await?;
    let owned = count(
        &mut conn,
        "SELECT COUNT(*) FROM meeting_templates WHERE tenant_id = $1 AND owner_account_id = $2",
        &caller.tenant_id,
        &caller.account_id,
    )
    .await?;
    if owned >= MAX_PER_OWNER {
        return Err(Error::InvalidInput(format!(
            "you already have {MAX_PER_OWNER} templates; delete one first"
        )));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let ts = now();
    sqlx::query(
        "INSERT INTO meeting_templates (id, tenant_id, owner_account_id, settings, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&id)
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .bind(serde_json::to_string(&settings).map_err(|e| Error::Internal(e.to_string()))?)
    .bind(ts)
    .execute(&mut *conn)
    .await?;
    drop(conn);
    own_template(app, caller, &id).await
}

/// The caller's templates, by name.
pub async fn list_templates(app: &App, caller: &Caller) -> Result<Vec<MeetingTemplate>> {
    let rows = sqlx::query(
        "SELECT id, settings FROM meeting_templates WHERE tenant_id = $1 AND owner_account_id = $2 ORDER BY created_at, id",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_all(app.store.pool())
    .await?;
    let mut list = rows
        .iter()
        .map(template_from_row)
        .collect::<Result<Vec<_>>>()?;
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

/// The template.
pub async fn get_template(app: &App, caller: &Caller, id: String) -> Result<MeetingTemplate> {
    own_template(app, caller, &id).await
}

/// The template as changed.
pub async fn edit_template(
    app: &App,
    caller: &Caller,
    id: String,
    req: TemplateRequest,
) -> Result<MeetingTemplate> {
    own_template(app, caller, &id).await?;
    let settings = clean_template(req, caller)?;
    sqlx::query(
        "UPDATE meeting_templates SET settings = $1, updated_at = $2 WHERE id = $3 AND tenant_id = $4 AND owner_account_id = $5",
    )
    .bind(serde_json::to_string(&settings).map_err(|e| Error::Internal(e.to_string()))?)
    .bind(now())
    .bind(&id)
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .execute(app.store.pool())
    .await?;
    own_template(app, caller, &id).await
}

/// Deleted.
pub async fn delete_template(app: &App, caller: &Caller, id: String) -> Result<()> {
    own_template(app, caller, &id).await?;
    sqlx::query(
        "DELETE FROM meeting_templates WHERE id = $1 AND tenant_id = $2 AND owner_account_id = $3",
    )
    .bind(&id)
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .execute(app.store.pool())
    .await?;
    Ok(())
}

/// An instant meeting with the template's settings.
pub async fn start_from_template(app: &App, caller: &Caller, id: String) -> Result<Meeting> {
    let template = own_template(app, caller, &id).await?;
    let meeting = meetings::create_instant(
        &app.store,
        caller,
        CreateMeetingRequest {
            topic: template.topic,
            password: template.password,
            options: Some(template.options),
        },
    )
    .await?;
    Ok(meeting.to_api(&app.public_base().await))
}

// ---- locations ---------------------------------------------------------

fn location_from_row(row: &sqlx::any::AnyRow) -> Result<Location> {
    let capacity: Option<i64> = row.try_get("capacity")?;
    Ok(Location {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        capacity: capacity.and_then(|c| u32::try_from(c).ok()),
        created_by: row.try_get("created_by")?,
    })
}

/// The new location.
pub async fn create_location(app: &App, caller: &Caller, req: LocationRequest) -> Result<Location> {
    check_text("name", &req.name)?;
    check_text("address", req.address.as_deref().unwrap_or_default())?;
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > limits::LOCATION_NAME_CHARS {
        return Err(Error::InvalidInput(format!(
            "name: a location name has 1 to {} characters",
            limits::LOCATION_NAME_CHARS
        )));
    }
    let address = req
        .address
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty());
    if address
        .as_ref()
        .is_some_and(|a| a.chars().count() > limits::LOCATION_ADDRESS_CHARS)
    {
        return Err(Error::InvalidInput(format!(
            "address: at most {} characters",
            limits::LOCATION_ADDRESS_CHARS
        )));
    }
    if let Some(c) = req.capacity
        && !(1..=limits::LOCATION_MAX_CAPACITY as u32).contains(&c)
    {
        return Err(Error::InvalidInput(format!(
            "capacity: 1 to {} seats, not {c}",
            limits::LOCATION_MAX_CAPACITY
        )));
    }
    let mut conn = app.store.pool().acquire().await?;
    let existing: i64 = sqlx::query("SELECT COUNT(*) FROM locations WHERE tenant_id = $1")
        .bind(&caller.tenant_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if existing >= MAX_LOCATIONS {
        return Err(Error::InvalidInput(format!(
            "your organisation already has {MAX_LOCATIONS} locations"
        )));
    }
    let location = Location {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        address,
        capacity: req.capacity,
        created_by: caller.account_id.clone(),
    };
    sqlx::query(
        "INSERT INTO locations (id, tenant_id, name, address, capacity, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&location.id)
    .bind(&caller.tenant_id)
    .bind(&location.name)
    .bind(location.address.clone())
    .bind(location.capacity.map(i64::from))
    .bind(&location.created_by)
    .bind(now())
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::InvalidInput(format!(
            "name: your organisation already has a location named {:?}",
            location.name
        )),
        _ => Error::Database(e),
    })?;
    Ok(location)
}

/// The tenant's locations, by name.
pub async fn list_locations(app: &App, caller: &Caller) -> Result<Vec<Location>> {
    let rows = sqlx::query(
        "SELECT id, name, address, capacity, created_by FROM locations WHERE tenant_id = $1 ORDER BY name, id",
    )
    .bind(&caller.tenant_id)
    .fetch_all(app.store.pool())
    .await?;
    rows.iter().map(location_from_row).collect::<Result<_>>()
}

/// Removed.
pub async fn delete_location(app: &App, caller: &Caller, id: String) -> Result<()> {
    check_id("location", &id)?;
    let row = sqlx::query(
        "SELECT id, name, address, capacity, created_by FROM locations WHERE id = $1 AND tenant_id = $2",
    )
    .bind(&id)
    .bind(&caller.tenant_id)
    .fetch_optional(app.store.pool())
    .await?
    .ok_or_else(|| Error::NotVisible {
        what: "location",
        id: id.clone(),
    })?;
    if location_from_row(&row)?.created_by != caller.account_id {
        return Err(Error::InvalidInput(
            "only the account that added this location can remove it".into(),
        ));
    }
    sqlx::query("DELETE FROM locations WHERE id = $1 AND tenant_id = $2")
        .bind(&id)
        .bind(&caller.tenant_id)
        .execute(app.store.pool())
        .await?;
    Ok(())
}
