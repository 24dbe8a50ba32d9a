//! Which scope an API key needs for each endpoint: one table, checked by
//! the [`Caller`](crate::accounts::Caller) extractor before any handler
//! runs. An endpoint missing from the table is closed to API keys (people
//! signed in are limited by their role alone). A test walks every
//! documented operation with a key lacking its scope.

use axum::http::Method;
use yunhui_proto::api::ApiScope;

/// The scope an API key needs for `method` on `path` (the route's template
/// under `/api/v1`, e.g. `/meetings/{id}`); `None` when keys may not call it.
pub fn required(method: &Method, path: &str) -> Option<ApiScope> {
    let read = *method == Method::GET;
    let scope = match path {
        "/me" | "/me/profile" | "/sessions" => ApiScope::Profile,
        p if p.starts_with("/me/contacts") => ApiScope::Profile,
        p if p == "/directory" || p.starts_with("/directory/") => ApiScope::DirectoryRead,
        p if p.starts_with("/admin/accounts")
            || p.starts_with("/admin/departments")
            || p.starts_with("/admin/devices")
            || p == "/admin/provisioning" =>
        {
            ApiScope::AccountsManage
        }
        p if p.starts_with("/admin/api-keys") => ApiScope::ApiKeysManage,
        p if p.starts_with("/admin/webhooks") => ApiScope::WebhooksManage,
        "/admin/audit-log" | "/admin/licence" => ApiScope::AuditRead,
        p if p == "/chats" || p.starts_with("/chats/") => ApiScope::Chat,
        p if [
            "/meetings",
            "/schedules",
            "/upcoming",
            "/history",
            "/cloud-rooms",
            "/templates",
            "/locations",
            "/recordings",
            "/admin/cloud-rooms",
            "/admin/media-policy",
        ]
        .iter()
        .any(|prefix| p == *prefix || p.starts_with(&format!("{prefix}/"))) =>
        {
            if read {
                ApiScope::MeetingsRead
            } else {
                ApiScope::MeetingsManage
            }
        }
        _ => return None,
    };
    Some(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_changes_need_different_scopes() {
        assert_eq!(
            required(&Method::GET, "/meetings/{id}"),
            Some(ApiScope::MeetingsRead)
        );
        assert_eq!(
            required(&Method::POST, "/schedules"),
            Some(ApiScope::MeetingsManage)
        );
        assert_eq!(
            required(&Method::DELETE, "/admin/api-keys/{id}"),
            Some(ApiScope::ApiKeysManage)
        );
        assert_eq!(
            required(&Method::GET, "/directory"),
            Some(ApiScope::DirectoryRead)
        );
        assert_eq!(
            required(&Method::GET, "/admin/webhooks/{id}/deliveries"),
            Some(ApiScope::WebhooksManage)
        );
        assert_eq!(
            required(&Method::GET, "/admin/audit-log"),
            Some(ApiScope::AuditRead)
        );
        assert_eq!(
            required(&Method::DELETE, "/admin/departments/{id}"),
            Some(ApiScope::AccountsManage)
        );
        assert_eq!(required(&Method::GET, "/meetingsx"), None);
        assert_eq!(required(&Method::GET, "/nothing"), None);
    }
}
