//! Breakout rooms (F-BRK-1, the manual's 5.2) through the Rust SDK, with
//! the SFU in the loop: media is separated per room at the SFU (each
//! participant receives audio only from their room, measured per
//! publisher), the host visiting a room is heard there only, the rules of
//! who may go where hold, and closing counts down and brings everyone back
//! — all on the same peer connections.

use crate::support;

use support::Db;
use support::session::{
    MEDIA_WAIT, expect_accepted as accepted, expect_error as refused, hears_only, host_command,
    join, light_media, receiving, until,
};
use yunhui_client::media::TrackKind;
use yunhui_proto::signaling::{
    BreakoutAssignment, BreakoutOptions, ClientMessage, ErrorCode, HostCommand, ServerMessage,
};

async fn three_rooms_six_participants_each_hear_only_their_room(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = server.meeting(None).await;
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    host.publish(light_media(30)).await.unwrap();
    let mut people = Vec::new();
    for i in 1..=6 {
        let mut p = join(&server, &meeting, &format!("P{i}"), None).await;
        p.publish(light_media(30)).await.unwrap();
        people.push(p);
    }
    let h = host.participant_id().to_string();
    let ids: Vec<String> = people
        .iter()
        .map(|p| p.participant_id().to_string())
        .collect();
    let everyone: Vec<&str> = std::iter::once(h.as_str())
        .chain(ids.iter().map(String::as_str))
        .collect();
    // Before: everyone hears everyone.
    for p in &people {
        for id in &everyone {
            if *id != p.participant_id() {
                receiving(p, id, TrackKind::Audio).await;
            }
        }
    }

    // Only the host manages rooms; nobody goes into rooms that are not open.
    refused(
        &people[0],
        host_command(HostCommand::CreateBreakouts {
            count: 2,
            assignment: BreakoutAssignment::Random,
            options: BreakoutOptions::default(),
        }),
        ErrorCode::NotHost,
    )
    .await;
    refused(
        &people[0],
        ClientMessage::JoinBreakout { room_id: None },
        ErrorCode::NotAllowed,
    )
    .await;
    for count in [0, 51] {
        refused(
            &host,
            host_command(HostCommand::CreateBreakouts {
                count,
                assignment: BreakoutAssignment::Manual,
                options: BreakoutOptions::default(),
            }),
            ErrorCode::InvalidInput,
        )
        .await;
    }

    // Three rooms, assigned by hand; a fourth added, renamed and deleted.
    accepted(
        &host,
        host_command(HostCommand::CreateBreakouts {
            count: 3,
            assignment: BreakoutAssignment::Manual,
            options: BreakoutOptions {
                countdown_seconds: 3,
                ..BreakoutOptions::default()
            },
        }),
    )
    .await;
    until(&people[5], "three rooms", |v| {
        v.breakouts.as_ref().is_some_and(|b| b.rooms.len() == 3)
    })
    .await;
    let rooms: Vec<String> = host
        .view()
        .breakouts
        .unwrap()
        .rooms
        .iter()
        .map(|r| r.id.clone())
        .collect();
    accepted(
        &host,
        host_command(HostCommand::AddBreakout {
            name: "Spare".into(),
        }),
    )
    .await;
    until(&host, "a fourth room", |v| {
        v.breakouts.as_ref().is_some_and(|b| b.rooms.len() == 4)
    })
    .await;
    let spare = host.view().breakouts.unwrap().rooms[3].id.clone();
    accepted(
        &host,
        host_command(HostCommand::RenameBreakout {
            room_id: rooms[0].clone(),
            name: "Design".into(),
        }),
    )
    .await;
    refused(
        &host,
        host_command(HostCommand::RenameBreakout {
            room_id: rooms[1].clone(),
            name: " ".into(),
        }),
        ErrorCode::InvalidInput,
    )
    .await;
    accepted(
        &host,
        host_command(HostCommand::DeleteBreakout { room_id: spare }),
    )
    .await;
    for (i, id) in ids.iter().enumerate() {
        accepted(
            &host,
            host_command(HostCommand::AssignBreakout {
                participant_id: id.clone(),
                room_id: Some(rooms[i / 2].clone()),
            }),
        )
        .await;
    }
    until(&people[0], "the rooms as assigned", |v| {
        v.breakouts.as_ref().is_some_and(|b| {
            b.rooms.len() == 3
                && b.rooms[0].name == "Design"
                && b.rooms.iter().all(|r| r.assigned.len() == 2)
        })
    })
    .await;
    let connections: Vec<u64> = people
        .iter()
        .map(|p| p.subscriber().connections())
        .collect();

    // Opened: everyone is moved into their room and hears only it.
    accepted(&host, host_command(HostCommand::OpenBreakouts)).await;
    for (i, p) in people.iter().enumerate() {
        let room = rooms[i / 2].clone();
        until(p, "in their room", move |v| {
            v.participants
                .values()
                .filter(|x| x.breakout.as_deref() == Some(room.as_str()))
                .count()
                == 2
        })
        .await;
    }
    for (i, p) in people.iter().enumerate() {
        let partner = &ids[i ^ 1];
        hears_only(&format!("P{}", i + 1), p, &everyone, &[partner]).await;
    }
    hears_only("the host in the main room", &host, &everyone, &[]).await;

    // The host visits room 2: heard there, and hearing it, only.
    accepted(
        &host,
        ClientMessage::JoinBreakout {
            room_id: Some(rooms[1].clone()),
        },
    )
    .await;
    hears_only("the visiting host", &host, &everyone, &[&ids[2], &ids[3]]).await;
    hears_only("P3 with the host", &people[2], &everyone, &[&ids[3], &h]).await;
    hears_only("P1 without the host", &people[0], &everyone, &[&ids[1]]).await;

    // Chat to everyone from a breakout room reaches that room only.
    people[0].chat(None, "Room 1 only").unwrap();
    until(&people[1], "P2 reads P1's message to the room", |v| {
        v.chat
            .iter()
            .any(|m| m.text == "Room 1 only" && m.breakout.is_some())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for (who, p) in [("P3", &people[2]), ("the host", &host)] {
        assert!(
            !p.view().chat.iter().any(|m| m.text == "Room 1 only"),
            "{who} read a message written to room 1"
        );
    }

    // A participant may not change rooms or leave early here, but may ask for help.
    refused(
        &people[0],
        ClientMessage::JoinBreakout {
            room_id: Some(rooms[1].clone()),
        },
        ErrorCode::NotAllowed,
    )
    .await;
    refused(
        &people[0],
        ClientMessage::JoinBreakout { room_id: None },
        ErrorCode::NotAllowed,
    )
    .await;
    accepted(&people[0], ClientMessage::AskForHelp).await;
    let (p1, room1) = (ids[0].clone(), rooms[0].clone());
    until(&host, "P1's call for help", move |v| {
        v.help_requests.contains(&(p1.clone(), Some(room1.clone())))
    })
    .await;
    refused(
        &people[0],
        host_command(HostCommand::BroadcastToBreakouts { text: "x".into() }),
        ErrorCode::NotHost,
    )
    .await;
    accepted(
        &host,
        host_command(HostCommand::BroadcastToBreakouts {
            text: "Five minutes left".into(),
        }),
    )
    .await;
    for p in &people {
        until(p, "the broadcast", |v| {
            v.broadcasts
                .iter()
                .any(|(from, text)| from == "Host" && text == "Five minutes left")
        })
        .await;
    }

    // Closing counts down, then everyone is back and hears everyone.
    accepted(&host, host_command(HostCommand::CloseBreakouts)).await;
    until(&people[4], "the countdown", |v| {
        v.breakouts
            .as_ref()
            .is_some_and(|b| b.open && b.closing_at_ms.is_some())
    })
    .await;
    assert!(
        people[4].view().participants[&ids[4]].breakout.is_some(),
        "the countdown moved P5 before it ran out"
    );
    for p in &people {
        until(p, "everyone back in the main room", |v| {
            v.breakouts.as_ref().is_some_and(|b| !b.open)
                && v.participants.values().all(|x| x.breakout.is_none())
        })
        .await;
    }
    for (i, p) in people.iter().enumerate() {
        let others: Vec<&str> = everyone
            .iter()
            .copied()
            .filter(|id| *id != ids[i])
            .collect();
        hears_only(&format!("P{} back", i + 1), p, &everyone, &others).await;
    }
    // The room's chat is in nobody's history; the meeting's is.
    people[0].chat(None, "Back in the main room").unwrap();
    let late = join(&server, &meeting, "Late", None).await;
    until(&late, "the meeting's chat history", |v| {
        v.chat.iter().any(|m| m.text == "Back in the main room")
    })
    .await;
    assert!(
        !late.view().chat.iter().any(|m| m.text == "Room 1 only"),
        "a breakout room's message is in a newcomer's history"
    );
    late.close().await;
    let after: Vec<u64> = people
        .iter()
        .map(|p| p.subscriber().connections())
        .collect();
    assert_eq!(after, connections, "a peer connection was replaced");
    assert!(
        people.iter().all(|p| p.view().media_restarts == 0),
        "media was restarted"
    );
    host.close().await;
    for p in people {
        p.close().await;
    }
}

async fn rooms_close_by_themselves_and_participants_choose_theirs(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = server.meeting(None).await;
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    host.publish(light_media(30)).await.unwrap();
    let mut a = join(&server, &meeting, "A", None).await;
    a.publish(light_media(30)).await.unwrap();
    let mut b = join(&server, &meeting, "B", None).await;
    b.publish(light_media(30)).await.unwrap();
    let (h, a_id, b_id) = (
        host.participant_id().to_string(),
        a.participant_id().to_string(),
        b.participant_id().to_string(),
    );
    let everyone = [h.as_str(), a_id.as_str(), b_id.as_str()];
    let options = BreakoutOptions {
        allow_choose: true,
        allow_return: true,
        auto_move: false,
        close_after_seconds: Some(6),
        countdown_seconds: 2,
    };
    accepted(
        &host,
        host_command(HostCommand::CreateBreakouts {
            count: 2,
            assignment: BreakoutAssignment::SelfSelect,
            options,
        }),
    )
    .await;
    until(&a, "two rooms, nobody assigned", |v| {
        v.breakouts
            .as_ref()
            .is_some_and(|b| b.rooms.len() == 2 && b.rooms.iter().all(|r| r.assigned.is_empty()))
    })
    .await;
    let rooms: Vec<String> = a
        .view()
        .breakouts
        .unwrap()
        .rooms
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let mut events = b.events();
    accepted(&host, host_command(HostCommand::OpenBreakouts)).await;
    until(&a, "open", |v| v.breakouts.as_ref().is_some_and(|b| b.open)).await;
    // Nobody was moved: A and B choose, and A returns to the main room.
    assert!(a.view().participants.values().all(|p| p.breakout.is_none()));
    accepted(
        &a,
        ClientMessage::JoinBreakout {
            room_id: Some(rooms[0].clone()),
        },
    )
    .await;
    accepted(
        &b,
        ClientMessage::JoinBreakout {
            room_id: Some(rooms[1].clone()),
        },
    )
    .await;
    refused(
        &b,
        ClientMessage::JoinBreakout {
            room_id: Some("room-99".into()),
        },
        ErrorCode::InvalidInput,
    )
    .await;
    hears_only("A alone in room 1", &a, &everyone, &[]).await;
    accepted(
        &a,
        ClientMessage::JoinBreakout {
            room_id: Some(rooms[1].clone()),
        },
    )
    .await;
    hears_only("A with B in room 2", &a, &everyone, &[&b_id]).await;
    accepted(&a, ClientMessage::JoinBreakout { room_id: None }).await;
    hears_only("A back with the host", &a, &everyone, &[&h]).await;

    // Six seconds after opening the countdown starts by itself, and two
    // seconds later B is back.
    let closing = loop {
        let message = tokio::time::timeout(MEDIA_WAIT, events.recv())
            .await
            .expect("the clock never started the countdown");
        if let Ok(ServerMessage::Breakouts {
            breakouts: Some(breakouts),
        }) = message
            && breakouts.open
            && breakouts.closing_at_ms.is_some()
        {
            break breakouts;
        }
    };
    let opened = closing.opened_at_ms.expect("opening time");
    let ends = closing.closing_at_ms.unwrap() - opened;
    assert!(
        (7_900..=11_000).contains(&ends),
        "rooms set to close 6 s after opening, with 2 s of countdown, end {ends} ms after"
    );
    until(&b, "back in the main room", |v| {
        v.breakouts.as_ref().is_some_and(|b| !b.open)
            && v.participants.values().all(|p| p.breakout.is_none())
    })
    .await;
    hears_only("B back", &b, &everyone, &[&h, &a_id]).await;
    for session in [host, a, b] {
        session.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rooms_six_participants_each_hear_only_their_room_sqlite() {
    three_rooms_six_participants_each_hear_only_their_room(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_close_by_themselves_and_participants_choose_theirs_postgres() {
    rooms_close_by_themselves_and_participants_choose_theirs(Db::Postgres).await
}
