//! The limits signal enforces on what clients send, defined once.
//!
//! Signal checks input against these constants, and the web client reads
//! them from the generated `proto.ts` (`LIMITS`, built from [`ALL`]), so a
//! form never accepts what the server would refuse. Lengths counted in
//! characters say `_CHARS`; in bytes, `_BYTES`.

/// Longest display name of an account or a participant.
pub const DISPLAY_NAME_CHARS: usize = 64;
/// Longest meeting topic.
pub const TOPIC_CHARS: usize = 128;
/// Shortest meeting password.
pub const MEETING_PASSWORD_MIN_CHARS: usize = 4;
/// Longest meeting password.
pub const MEETING_PASSWORD_MAX_CHARS: usize = 16;
/// Shortest account password.
pub const ACCOUNT_PASSWORD_MIN_CHARS: usize = 8;
/// Longest account password.
pub const ACCOUNT_PASSWORD_MAX_BYTES: usize = 1024;
/// Longest e-mail address.
pub const EMAIL_BYTES: usize = 254;
/// Fewest digits of a phone number (a leading `+` aside).
pub const PHONE_MIN_DIGITS: usize = 5;
/// Most digits of a phone number.
pub const PHONE_MAX_DIGITS: usize = 20;
/// Longest department of an account.
pub const DEPARTMENT_CHARS: usize = 128;
/// Longest directory search.
pub const DIRECTORY_QUERY_CHARS: usize = 100;
/// Longest meeting location.
pub const LOCATION_CHARS: usize = 128;
/// Longest name of a saved location (a meeting room).
pub const LOCATION_NAME_CHARS: usize = 128;
/// Longest address of a saved location.
pub const LOCATION_ADDRESS_CHARS: usize = 256;
/// Most seats of a saved location.
pub const LOCATION_MAX_CAPACITY: usize = 10_000;
/// Longest name of a meeting template.
pub const TEMPLATE_NAME_CHARS: usize = 64;
/// Most invitees of one scheduled meeting.
pub const INVITEES: usize = 500;
/// Most meeting devices (room systems) of one scheduled meeting.
pub const MEETING_DEVICES: usize = 50;
/// Longest name of a meeting device.
pub const DEVICE_NAME_CHARS: usize = 64;
/// Longest SIP or H.323 address of a meeting device.
pub const DEVICE_ADDRESS_BYTES: usize = 256;
/// Most accounts one invitation during a meeting rings.
pub const INVITES_PER_REQUEST: usize = 50;
/// Most calls from one meeting that may ring at once.
pub const RINGING_CALLS: usize = 20;
/// Longest number or address a meeting calls out to.
pub const DIAL_TARGET_CHARS: usize = 256;
/// Longest chat message.
pub const CHAT_CHARS: usize = 2000;
/// Longest webinar question or answer.
pub const QUESTION_CHARS: usize = 1000;
/// Most questions one webinar keeps (new ones are refused after that).
pub const QUESTIONS: usize = 2000;
/// Most open questions one attendee may have at a time.
pub const OPEN_QUESTIONS_PER_ASKER: usize = 5;
/// Most answers one question takes.
pub const ANSWERS_PER_QUESTION: usize = 20;
/// Most breakout rooms of one meeting.
pub const BREAKOUT_ROOMS: usize = 50;
/// Longest breakout room name.
pub const BREAKOUT_NAME_CHARS: usize = 64;
/// Longest language code of interpretation (e.g. `en`, `zh-Hans`).
pub const LANGUAGE_CHARS: usize = 16;
/// Most interpreters one meeting has at a time.
pub const INTERPRETERS: usize = 20;
/// Most participants one video subscription lists.
pub const VIDEO_SUBSCRIPTIONS: usize = 1000;
/// Largest signaling frame.
pub const FRAME_BYTES: usize = 64 * 1024;
/// Longest id of a user or department in an enterprise's own directory.
pub const EXTERNAL_ID_CHARS: usize = 128;
/// Most departments, and most users, in one provisioning request.
pub const PROVISIONED_ITEMS: usize = 5000;
/// Largest body of a provisioning request (the one endpoint allowed more
/// than [`API_BODY_BYTES`]).
pub const PROVISIONING_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Longest group chat name.
pub const GROUP_CHAT_NAME_CHARS: usize = 64;
/// Most members of one group chat.
pub const GROUP_CHAT_MEMBERS: usize = 500;
/// Most group chat messages one page holds.
pub const GROUP_CHAT_PAGE: usize = 200;

/// Longest recording retention an administrator may set when the licence
/// sets none, days (ten years).
pub const RETENTION_DAYS: usize = 3650;

/// Most departments of one enterprise.
pub const DEPARTMENTS: usize = 20_000;

/// Most meeting devices in one enterprise's directory.
pub const DIRECTORY_DEVICES: usize = 1000;
/// Most frequent contacts of one account.
pub const FREQUENT_CONTACTS: usize = 200;

/// Longest webhook URL.
pub const WEBHOOK_URL_BYTES: usize = 2048;
/// Most webhooks of one tenant.
pub const WEBHOOKS: usize = 20;

/// Largest body of an Open API request.
pub const API_BODY_BYTES: usize = 64 * 1024;

/// Shortest time between two media restarts one participant asks for
/// (`restart_media`), in milliseconds: each one tears down and rebuilds its
/// connections on the SFU and renegotiates everyone who receives it.
pub const MEDIA_RESTART_INTERVAL_MS: usize = 5000;

/// Every limit by the name the web client knows it by.
pub const ALL: &[(&str, usize)] = &[
    ("display_name_chars", DISPLAY_NAME_CHARS),
    ("topic_chars", TOPIC_CHARS),
    ("meeting_password_min_chars", MEETING_PASSWORD_MIN_CHARS),
    ("meeting_password_max_chars", MEETING_PASSWORD_MAX_CHARS),
    ("account_password_min_chars", ACCOUNT_PASSWORD_MIN_CHARS),
    ("account_password_max_bytes", ACCOUNT_PASSWORD_MAX_BYTES),
    ("email_bytes", EMAIL_BYTES),
    ("phone_min_digits", PHONE_MIN_DIGITS),
    ("phone_max_digits", PHONE_MAX_DIGITS),
    ("department_chars", DEPARTMENT_CHARS),
    ("directory_query_chars", DIRECTORY_QUERY_CHARS),
    ("location_chars", LOCATION_CHARS),
    ("location_name_chars", LOCATION_NAME_CHARS),
    ("location_address_chars", LOCATION_ADDRESS_CHARS),
    ("location_max_capacity", LOCATION_MAX_CAPACITY),
    ("template_name_chars", TEMPLATE_NAME_CHARS),
    ("invitees", INVITEES),
    ("meeting_devices", MEETING_DEVICES),
    ("device_name_chars", DEVICE_NAME_CHARS),
    ("device_address_bytes", DEVICE_ADDRESS_BYTES),
    ("invites_per_request", INVITES_PER_REQUEST),
    ("ringing_calls", RINGING_CALLS),
    ("dial_target_chars", DIAL_TARGET_CHARS),
    ("chat_chars", CHAT_CHARS),
    ("question_chars", QUESTION_CHARS),
    ("breakout_rooms", BREAKOUT_ROOMS),
    ("breakout_name_chars", BREAKOUT_NAME_CHARS),
    ("language_chars", LANGUAGE_CHARS),
    ("interpreters", INTERPRETERS),
    ("video_subscriptions", VIDEO_SUBSCRIPTIONS),
    ("frame_bytes", FRAME_BYTES),
    ("external_id_chars", EXTERNAL_ID_CHARS),
    ("provisioned_items", PROVISIONED_ITEMS),
    ("provisioning_body_bytes", PROVISIONING_BODY_BYTES),
    ("group_chat_name_chars", GROUP_CHAT_NAME_CHARS),
    ("group_chat_members", GROUP_CHAT_MEMBERS),
    ("group_chat_page", GROUP_CHAT_PAGE),
    ("retention_days", RETENTION_DAYS),
    ("departments", DEPARTMENTS),
    ("directory_devices", DIRECTORY_DEVICES),
    ("frequent_contacts", FREQUENT_CONTACTS),
    ("webhook_url_bytes", WEBHOOK_URL_BYTES),
    ("webhooks", WEBHOOKS),
    ("api_body_bytes", API_BODY_BYTES),
    ("media_restart_interval_ms", MEDIA_RESTART_INTERVAL_MS),
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_limits_positive() {
        let mut seen = HashSet::new();
        for (name, value) in super::ALL {
            assert!(seen.insert(*name), "{name} is listed twice");
            assert!(*value > 0, "{name} is zero");
        }
    }
}
