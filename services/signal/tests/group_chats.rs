//! Group chats (F-DIR-2) through the SDK, on SQLite and on PostgreSQL:
//! a chat of colleagues (never someone of another enterprise), messages
//! pushed to a member's listening socket, history in pages, unread counts
//! that follow what each member read (and what it sent), a chat invisible
//! to outsiders and to API keys without the `chat` scope, and a meeting started from a chat
//! that rings its other members with the meeting's key.

use reqwest::StatusCode;
use serde_json::json;
use yunhui_client::api::ApiClient;
use yunhui_client::signaling::SignalingClient;
use yunhui_proto::api::ApiScope;
use yunhui_proto::group_chat::GroupChatMessage;
use yunhui_proto::signaling::ServerMessage;
use yunhui_signal::SignalConfig;

use crate::support;
use support::session::{MEDIA_WAIT, incoming_call, listening};
use support::{Db, refusal};

const KEY: &str = "group-chat-test-key";

/// The next group chat message pushed to `socket`.
async fn pushed(socket: &mut SignalingClient) -> GroupChatMessage {
    socket
        .recv_until(MEDIA_WAIT, |m| match m {
            ServerMessage::GroupChatMessage { message } => Some(message.clone()),
            _ => None,
        })
        .await
        .expect("a group chat message pushed to the listening socket")
}

async fn unread(api: &ApiClient, chat: &str) -> u32 {
    let chats = api.chats().await.unwrap();
    chats
        .iter()
        .find(|c| c.id == chat)
        .unwrap_or_else(|| panic!("chat {chat} not in {chats:#?}"))
        .unread
}

/// A server with the enterprise `acme` (accounts `@acme.example`).
async fn with_acme(db: Db) -> support::Server {
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some(KEY.into()),
            ..SignalConfig::default()
        },
    )
    .await;
    let put = reqwest::Client::new()
        .put(format!("{}/internal/v1/tenants/acme", server.base_url))
        .bearer_auth(KEY)
        .json(&json!({"displayName": "ACME", "domains": ["acme.example"], "licence": {}}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    server
}

async fn colleagues_chat_with_history_unread_counts_and_a_meeting(db: Db) {
    let server = with_acme(db).await;
    let alice = server.signed_in_tenant("acme", "alice@acme.example").await;
    let (bob, bob_id) = server.colleague(&alice, "acme", "bob@acme.example").await;
    let (carol, carol_id) = server.colleague(&alice, "acme", "carol@acme.example").await;
    let dave = server
        .signed_in_tenant("globex", "dave@globex.example")
        .await;
    let dave_id = dave.me().await.unwrap().id;

    // Someone of another enterprise cannot be in the chat.
    let (status, _, message) = refusal(
        alice
            .create_chat("Project X", &[bob_id.clone(), dave_id.clone()])
            .await,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    let (status, _, _) = refusal(alice.create_chat("  ", std::slice::from_ref(&bob_id)).await);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let chat = alice
        .create_chat("Project X", &[bob_id.clone(), carol_id.clone()])
        .await
        .unwrap();
    assert_eq!(chat.members.len(), 3, "{chat:#?}");
    assert_eq!(chat.unread, 0);

    // Bob listens; a message reaches his socket at once.
    let mut bob_phone = listening(&server.base_url, bob.token().unwrap()).await;
    let hello = alice
        .send_chat_message(&chat.id, "Hello, team")
        .await
        .unwrap();
    let got = pushed(&mut bob_phone).await;
    assert_eq!(got, hello);
    assert_eq!(got.sender_name, "alice");
    assert_eq!(
        (unread(&bob, &chat.id).await, unread(&carol, &chat.id).await),
        (1, 1)
    );
    assert_eq!(
        unread(&alice, &chat.id).await,
        0,
        "one's own message is read"
    );

    // Bob answers: what he sent he has read, Alice has one unread.
    let hi = bob.send_chat_message(&chat.id, "Hi Alice").await.unwrap();
    assert_eq!(
        pushed(&mut bob_phone).await,
        hi,
        "his other devices hear it too"
    );
    assert_eq!(unread(&bob, &chat.id).await, 0);
    assert_eq!(unread(&alice, &chat.id).await, 1);
    let listed = carol.chats().await.unwrap();
    assert_eq!(listed[0].last_message.as_ref(), Some(&hi));

    // History, newest first, in pages.
    let all = carol.chat_messages(&chat.id, None, None).await.unwrap();
    assert_eq!(all, vec![hi.clone(), hello.clone()]);
    let first = carol.chat_messages(&chat.id, None, Some(1)).await.unwrap();
    let second = carol
        .chat_messages(&chat.id, Some(&first[0].id), Some(1))
        .await
        .unwrap();
    assert_eq!((first, second), (vec![hi.clone()], vec![hello.clone()]));
    for limit in [0, 201] {
        let (status, _, _) = refusal(carol.chat_messages(&chat.id, None, Some(limit)).await);
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    // Carol reads up to the first, then all; an older mark changes nothing.
    carol.mark_chat_read(&chat.id, &hello.id).await.unwrap();
    assert_eq!(unread(&carol, &chat.id).await, 1);
    carol.mark_chat_read(&chat.id, &hi.id).await.unwrap();
    carol.mark_chat_read(&chat.id, &hello.id).await.unwrap();
    assert_eq!(unread(&carol, &chat.id).await, 0);
    let (status, _, _) = refusal(carol.mark_chat_read(&chat.id, "no-such-message").await);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for text in ["", &"x".repeat(2001)] {
        let (status, _, _) = refusal(carol.send_chat_message(&chat.id, text).await);
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    // Outsiders see no chat; API keys do not chat.
    assert!(dave.chats().await.unwrap().is_empty());
    for (status, _, _) in [
        refusal(dave.chat_messages(&chat.id, None, None).await),
        refusal(dave.send_chat_message(&chat.id, "hi").await.map(drop)),
        refusal(dave.start_chat_meeting(&chat.id).await.map(drop)),
    ] {
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // A key chats as its account with the `chat` scope only.
    let key = |scopes: &'static [ApiScope]| {
        let alice = &alice;
        async move { alice.create_api_key("bot", scopes).await.unwrap().key }
    };
    let without = server.api().with_token(key(&[ApiScope::Profile]).await);
    let (status, code, _) = refusal(without.chats().await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let bot = server.api().with_token(key(&[ApiScope::Chat]).await);
    let seen: Vec<String> = bot
        .chats()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(seen, std::slice::from_ref(&chat.id));

    // A meeting from the chat: announced in it, and Bob's phone rings with
    // the meeting's key.
    let meeting = carol.start_chat_meeting(&chat.id).await.unwrap();
    assert_eq!(meeting.topic, "Project X");
    let announced = pushed(&mut bob_phone).await;
    let started = announced
        .meeting
        .expect("the message announces the meeting");
    assert_eq!(started.number, meeting.number);
    assert!(meeting.join_url.contains(&started.link_key));
    let (_, link_key) = incoming_call(&mut bob_phone).await;
    assert_eq!(link_key, started.link_key);
    assert_eq!(unread(&alice, &chat.id).await, 2);
}

/// The list reads all of a member's chats at once: it must say what each
/// chat says on its own, newest activity first, a chat without messages last.
async fn the_list_says_what_each_chat_says(db: Db) {
    let server = with_acme(db).await;
    let alice = server.signed_in_tenant("acme", "alice@acme.example").await;
    let (bob, bob_id) = server.colleague(&alice, "acme", "bob@acme.example").await;
    let (carol, carol_id) = server.colleague(&alice, "acme", "carol@acme.example").await;
    let quiet = alice
        .create_chat("Quiet", std::slice::from_ref(&bob_id))
        .await
        .unwrap();
    let older = alice
        .create_chat("Older", &[bob_id.clone(), carol_id.clone()])
        .await
        .unwrap();
    let newer = alice
        .create_chat("Newer", std::slice::from_ref(&carol_id))
        .await
        .unwrap();
    // Another member's chat, which is not Bob's.
    carol
        .create_chat(
            "Not Bob's",
            std::slice::from_ref(&alice.me().await.unwrap().id),
        )
        .await
        .unwrap();
    alice.send_chat_message(&older.id, "one").await.unwrap();
    bob.send_chat_message(&older.id, "two").await.unwrap();
    alice.send_chat_message(&older.id, "three").await.unwrap();
    carol.send_chat_message(&newer.id, "four").await.unwrap();

    for who in [&alice, &bob, &carol] {
        let listed = who.chats().await.unwrap();
        let mut each = Vec::new();
        for chat in &listed {
            each.push(who.chat(&chat.id).await.unwrap());
        }
        assert_eq!(listed, each, "the list agrees with each chat");
    }
    let ids = |chats: Vec<yunhui_proto::group_chat::GroupChat>| -> Vec<String> {
        chats.into_iter().map(|c| c.id).collect()
    };
    // Chats without messages follow, the newest first (made in the same second: any order).
    let alices = ids(alice.chats().await.unwrap());
    assert_eq!(alices[..2], [newer.id.clone(), older.id.clone()]);
    assert_eq!(alices.len(), 4);
    assert!(alices[2..].contains(&quiet.id), "{alices:?}");
    let bobs = bob.chats().await.unwrap();
    assert_eq!(ids(bobs.clone()), [older.id.clone(), quiet.id.clone()]);
    assert_eq!(
        (bobs[0].unread, bobs[0].members.len()),
        (1, 3),
        "what Bob sent marked what came before it read: Alice's last message unread; three members"
    );
    assert_eq!(bobs[0].last_message.as_ref().unwrap().text, "three");
    assert_eq!((bobs[1].unread, bobs[1].last_message.as_ref()), (0, None));
}

on_both_databases!(
    colleagues_chat_with_history_unread_counts_and_a_meeting,
    the_list_says_what_each_chat_says,
);
