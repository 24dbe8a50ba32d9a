//! Who a bearer token belongs to: a session token ([`crate::accounts`]) or a
//! tenant API key ([`crate::api_keys`], `yk_…`). The one place both are
//! known, so neither module depends on the other.

use crate::accounts::{self, Caller};
use crate::api_keys;
use crate::error::Result;
use crate::store::Store;

/// Resolves a bearer token (a session token or an API key) to its caller.
pub async fn authenticate(store: &Store, token: &str) -> Result<Caller> {
    if token.starts_with(api_keys::PREFIX) {
        api_keys::authenticate(store, token).await
    } else {
        accounts::authenticate_session(store, token).await
    }
}
