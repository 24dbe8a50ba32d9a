//! Bodies of the scheduling part of the Open API (F-MTG-2…5): scheduled and
//! recurring meetings, their occurrences, the upcoming and history lists and
//! the invitation text.
//!
//! Times a person picks are local wall-clock times in the meeting's IANA time
//! zone (`"2026-12-01T09:00"` in `"Europe/Berlin"`), so a weekly 09:00 meeting
//! stays at 09:00 local across daylight-saving changes. Instants computed by
//! the server are seconds since the Unix epoch.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::api::{Meeting, MeetingOptions};

/// `POST /api/v1/schedules` (and `PUT /api/v1/schedules/{id}` to edit the
/// whole meeting or series): schedule a meeting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[schema(example = json!({"topic": "Weekly sync", "start": "2026-12-01T09:30", "duration_minutes": 60, "time_zone": "Asia/Shanghai", "recurrence": {"frequency": "weekly", "weekdays": ["tue", "thu"], "until": "2027-02-28"}}))]
pub struct ScheduleRequest {
    /// Topic, at most 128 characters; defaults to "<display name>'s meeting".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(max_length = 128)]
    pub topic: Option<String>,
    /// Local start, `YYYY-MM-DDTHH:MM` in `time_zone`, on a full or half hour.
    #[schema(
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[03]0$",
        example = "2026-12-01T09:30"
    )]
    pub start: String,
    /// Length in minutes, 15 to 1440.
    #[schema(minimum = 15, maximum = 1440)]
    pub duration_minutes: u32,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    /// Optional password (4–16 characters) joiners must give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(pattern = "^([!-~]{4,16})?$", max_length = 16)]
    pub password: Option<String>,
    /// Account ids of invitees, all in the caller's tenant (at most 500).
    #[serde(default)]
    #[schema(max_items = 500)]
    pub invitees: Vec<String>,
    /// Meeting devices (room systems) invited by address (at most 50).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub devices: Vec<MeetingDevice>,
    /// Physical meeting room, at most 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(max_length = 128)]
    pub location: Option<String>,
    /// Makes the meeting a series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub recurrence: Option<Recurrence>,
    /// Meeting settings; omitted fields take their defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub options: Option<MeetingOptions>,
}

/// A meeting device (room system) invited to a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct MeetingDevice {
    /// Name shown for it, 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Its SIP or H.323 address, e.g. `sip:room-3@example.com`, at most 256 characters.
    #[schema(min_length = 1, max_length = 256, example = "sip:room-3@example.com")]
    pub address: String,
}

/// How often a series repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Every `interval` days.
    Daily,
    /// Every `interval` weeks on `weekdays`.
    Weekly,
    /// Every `interval` months on `day_of_month` (months without that day are skipped).
    Monthly,
}

/// A day of the week.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

/// The repetition of a series, with RFC 5545 (`RRULE`) semantics, expanded in
/// the meeting's time zone. The first occurrence is the meeting's `start`
/// when it matches the rule, else the first matching day after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Recurrence {
    /// Daily, weekly or monthly.
    pub frequency: Frequency,
    /// Every how many days, weeks or months (1 to 99). Default 1.
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 99, default = 1)]
    pub interval: u32,
    /// Weekly only: the days it happens on; default the start's weekday.
    #[serde(default)]
    pub weekdays: Vec<Weekday>,
    /// Monthly only: the day of the month (1–31); default the start's day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(minimum = 1, maximum = 31)]
    pub day_of_month: Option<u8>,
    /// Last day (local date `YYYY-MM-DD`, inclusive) an occurrence may start
    /// on; at most two years after the start.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2026-12-31")]
    pub until: String,
}

fn one() -> u32 {
    1
}

/// One occurrence changed or cancelled in a series, keyed by the local date
/// its original start falls on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct OccurrenceException {
    /// Local date (`YYYY-MM-DD`) of the occurrence as the series places it.
    pub date: String,
    /// The occurrence is cancelled.
    pub cancelled: bool,
    /// Moved start (local `YYYY-MM-DDTHH:MM`), if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub start: Option<String>,
    /// Changed length in minutes, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub duration_minutes: Option<u32>,
    /// Changed topic, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub topic: Option<String>,
}

/// `PUT /api/v1/schedules/{id}/occurrences/{date}`: change one occurrence of
/// a series. Omitted fields keep the series' values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[schema(example = json!({"start": "2026-12-03T10:00", "duration_minutes": 30}))]
pub struct OccurrenceUpdate {
    /// New local start `YYYY-MM-DDTHH:MM`, on a full or half hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[03]0$",
        example = "2026-12-01T09:30"
    )]
    pub start: Option<String>,
    /// New length in minutes, 15 to 1440.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(minimum = 15, maximum = 1440)]
    pub duration_minutes: Option<u32>,
    /// New topic for this occurrence only, at most 128 characters (empty:
    /// the series' topic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(max_length = 128)]
    pub topic: Option<String>,
}

pub use crate::api::Invitee;

/// A scheduled meeting or series: `GET /api/v1/schedules/{id}` (host and
/// invitees).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ScheduledMeeting {
    /// The meeting row: id, number, topic, password, join link, settings.
    pub meeting: Meeting,
    /// Display name of the host.
    pub host_display_name: String,
    /// Local start of the meeting (the first of a series).
    pub start: String,
    /// The same start as an instant.
    #[ts(type = "number")]
    pub starts_at: i64,
    /// Length in minutes.
    pub duration_minutes: u32,
    /// IANA time zone.
    pub time_zone: String,
    /// Invited accounts.
    pub invitees: Vec<Invitee>,
    /// Invited meeting devices.
    pub devices: Vec<MeetingDevice>,
    /// Physical meeting room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub location: Option<String>,
    /// The repetition, for a series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub recurrence: Option<Recurrence>,
    /// Changed or cancelled occurrences of a series.
    pub exceptions: Vec<OccurrenceException>,
}

/// One occurrence in `GET /api/v1/upcoming`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Occurrence {
    /// Meeting id (the series' id for a series).
    pub meeting_id: String,
    /// Meeting number, shared by every occurrence of a series.
    pub number: String,
    /// Topic of this occurrence.
    pub topic: String,
    /// Local date the series places this occurrence on: the key for editing
    /// or cancelling it.
    pub date: String,
    /// Local start of this occurrence.
    pub start: String,
    /// Start as an instant.
    #[ts(type = "number")]
    pub starts_at: i64,
    /// End as an instant.
    #[ts(type = "number")]
    pub ends_at: i64,
    /// Length in minutes.
    pub duration_minutes: u32,
    /// IANA time zone.
    pub time_zone: String,
    /// Whether the meeting is a series.
    pub recurring: bool,
    /// Whether this occurrence differs from the series.
    pub modified: bool,
    /// Host account id.
    pub host_account_id: String,
    /// Whether the caller hosts it (else the caller is invited).
    pub is_host: bool,
}

/// One held meeting in `GET /api/v1/history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct HistoryEntry {
    /// Meeting id.
    pub meeting_id: String,
    /// Meeting number.
    pub number: String,
    /// Topic when it was held.
    pub topic: String,
    /// Host account id.
    pub host_account_id: String,
    /// When the first participant joined, if anyone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub started_at: Option<i64>,
    /// When it ended.
    #[ts(type = "number")]
    pub ended_at: i64,
}

/// `POST /api/v1/locations`: a physical meeting room of the tenant (the
/// manual's 会议地点, section 3.8.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[schema(example = json!({"name": "Room 3.14", "address": "Building A, 3rd floor", "capacity": 12}))]
pub struct LocationRequest {
    /// Name, 1 to 128 characters, unique in the tenant.
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// Where it is (building, floor), at most 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(max_length = 256)]
    pub address: Option<String>,
    /// Seats, 1 to 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: Option<u32>,
}

/// A physical meeting room, listed for everyone in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Location {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub address: Option<String>,
    /// Seats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub capacity: Option<u32>,
    /// Account that added it (only it may remove it).
    pub created_by: String,
}

/// `POST|PUT /api/v1/templates[/{id}]`: a personal meeting template (the
/// manual's 模板管理, section 3.8.2) to start meetings quickly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[schema(example = json!({"name": "Stand-up", "topic": "Daily stand-up", "duration_minutes": 15}))]
pub struct TemplateRequest {
    /// Template name, 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Topic of meetings started from it (default "<name>'s meeting").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(max_length = 128)]
    pub topic: Option<String>,
    /// Usual length in minutes, 15 to 1440.
    #[schema(minimum = 15, maximum = 1440)]
    pub duration_minutes: u32,
    /// Password of meetings started from it (4–16 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(pattern = "^([!-~]{4,16})?$", max_length = 16)]
    pub password: Option<String>,
    /// Physical meeting room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(max_length = 128)]
    pub location: Option<String>,
    /// Meeting settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub options: Option<MeetingOptions>,
}

/// A personal meeting template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct MeetingTemplate {
    /// Stable id.
    pub id: String,
    /// Template name.
    pub name: String,
    /// Topic of meetings started from it, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub topic: Option<String>,
    /// Usual length in minutes.
    pub duration_minutes: u32,
    /// Password of meetings started from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub password: Option<String>,
    /// Physical meeting room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub location: Option<String>,
    /// Meeting settings.
    pub options: MeetingOptions,
}

/// `POST|PUT /api/v1/cloud-rooms[/{id}]`: a personal cloud meeting room (the
/// manual's 云会议室管理, section 3.8.1): a meeting with a fixed number that
/// never ends, its members and password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[schema(example = json!({"name": "Team room", "password": "2468"}))]
pub struct CloudRoomRequest {
    /// Room name (its meetings' topic), at most 128 characters; default
    /// "<name>'s meeting".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(max_length = 128)]
    pub name: Option<String>,
    /// Password (4–16 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(pattern = "^([!-~]{4,16})?$", max_length = 16)]
    pub password: Option<String>,
    /// Member account ids, all in the owner's tenant (at most 500).
    #[serde(default)]
    #[schema(max_items = 500)]
    pub members: Vec<String>,
    /// Room settings, the join mode (会议室模式) among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub options: Option<MeetingOptions>,
}

/// A personal cloud meeting room, seen by its owner and members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CloudRoom {
    /// The room's meeting: id, fixed number, password, join link, settings.
    pub meeting: Meeting,
    /// Members.
    pub members: Vec<Invitee>,
}
