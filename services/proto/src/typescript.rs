//! Generation of the browser client's TypeScript protocol types.
//!
//! The file lives at `services/web/src/proto.ts`. The test
//! `tests/typescript.rs` fails when it is stale; regenerate with
//! `UPDATE_PROTO_TS=1 cargo test -p yunhui-proto --test typescript`.

use ts_rs::TS;

use crate::{api, discovery, group_chat, limits, schedule, signaling, turn};

/// The complete TypeScript module: every wire type plus the protocol constants.
pub fn definitions() -> String {
    let decls = [
        api::ApiError::decl(),
        api::ErrorBody::decl(),
        api::RegisterRequest::decl(),
        api::Account::decl(),
        api::AccountRole::decl(),
        api::AccountStatus::decl(),
        api::Profile::decl(),
        api::UpdateProfileRequest::decl(),
        api::TenantLookup::decl(),
        api::DirectoryEntry::decl(),
        api::Department::decl(),
        api::DirectoryDevice::decl(),
        api::DirectoryDeviceRequest::decl(),
        api::ProvisioningRequest::decl(),
        api::ProvisionedDepartment::decl(),
        api::ProvisionedUser::decl(),
        api::ProvisioningCounts::decl(),
        api::ProvisioningResult::decl(),
        api::ApprovalRequest::decl(),
        api::RoleRequest::decl(),
        group_chat::CreateGroupChatRequest::decl(),
        group_chat::GroupChat::decl(),
        group_chat::GroupChatMessage::decl(),
        group_chat::ChatMeeting::decl(),
        group_chat::PostGroupChatMessage::decl(),
        group_chat::MarkChatRead::decl(),
        api::CloudRoomStreaming::decl(),
        api::StreamingPermission::decl(),
        api::CloudRoomMembersRequest::decl(),
        api::DepartmentRequest::decl(),
        api::AccountStatusRequest::decl(),
        api::LicenceTerms::decl(),
        api::LicenceUse::decl(),
        api::MediaPolicy::decl(),
        api::MediaPolicyRequest::decl(),
        api::AuditAction::decl(),
        api::AuditEntry::decl(),
        api::ApiScope::decl(),
        api::CreateApiKeyRequest::decl(),
        api::ApiKey::decl(),
        api::CreatedApiKey::decl(),
        api::WebhookEvent::decl(),
        api::CreateWebhookRequest::decl(),
        api::Webhook::decl(),
        api::CreatedWebhook::decl(),
        api::DeliveryState::decl(),
        api::WebhookDelivery::decl(),
        api::LoginRequest::decl(),
        api::Session::decl(),
        api::RefreshRequest::decl(),
        api::CreateMeetingRequest::decl(),
        api::JoinMode::decl(),
        api::MeetingOptions::decl(),
        api::MeetingStatus::decl(),
        api::Meeting::decl(),
        api::MeetingPreview::decl(),
        api::About::decl(),
        discovery::Discovery::decl(),
        discovery::Media::decl(),
        discovery::Sip::decl(),
        discovery::LoginMethod::decl(),
        api::RecordingFileState::decl(),
        api::Recording::decl(),
        api::RenameRecordingRequest::decl(),
        schedule::ScheduleRequest::decl(),
        schedule::MeetingDevice::decl(),
        schedule::Frequency::decl(),
        schedule::Weekday::decl(),
        schedule::Recurrence::decl(),
        schedule::OccurrenceException::decl(),
        schedule::OccurrenceUpdate::decl(),
        schedule::Invitee::decl(),
        schedule::ScheduledMeeting::decl(),
        schedule::Occurrence::decl(),
        schedule::HistoryEntry::decl(),
        schedule::LocationRequest::decl(),
        schedule::Location::decl(),
        schedule::TemplateRequest::decl(),
        schedule::MeetingTemplate::decl(),
        schedule::CloudRoomRequest::decl(),
        schedule::CloudRoom::decl(),
        signaling::ClientMessage::decl(),
        signaling::ServerMessage::decl(),
        turn::IceServer::decl(),
        signaling::ErrorCode::decl(),
        signaling::Role::decl(),
        signaling::Participant::decl(),
        signaling::HostCommand::decl(),
        signaling::RecordingState::decl(),
        signaling::StreamingState::decl(),
        signaling::LiveStream::decl(),
        signaling::VideoQuality::decl(),
        signaling::DialTarget::decl(),
        signaling::DialState::decl(),
        signaling::VideoSubscription::decl(),
        signaling::WaitingParticipant::decl(),
        signaling::ChatMessage::decl(),
        signaling::Question::decl(),
        signaling::Answer::decl(),
        signaling::LanguagePair::decl(),
        signaling::BreakoutAssignment::decl(),
        signaling::BreakoutOptions::decl(),
        signaling::BreakoutRoom::decl(),
        signaling::Breakouts::decl(),
    ];
    let mut out = String::from(
        "// Generated from services/proto by `UPDATE_PROTO_TS=1 cargo test -p yunhui-proto --test typescript`.\n\
         // Do not edit by hand.\n\n",
    );
    out.push_str(&format!(
        "export const PROTOCOL_VERSION = {};\nexport const CLOSE_JOIN_AGAIN = {};\nexport const REACTIONS = {};\n",
        signaling::PROTOCOL_VERSION,
        signaling::CLOSE_JOIN_AGAIN,
        serde_json::to_string(signaling::REACTIONS).unwrap_or_default()
    ));
    // The limits signal enforces, for the forms that must respect them.
    out.push_str("export const LIMITS = {\n");
    for (name, value) in limits::ALL {
        out.push_str(&format!("  {name}: {value},\n"));
    }
    out.push_str("} as const;\n");
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}
