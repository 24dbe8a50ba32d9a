//! Scheduled and recurring meetings through the Rust SDK (F-MTG-2 scheduling,
//! F-MTG-3 recurrence, F-MTG-4 lists and details, F-MTG-5 invitation text,
//! F-MTG-6 cloud rooms, templates and locations, F-ACC-4 tenant isolation, F-JOIN-1 joining a scheduled meeting by number),
//! on SQLite and on PostgreSQL.

use crate::support;

use chrono::{TimeZone, Utc};
use support::Db;
use yunhui_client::api::ApiClient;
use yunhui_proto::api::{JoinMode, MeetingOptions};
use yunhui_proto::schedule::{
    CloudRoomRequest, Frequency, LocationRequest, MeetingDevice, Occurrence, OccurrenceUpdate,
    Recurrence, ScheduleRequest, TemplateRequest, Weekday,
};
use yunhui_signal::SignalConfig;

/// Unix seconds of a UTC wall time (expected instants are written in UTC,
/// with the zone's offset worked out by hand in the test).
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .timestamp()
}

fn weekly(days: Vec<Weekday>, until: &str) -> Recurrence {
    Recurrence {
        frequency: Frequency::Weekly,
        interval: 1,
        weekdays: days,
        day_of_month: None,
        until: until.into(),
    }
}

/// Weekly on Tuesday and Thursday at 10:00 Shanghai time, 2 to 18 March 2027.
fn tue_thu_series() -> ScheduleRequest {
    ScheduleRequest {
        topic: Some("Stand-up".into()),
        start: "2027-03-02T10:00".into(),
        duration_minutes: 60,
        time_zone: "Asia/Shanghai".into(),
        recurrence: Some(weekly(vec![Weekday::Tue, Weekday::Thu], "2027-03-18")),
        ..Default::default()
    }
}

/// Upcoming occurrences in March 2027 (and a margin).
async fn march(api: &ApiClient) -> Vec<Occurrence> {
    api.upcoming(Some(utc(2027, 2, 25, 0, 0)), Some(utc(2027, 4, 5, 0, 0)))
        .await
        .unwrap()
}

fn starts(list: &[Occurrence]) -> Vec<(String, i64)> {
    list.iter()
        .map(|o| (o.start.clone(), o.starts_at))
        .collect()
}

/// F-MTG-3: weekly on Tue/Thu until a date, in a zone without DST.
async fn weekly_tue_thu_until_a_date(db: Db) {
    let server = support::start(db).await;
    let host = server.signed_in("wang.fang@example.com").await;
    let series = host.schedule_meeting(&tue_thu_series()).await.unwrap();
    assert_eq!(series.meeting.topic, "Stand-up");
    assert_eq!(series.starts_at, utc(2027, 3, 2, 2, 0));
    let list = march(&host).await;
    // Shanghai is UTC+8 all year: 10:00 local is 02:00 UTC.
    let expected: Vec<(String, i64)> = [2, 4, 9, 11, 16, 18]
        .iter()
        .map(|day| (format!("2027-03-{day:02}T10:00"), utc(2027, 3, *day, 2, 0)))
        .collect();
    assert_eq!(starts(&list), expected);
    for o in &list {
        assert_eq!(
            o.number, series.meeting.number,
            "a series shares one number"
        );
        assert_eq!(o.ends_at - o.starts_at, 3600);
        assert!(o.recurring && o.is_host && !o.modified);
        assert_eq!(o.time_zone, "Asia/Shanghai");
    }
    // The window is honoured: only the second week.
    let week = host
        .upcoming(Some(utc(2027, 3, 8, 0, 0)), Some(utc(2027, 3, 12, 0, 0)))
        .await
        .unwrap();
    assert_eq!(
        week.iter().map(|o| o.date.as_str()).collect::<Vec<_>>(),
        ["2027-03-09", "2027-03-11"]
    );
    // Joining by number works as for an instant meeting (F-JOIN-1).
    let preview = server.api().preview(&series.meeting.number).await.unwrap();
    assert_eq!(preview.topic, "Stand-up");
}

/// F-MTG-3: monthly on the 31st skips shorter months, and a meeting in a zone
/// with DST stays at 09:00 local (UTC+1 in winter, UTC+2 in summer).
async fn monthly_on_the_31st_in_a_dst_zone(db: Db) {
    let server = support::start(db).await;
    let host = server.signed_in("anna@example.com").await;
    let series = host
        .schedule_meeting(&ScheduleRequest {
            start: "2027-01-31T09:00".into(),
            duration_minutes: 30,
            time_zone: "Europe/Berlin".into(),
            recurrence: Some(Recurrence {
                frequency: Frequency::Monthly,
                interval: 1,
                weekdays: vec![],
                day_of_month: Some(31),
                until: "2027-12-31".into(),
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(series.meeting.topic, "anna's meeting");
    let list = host
        .upcoming(Some(utc(2027, 1, 1, 0, 0)), Some(utc(2028, 1, 31, 0, 0)))
        .await
        .unwrap();
    // Berlin: summer time from 28 March to 31 October 2027 (03:00 local).
    let expected = vec![
        ("2027-01-31T09:00".to_string(), utc(2027, 1, 31, 8, 0)),
        ("2027-03-31T09:00".to_string(), utc(2027, 3, 31, 7, 0)),
        ("2027-05-31T09:00".to_string(), utc(2027, 5, 31, 7, 0)),
        ("2027-07-31T09:00".to_string(), utc(2027, 7, 31, 7, 0)),
        ("2027-08-31T09:00".to_string(), utc(2027, 8, 31, 7, 0)),
        ("2027-10-31T09:00".to_string(), utc(2027, 10, 31, 8, 0)),
        ("2027-12-31T09:00".to_string(), utc(2027, 12, 31, 8, 0)),
    ];
    assert_eq!(starts(&list), expected);

    // A weekly meeting across the spring change keeps 09:00 local too.
    host.schedule_meeting(&ScheduleRequest {
        topic: Some("Weekly".into()),
        start: "2027-03-17T09:00".into(),
        duration_minutes: 60,
        time_zone: "Europe/Berlin".into(),
        recurrence: Some(weekly(vec![], "2027-04-01")),
        ..Default::default()
    })
    .await
    .unwrap();
    let weekly: Vec<_> = host
        .upcoming(Some(utc(2027, 3, 10, 0, 0)), Some(utc(2027, 4, 10, 0, 0)))
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.topic == "Weekly")
        .map(|o| o.starts_at)
        .collect();
    assert_eq!(
        weekly,
        [
            utc(2027, 3, 17, 8, 0),
            utc(2027, 3, 24, 8, 0),
            utc(2027, 3, 31, 7, 0)
        ]
    );
}

/// F-MTG-3: one occurrence deleted or edited changes only it; editing the
/// series keeps those exceptions.
async fn occurrence_exceptions_survive_series_edits(db: Db) {
    let server = support::start(db).await;
    let host = server.signed_in("li.ming@example.com").await;
    let invitee = server.signed_in("guest@example.com").await;
    let invitee_id = invitee.me().await.unwrap().id;
    let mut req = tue_thu_series();
    req.invitees = vec![invitee_id.clone()];
    let series = host.schedule_meeting(&req).await.unwrap();
    let id = series.meeting.id.clone();
    let before = march(&host).await;

    let after_cancel = host.cancel_occurrence(&id, "2027-03-04").await.unwrap();
    assert_eq!(after_cancel.exceptions.len(), 1);
    assert!(after_cancel.exceptions[0].cancelled);
    let list = march(&host).await;
    let without: Vec<_> = before
        .iter()
        .filter(|o| o.date != "2027-03-04")
        .cloned()
        .collect();
    assert_eq!(list, without, "only the cancelled occurrence is gone");

    // Edited twice: the second edit replaces the first's exception.
    let draft = host
        .edit_occurrence(
            &id,
            "2027-03-09",
            &OccurrenceUpdate {
                start: Some("2027-03-09T14:00".into()),
                duration_minutes: Some(60),
                topic: Some("Stand-up (draft)".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(draft.exceptions.len(), 2);
    host.edit_occurrence(
        &id,
        "2027-03-09",
        &OccurrenceUpdate {
            start: Some("2027-03-09T15:30".into()),
            duration_minutes: Some(90),
            topic: Some("Stand-up (moved)".into()),
        },
    )
    .await
    .unwrap();
    let list = march(&host).await;
    assert_eq!(list.len(), 5);
    for (old, new) in without.iter().zip(&list) {
        if new.date == "2027-03-09" {
            assert_eq!(new.start, "2027-03-09T15:30");
            assert_eq!(new.starts_at, utc(2027, 3, 9, 7, 30));
            assert_eq!(new.ends_at - new.starts_at, 90 * 60);
            assert_eq!(new.topic, "Stand-up (moved)");
            assert!(new.modified);
        } else {
            assert_eq!(old, new, "other occurrences are unchanged");
        }
    }
    // The invitee sees the same occurrences.
    assert_eq!(
        march(&invitee)
            .await
            .iter()
            .map(|o| (o.date.clone(), o.starts_at, o.is_host))
            .collect::<Vec<_>>(),
        list.iter()
            .map(|o| (o.date.clone(), o.starts_at, false))
            .collect::<Vec<_>>()
    );

    // Editing the series (new time and topic) keeps both exceptions.
    let mut edited = req.clone();
    edited.start = "2027-03-02T11:00".into();
    edited.topic = Some("Daily sync".into());
    let after_edit = host.edit_scheduled_meeting(&id, &edited).await.unwrap();
    assert_eq!(after_edit.meeting.number, series.meeting.number);
    assert_eq!(after_edit.exceptions.len(), 2);
    let list = march(&host).await;
    assert_eq!(
        list.iter()
            .map(|o| (o.date.as_str(), o.start.as_str(), o.topic.as_str()))
            .collect::<Vec<_>>(),
        [
            ("2027-03-02", "2027-03-02T11:00", "Daily sync"),
            ("2027-03-09", "2027-03-09T15:30", "Stand-up (moved)"),
            ("2027-03-11", "2027-03-11T11:00", "Daily sync"),
            ("2027-03-16", "2027-03-16T11:00", "Daily sync"),
            ("2027-03-18", "2027-03-18T11:00", "Daily sync"),
        ]
    );

    // No occurrence on a Friday; invitees may not change the series.
    let err = host.cancel_occurrence(&id, "2027-03-05").await.unwrap_err();
    assert_eq!(err.code(), Some("occurrence_not_found"));
    let err = invitee
        .cancel_occurrence(&id, "2027-03-11")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_host"));
    let err = invitee
        .edit_scheduled_meeting(&id, &edited)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_host"));
    assert_eq!(march(&host).await.len(), 5);

    // Deleting the whole series removes every occurrence and frees the number.
    host.cancel_scheduled_meeting(&id).await.unwrap();
    assert!(march(&host).await.is_empty());
    assert!(march(&invitee).await.is_empty());
    assert_eq!(
        host.scheduled_meeting(&id).await.unwrap_err().code(),
        Some("meeting_not_found")
    );
    assert_eq!(
        server
            .api()
            .preview(&series.meeting.number)
            .await
            .unwrap_err()
            .code(),
        Some("meeting_not_found")
    );
}

async fn count(server: &support::Server, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(server.app.store.pool())
        .await
        .unwrap();
    n
}

/// F-MTG-2: bad input gets an error naming the field, and nothing is written.
async fn invalid_input_names_the_field_and_writes_nothing(db: Db) {
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some("internal-test-key".into()),
            ..Default::default()
        },
    )
    .await;
    let host = server.signed_in("zhao@example.com").await;
    let stranger = server
        .signed_in_tenant("other-corp", "stranger@other.example")
        .await;
    let stranger_id = stranger.me().await.unwrap().id;
    let unknown_id = uuid::Uuid::new_v4().to_string();
    let ok = tue_thu_series();
    let cases: Vec<(&str, ScheduleRequest)> = vec![
        (
            "time_zone",
            ScheduleRequest {
                time_zone: "Asia/Atlantis".into(),
                ..ok.clone()
            },
        ),
        (
            "start",
            ScheduleRequest {
                start: "2027-03-02T10:15".into(),
                ..ok.clone()
            },
        ),
        (
            "start",
            ScheduleRequest {
                start: "tomorrow".into(),
                ..ok.clone()
            },
        ),
        (
            "start",
            // Skipped by the clocks when Berlin enters summer time.
            ScheduleRequest {
                start: "2027-03-28T02:30".into(),
                time_zone: "Europe/Berlin".into(),
                recurrence: None,
                ..ok.clone()
            },
        ),
        (
            "recurrence.until",
            ScheduleRequest {
                recurrence: Some(weekly(vec![Weekday::Tue], "2027-03-01")),
                ..ok.clone()
            },
        ),
        (
            "duration_minutes",
            ScheduleRequest {
                duration_minutes: 0,
                ..ok.clone()
            },
        ),
        (
            "invitees",
            ScheduleRequest {
                invitees: vec![unknown_id.clone()],
                ..ok.clone()
            },
        ),
        (
            "invitees",
            ScheduleRequest {
                invitees: vec![stranger_id.clone()],
                ..ok.clone()
            },
        ),
        (
            "topic",
            ScheduleRequest {
                topic: Some("t".repeat(129)),
                ..ok.clone()
            },
        ),
        (
            "location",
            ScheduleRequest {
                location: Some("l".repeat(129)),
                ..ok.clone()
            },
        ),
        (
            "devices[0].address",
            ScheduleRequest {
                devices: vec![MeetingDevice {
                    name: "Room 3".into(),
                    address: "a".repeat(300),
                }],
                ..ok.clone()
            },
        ),
        (
            "password",
            ScheduleRequest {
                password: Some("1".into()),
                ..ok.clone()
            },
        ),
    ];
    let mut invitee_messages = Vec::new();
    for (field, req) in cases {
        let err = host.schedule_meeting(&req).await.unwrap_err();
        assert_eq!(err.code(), Some("invalid_input"), "{field}: {err}");
        let message = err.to_string();
        assert!(message.contains(field), "{field} not named in: {message}");
        if field == "invitees" {
            invitee_messages.push(message);
        }
    }
    // An account of another tenant is refused exactly like an unknown id.
    assert_eq!(
        invitee_messages[0].replace(&unknown_id, "ID"),
        invitee_messages[1].replace(&stranger_id, "ID")
    );
    // An oversized body is refused before it is read.
    let err = host
        .schedule_meeting(&ScheduleRequest {
            topic: Some("x".repeat(100 * 1024)),
            ..ok.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_input"));

    for table in [
        "meetings",
        "schedules",
        "schedule_invitees",
        "schedule_exceptions",
    ] {
        assert_eq!(count(&server, table).await, 0, "rows left in {table}");
    }

    // Bad edits of an existing series change nothing either.
    let series = host.schedule_meeting(&ok).await.unwrap();
    let before = host.scheduled_meeting(&series.meeting.id).await.unwrap();
    let err = host
        .edit_scheduled_meeting(
            &series.meeting.id,
            &ScheduleRequest {
                invitees: vec![unknown_id.clone()],
                topic: Some("renamed".into()),
                ..ok.clone()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_input"));
    let err = host
        .edit_occurrence(
            &series.meeting.id,
            "2027-03-09",
            &OccurrenceUpdate {
                start: Some("2027-03-09T15:45".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("start"), "{err}");
    let err = host
        .upcoming(Some(utc(2027, 3, 2, 0, 0)), Some(utc(2027, 3, 1, 0, 0)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_input"));
    // A window whose length overflows i64 is too long, not a server error.
    let err = host
        .upcoming(Some(i64::MIN), Some(i64::MAX))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_input"));
    assert_eq!(
        host.scheduled_meeting(&series.meeting.id).await.unwrap(),
        before
    );
    assert_eq!(count(&server, "schedule_exceptions").await, 0);
}

/// F-ACC-4: another tenant's user (and a same-tenant stranger) cannot read
/// or change a schedule, and the refusal is the one for a made-up id.
async fn cross_tenant_access_is_not_found(db: Db) {
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some("internal-test-key".into()),
            ..Default::default()
        },
    )
    .await;
    let host = server.signed_in("host@example.com").await;
    let series = host
        .schedule_meeting(&ScheduleRequest {
            password: Some("2468".into()),
            ..tue_thu_series()
        })
        .await
        .unwrap();
    let id = series.meeting.id.clone();
    let outsider = server
        .signed_in_tenant("other-corp", "outsider@other.example")
        .await;
    let colleague = server.signed_in("colleague@example.com").await;
    let made_up = uuid::Uuid::new_v4().to_string();

    for (who, api) in [("other tenant", &outsider), ("non-invitee", &colleague)] {
        let mut messages = Vec::new();
        for target in [&id, &made_up] {
            let errors = [
                api.scheduled_meeting(target).await.unwrap_err(),
                api.invitation(target, "zh").await.unwrap_err(),
                api.edit_scheduled_meeting(target, &tue_thu_series())
                    .await
                    .unwrap_err(),
                api.edit_occurrence(target, "2027-03-09", &OccurrenceUpdate::default())
                    .await
                    .unwrap_err(),
                api.cancel_occurrence(target, "2027-03-09")
                    .await
                    .unwrap_err(),
                api.cancel_scheduled_meeting(target).await.unwrap_err(),
            ];
            for e in &errors {
                assert_eq!(e.code(), Some("meeting_not_found"), "{who}: {e}");
            }
            messages.push(
                errors
                    .iter()
                    .map(|e| e.to_string().replace(target.as_str(), "ID"))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(
            messages[0], messages[1],
            "{who} learns nothing from the answers"
        );
        assert!(march(api).await.is_empty(), "{who} sees no occurrence");
    }
    // The other tenant cannot invite this tenant's accounts either.
    let host_id = host.me().await.unwrap().id;
    let err = outsider
        .schedule_meeting(&ScheduleRequest {
            invitees: vec![host_id],
            ..tue_thu_series()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_input"));
    // Nothing changed for the host.
    let after = host.scheduled_meeting(&id).await.unwrap();
    assert_eq!(after, series);
    assert_eq!(march(&host).await.len(), 6);
}

/// F-MTG-4: invitees see the meeting in their upcoming list, others do not;
/// details and history.
async fn invitees_see_upcoming_and_history(db: Db) {
    let server = support::start(db).await;
    let host = server.signed_in("chen@example.com").await;
    let invited = server.signed_in("invited@example.com").await;
    let other = server.signed_in("not-invited@example.com").await;
    let invited_id = invited.me().await.unwrap().id;
    let options = MeetingOptions {
        join_mode: JoinMode::InviteesOnly,
        waiting_room: true,
        watermark: true,
        ..Default::default()
    };
    let single = host
        .schedule_meeting(&ScheduleRequest {
            topic: Some("Budget review".into()),
            start: "2027-03-03T14:30".into(),
            duration_minutes: 45,
            time_zone: "Asia/Shanghai".into(),
            invitees: vec![invited_id.clone(), invited_id.clone()],
            devices: vec![MeetingDevice {
                name: "Room 3".into(),
                address: "sip:room-3@example.com".into(),
            }],
            location: Some("Building A, room 3".into()),
            options: Some(options.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let list = march(&invited).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].meeting_id, single.meeting.id);
    assert_eq!(list[0].starts_at, utc(2027, 3, 3, 6, 30));
    assert!(!list[0].is_host && !list[0].recurring);
    assert!(march(&other).await.is_empty());
    assert_eq!(march(&host).await, {
        let mut l = list.clone();
        l[0].is_host = true;
        l
    });

    let details = invited.scheduled_meeting(&single.meeting.id).await.unwrap();
    assert_eq!(details.invitees.len(), 1, "duplicates are merged");
    assert_eq!(details.invitees[0].account_id, invited_id);
    assert_eq!(details.invitees[0].display_name, "invited");
    assert_eq!(details.host_display_name, "chen");
    assert_eq!(details.location.as_deref(), Some("Building A, room 3"));
    assert_eq!(details.devices[0].address, "sip:room-3@example.com");
    assert_eq!(details.meeting.options, options);
    assert_eq!(details.duration_minutes, 45);
    assert_eq!(details.start, "2027-03-03T14:30");

    // F-JOIN-4: with "invitees only", the host and invitees may join; a
    // colleague who is not invited and a guest may not.
    let record =
        yunhui_signal::meetings::find_open_by_number(&server.app.store, &single.meeting.number)
            .await
            .unwrap();
    let other_id = other.me().await.unwrap().id;
    let host_id = host.me().await.unwrap().id;
    for (who, account, expected) in [
        ("host", Some(host_id.as_str()), true),
        ("invitee", Some(invited_id.as_str()), true),
        ("colleague", Some(other_id.as_str()), false),
        ("guest", None, false),
    ] {
        assert_eq!(
            yunhui_signal::schedule::admits(&server.app.store, &record, account)
                .await
                .unwrap(),
            expected,
            "{who}"
        );
    }

    // Held and ended: it moves to the history of host and invitee.
    let series = host.schedule_meeting(&tue_thu_series()).await.unwrap();
    for id in [&single.meeting.id, &series.meeting.id] {
        yunhui_signal::lifecycle::set_status(
            &server.app.store,
            id,
            yunhui_proto::api::MeetingStatus::Live,
        )
        .await
        .unwrap();
        yunhui_signal::lifecycle::set_status(
            &server.app.store,
            id,
            yunhui_proto::api::MeetingStatus::Ended,
        )
        .await
        .unwrap();
    }
    let history = host.history().await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|h| h.started_at.is_some()));
    let invited_history = invited.history().await.unwrap();
    assert_eq!(invited_history.len(), 1);
    assert_eq!(invited_history[0].topic, "Budget review");
    assert!(other.history().await.unwrap().is_empty());
    // The single meeting is over; the series keeps its number for the next
    // occurrence.
    assert!(march(&invited).await.is_empty());
    assert_eq!(
        server
            .api()
            .preview(&single.meeting.number)
            .await
            .unwrap_err()
            .code(),
        Some("meeting_not_found")
    );
    server.api().preview(&series.meeting.number).await.unwrap();
    assert_eq!(march(&host).await.len(), 6);
}

/// F-MTG-5: the invitation text in Chinese and English.
async fn invitation_text_in_both_languages(db: Db) {
    let server = support::start(db).await;
    let host = server.signed_in("li.ming@example.com").await;
    let series = host
        .schedule_meeting(&ScheduleRequest {
            topic: Some("李明的预约会议".into()),
            password: Some("2468".into()),
            ..tue_thu_series()
        })
        .await
        .unwrap();
    let number = &series.meeting.number;
    let zh = host.invitation(&series.meeting.id, "zh").await.unwrap();
    for line in [
        "您好:".to_string(),
        "li.ming邀请您参加一个云视频会议".to_string(),
        "会议主题：李明的预约会议".to_string(),
        format!("会议号:{number}"),
        "会议密码：2468".to_string(),
        "时区:(中国标准时间 Asia/Shanghai):GMT+0800".to_string(),
        "会议开始时间：2027 年 03 月 02 日 10:00".to_string(),
        "会议时长：1 小时".to_string(),
        "重复周期：每周二、周四，至 2027 年 03 月 18 日".to_string(),
        series.meeting.join_url.clone(),
    ] {
        assert!(zh.lines().any(|l| l == line), "missing {line:?} in:\n{zh}");
    }
    // This server runs no SIP gateway and has no phone numbers: no lines for them.
    assert!(!zh.contains("H.323/SIP") && !zh.contains("拨入"), "{zh}");
    let en = host.invitation(&series.meeting.id, "en").await.unwrap();
    for line in [
        format!("Meeting number: {number}"),
        "Password: 2468".to_string(),
        "Time zone: (China Standard Time, Asia/Shanghai) GMT+0800".to_string(),
        "Start: 2027-03-02 10:00".to_string(),
        "Duration: 1 hour".to_string(),
        "Repeats: weekly on Tuesday, Thursday, until 2027-03-18".to_string(),
        series.meeting.join_url.clone(),
    ] {
        assert!(en.lines().any(|l| l == line), "missing {line:?} in:\n{en}");
    }

    // A single meeting without password, in a DST zone in summer.
    let single = host
        .schedule_meeting(&ScheduleRequest {
            start: "2027-07-06T09:30".into(),
            duration_minutes: 90,
            time_zone: "Europe/Berlin".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let zh = host.invitation(&single.meeting.id, "zh").await.unwrap();
    assert!(zh.contains("会议密码：无"), "{zh}");
    assert!(
        zh.contains("时区:(中欧时间 Europe/Berlin):GMT+0200"),
        "{zh}"
    );
    assert!(zh.contains("会议时长：1 小时 30 分钟"), "{zh}");
    assert!(!zh.contains("重复周期"), "{zh}");
    let en = host.invitation(&single.meeting.id, "en").await.unwrap();
    assert!(en.contains("Password: none"), "{en}");
    assert!(en.contains(&single.meeting.join_url), "{en}");
    let err = host.invitation(&single.meeting.id, "fr").await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_input"));
    assert!(err.to_string().contains("lang"), "{err}");
}

/// Restarting signal on the same database loses no scheduled meeting or
/// setting (issue 5, acceptance 7).
async fn schedules_survive_a_restart(db: Db) {
    let server = support::start(db).await;
    let host = server.signed_in("restart@example.com").await;
    let invited = server.signed_in("invited@example.com").await;
    let series = host
        .schedule_meeting(&ScheduleRequest {
            password: Some("1357".into()),
            invitees: vec![invited.me().await.unwrap().id],
            devices: vec![MeetingDevice {
                name: "Hall".into(),
                address: "h323:10.0.0.5".into(),
            }],
            location: Some("Hall".into()),
            options: Some(MeetingOptions {
                live_streaming: true,
                join_before_host: false,
                mute_on_entry: true,
                ..Default::default()
            }),
            ..tue_thu_series()
        })
        .await
        .unwrap();
    host.cancel_occurrence(&series.meeting.id, "2027-03-11")
        .await
        .unwrap();
    let details = host.scheduled_meeting(&series.meeting.id).await.unwrap();
    let upcoming = march(&host).await;
    let invitation = host.invitation(&series.meeting.id, "en").await.unwrap();
    let (host_token, invited_token) = (
        host.token().unwrap().to_string(),
        invited.token().unwrap().to_string(),
    );

    let server = server.restart().await;
    let host = server.api().with_token(host_token);
    let invited = server.api().with_token(invited_token);
    let after = host.scheduled_meeting(&series.meeting.id).await.unwrap();
    // The join link is built on the new server's address; everything else is equal.
    let mut expected = details.clone();
    expected.meeting.join_url = after.meeting.join_url.clone();
    assert_eq!(after, expected);
    assert!(after.meeting.options.live_streaming && !after.meeting.options.join_before_host);
    assert_eq!(march(&host).await, upcoming);
    assert_eq!(march(&invited).await.len(), 5);
    let old_base = invitation
        .lines()
        .find(|l| l.starts_with("http"))
        .unwrap()
        .to_string();
    assert_eq!(
        host.invitation(&series.meeting.id, "en").await.unwrap(),
        invitation
            .replace(&old_base, &after.meeting.join_url)
            .replace(&host_of(&old_base), &host_of(&after.meeting.join_url))
    );
    server.api().preview(&series.meeting.number).await.unwrap();
}

/// F-MTG-6: personal cloud rooms keep a fixed number across meetings, with
/// members; templates start meetings quickly; locations are a tenant list.
async fn cloud_rooms_templates_and_locations(db: Db) {
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some("internal-test-key".into()),
            ..Default::default()
        },
    )
    .await;
    let owner = server.signed_in("owner@example.com").await;
    let member = server.signed_in("member@example.com").await;
    let colleague = server.signed_in("colleague@example.com").await;
    let outsider = server
        .signed_in_tenant("other-corp", "outsider@other.example")
        .await;
    let member_id = member.me().await.unwrap().id;

    let room = owner
        .create_cloud_room(&CloudRoomRequest {
            name: Some("Owner's room".into()),
            password: Some("8642".into()),
            members: vec![member_id.clone()],
            options: Some(MeetingOptions {
                join_mode: JoinMode::InviteesMayInvite,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let id = room.meeting.id.clone();
    let number = room.meeting.number.clone();
    assert_eq!(number.len(), 9);
    assert_eq!(room.members.len(), 1);
    assert_eq!(member.cloud_rooms().await.unwrap(), vec![room.clone()]);
    assert_eq!(owner.cloud_room(&id).await.unwrap(), room);
    // Members may join a room whose join mode leaves out everyone else.
    let record = yunhui_signal::meetings::find_open_by_number(&server.app.store, &number)
        .await
        .unwrap();
    let colleague_id = colleague.me().await.unwrap().id;
    for (account, expected) in [
        (Some(member_id.as_str()), true),
        (Some(colleague_id.as_str()), false),
        (None, false),
    ] {
        assert_eq!(
            yunhui_signal::schedule::admits(&server.app.store, &record, account)
                .await
                .unwrap(),
            expected,
            "{account:?}"
        );
    }
    for (who, api) in [("outsider", &outsider), ("colleague", &colleague)] {
        assert!(api.cloud_rooms().await.unwrap().is_empty(), "{who}");
        let err = api.cloud_room(&id).await.unwrap_err();
        assert_eq!(err.code(), Some("meeting_not_found"), "{who}: {err}");
        let err = api.delete_cloud_room(&id).await.unwrap_err();
        assert_eq!(err.code(), Some("meeting_not_found"), "{who}: {err}");
    }
    let err = member
        .edit_cloud_room(&id, &CloudRoomRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_host"));
    let err = owner
        .create_cloud_room(&CloudRoomRequest {
            members: vec![outsider.me().await.unwrap().id],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("members"), "{err}");

    // A meeting held in the room ends; the room and its number stay.
    for status in [
        yunhui_proto::api::MeetingStatus::Live,
        yunhui_proto::api::MeetingStatus::Ended,
    ] {
        yunhui_signal::lifecycle::set_status(&server.app.store, &id, status)
            .await
            .unwrap();
    }
    assert_eq!(
        server.api().preview(&number).await.unwrap().topic,
        "Owner's room"
    );
    assert_eq!(owner.history().await.unwrap()[0].number, number);
    let edited = owner
        .edit_cloud_room(
            &id,
            &CloudRoomRequest {
                name: Some("Renamed".into()),
                password: None,
                members: vec![],
                options: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.meeting.number, number, "the number is fixed");
    assert!(!edited.meeting.has_password);
    assert!(member.cloud_rooms().await.unwrap().is_empty());
    owner.delete_cloud_room(&id).await.unwrap();
    assert_eq!(
        server.api().preview(&number).await.unwrap_err().code(),
        Some("meeting_not_found")
    );

    // Templates.
    let template = owner
        .create_template(&TemplateRequest {
            name: "Weekly review".into(),
            topic: Some("Review".into()),
            duration_minutes: 45,
            password: Some("1111".into()),
            location: Some("Room 5".into()),
            options: Some(MeetingOptions {
                waiting_room: true,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    assert_eq!(owner.templates().await.unwrap(), vec![template.clone()]);
    let started = owner.start_from_template(&template.id).await.unwrap();
    assert_eq!(started.topic, "Review");
    assert_eq!(started.password.as_deref(), Some("1111"));
    assert!(started.options.waiting_room);
    let err = owner
        .create_template(&TemplateRequest {
            name: "Bad".into(),
            duration_minutes: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("duration_minutes"), "{err}");
    for api in [&outsider, &colleague] {
        assert!(api.templates().await.unwrap().is_empty());
        assert_eq!(
            api.start_from_template(&template.id)
                .await
                .unwrap_err()
                .code(),
            Some("not_found")
        );
        assert_eq!(
            api.delete_template(&template.id).await.unwrap_err().code(),
            Some("not_found")
        );
    }
    owner.delete_template(&template.id).await.unwrap();
    assert!(owner.templates().await.unwrap().is_empty());

    // Locations: one list per tenant.
    let hall = owner
        .create_location(&LocationRequest {
            name: "Hall A".into(),
            address: Some("Building 1, floor 2".into()),
            capacity: Some(40),
        })
        .await
        .unwrap();
    let err = colleague
        .create_location(&LocationRequest {
            name: "Hall A".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    assert_eq!(colleague.locations().await.unwrap(), vec![hall.clone()]);
    assert!(outsider.locations().await.unwrap().is_empty());
    assert_eq!(
        outsider.delete_location(&hall.id).await.unwrap_err().code(),
        Some("not_found")
    );
    assert_eq!(
        colleague
            .delete_location(&hall.id)
            .await
            .unwrap_err()
            .code(),
        Some("invalid_input")
    );
    // The same name is free in another tenant.
    outsider
        .create_location(&LocationRequest {
            name: "Hall A".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    owner.delete_location(&hall.id).await.unwrap();
    assert!(owner.locations().await.unwrap().is_empty());
}

/// F-API-1: every scheduling and assistant endpoint is in the OpenAPI
/// document, and answers made-up ids with a status the document lists.
async fn the_open_api_document_lists_the_scheduling_endpoints(db: Db) {
    let server = support::start(db).await;
    let host = server.signed_in("doc@example.com").await;
    let doc: serde_json::Value = reqwest::get(format!("{}/api/openapi.json", server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected = [
        ("post", "/api/v1/schedules"),
        ("get", "/api/v1/schedules/{id}"),
        ("put", "/api/v1/schedules/{id}"),
        ("delete", "/api/v1/schedules/{id}"),
        ("put", "/api/v1/schedules/{id}/occurrences/{date}"),
        ("delete", "/api/v1/schedules/{id}/occurrences/{date}"),
        ("get", "/api/v1/schedules/{id}/invitation"),
        ("get", "/api/v1/upcoming"),
        ("get", "/api/v1/history"),
        ("post", "/api/v1/cloud-rooms"),
        ("get", "/api/v1/cloud-rooms"),
        ("get", "/api/v1/cloud-rooms/{id}"),
        ("put", "/api/v1/cloud-rooms/{id}"),
        ("delete", "/api/v1/cloud-rooms/{id}"),
        ("post", "/api/v1/templates"),
        ("get", "/api/v1/templates"),
        ("get", "/api/v1/templates/{id}"),
        ("put", "/api/v1/templates/{id}"),
        ("delete", "/api/v1/templates/{id}"),
        ("post", "/api/v1/templates/{id}/start"),
        ("post", "/api/v1/locations"),
        ("get", "/api/v1/locations"),
        ("delete", "/api/v1/locations/{id}"),
    ];
    let http = reqwest::Client::new();
    for (method, path) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing from the document");
        let url = format!(
            "{}{}",
            server.base_url,
            path.replace("{id}", "made-up")
                .replace("{date}", "2027-03-02")
        );
        let res = http
            .request(method.to_uppercase().parse().unwrap(), &url)
            .bearer_auth(host.token().unwrap())
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16().to_string();
        assert!(
            op["responses"].get(&status).is_some(),
            "{method} {path} answered {status}, which the document does not list"
        );
    }
    // A NUL byte in an id or a field is refused, never passed to the database.
    let err = host.scheduled_meeting("a%00b").await.unwrap_err();
    assert_eq!(err.code(), Some("meeting_not_found"));
    let err = host
        .schedule_meeting(&ScheduleRequest {
            topic: Some("a\u{0}b".into()),
            ..tue_thu_series()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("topic"), "{err}");
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.split(':').next().unwrap_or(authority).to_string()
}

on_both_databases!(
    weekly_tue_thu_until_a_date,
    monthly_on_the_31st_in_a_dst_zone,
    occurrence_exceptions_survive_series_edits,
    invalid_input_names_the_field_and_writes_nothing,
    cross_tenant_access_is_not_found,
    invitees_see_upcoming_and_history,
    invitation_text_in_both_languages,
    schedules_survive_a_restart,
    cloud_rooms_templates_and_locations,
    the_open_api_document_lists_the_scheduling_endpoints,
);
