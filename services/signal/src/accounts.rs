//! Accounts and sessions: sign-up with e-mail or phone, argon2 password
//! hashes, and bearer tokens stored only as SHA-256 hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use yunhui_proto::api::{Account, RegisterRequest, Session};

use crate::error::{Error, Result};
use crate::store::{DEFAULT_TENANT_ID, Store, now};

/// Who is calling: an authenticated account in its tenant.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account id.
    pub account_id: String,
    /// The account's tenant; every query the caller makes is scoped to it.
    pub tenant_id: String,
    /// Name shown in meetings.
    pub display_name: String,
}

/// Creates an account in the default tenant.
pub async fn register(store: &Store, req: RegisterRequest) -> Result<Account> {
    let email = req
        .email
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let phone = req
        .phone
        .map(|p| normalize_phone(&p))
        .filter(|p| !p.is_empty());
    if email.is_none() && phone.is_none() {
        return Err(Error::InvalidInput(
            "give an e-mail address or a phone number".into(),
        ));
    }
    if let Some(email) = &email
        && (!email.contains('@') || email.len() > 254)
    {
        return Err(Error::InvalidInput(format!(
            "'{email}' is not an e-mail address"
        )));
    }
    if let Some(phone) = &phone {
        let digits = phone.trim_start_matches('+');
        if digits.len() < 5 || digits.len() > 20 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::InvalidInput(format!(
                "'{phone}' is not a phone number"
            )));
        }
    }
    if req.password.chars().count() < 8 {
        return Err(Error::InvalidInput(
            "the password needs at least 8 characters".into(),
        ));
    }
    if req.password.len() > 1024 {
        return Err(Error::InvalidInput(
            "the password is longer than 1024 bytes".into(),
        ));
    }
    let display_name = req.display_name.trim().to_string();
    if display_name.is_empty() || display_name.chars().count() > 64 {
        return Err(Error::InvalidInput(
            "the display name needs 1 to 64 characters".into(),
        ));
    }
    if let Some(email) = &email
        && login_exists(store, "email", email).await?
    {
        return Err(Error::AccountExists("e-mail address"));
    }
    if let Some(phone) = &phone
        && login_exists(store, "phone", phone).await?
    {
        return Err(Error::AccountExists("phone number"));
    }
    let password_hash = hash_password(req.password).await?;
    let account = Account {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: DEFAULT_TENANT_ID.to_string(),
        email,
        phone,
        display_name,
    };
    sqlx::query(
        "INSERT INTO accounts (id, tenant_id, email, phone, password_hash, display_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&account.id)
    .bind(&account.tenant_id)
    .bind(account.email.clone())
    .bind(account.phone.clone())
    .bind(password_hash)
    .bind(&account.display_name)
    .bind(now())
    .execute(store.pool())
    .await
    .map_err(|e| match &e {
        // Two sign-ups racing for the same login: the unique index decides.
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::AccountExists("login"),
        _ => Error::Database(e),
    })?;
    Ok(account)
}

/// Checks a login and password and opens a session valid for `ttl_secs`.
pub async fn login(store: &Store, login: &str, password: String, ttl_secs: i64) -> Result<Session> {
    let login = login.trim();
    let (column, value) = if login.contains('@') {
        ("email", login.to_lowercase())
    } else {
        ("phone", normalize_phone(login))
    };
    let row = sqlx::query(&format!(
        "SELECT id, tenant_id, email, phone, display_name, password_hash FROM accounts WHERE {column} = $1"
    ))
    .bind(&value)
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else {
        // Spend the same time as a real check so logins cannot be probed by timing.
        let _ = verify_password(password, DUMMY_HASH.to_string()).await;
        return Err(Error::WrongCredentials);
    };
    let hash: String = row.try_get("password_hash")?;
    if !verify_password(password, hash).await? {
        return Err(Error::WrongCredentials);
    }
    let account = account_from_row(&row)?;
    let token = new_secret(32);
    let expires_at = now() + ttl_secs;
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, tenant_id, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(&account.id)
    .bind(&account.tenant_id)
    .bind(expires_at)
    .bind(now())
    .execute(store.pool())
    .await?;
    Ok(Session {
        token,
        expires_at,
        account,
    })
}

/// Ends the session of `token`.
pub async fn logout(store: &Store, token: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Resolves a bearer token to its caller.
pub async fn authenticate(store: &Store, token: &str) -> Result<Caller> {
    let row = sqlx::query(
        "SELECT s.account_id, s.tenant_id, s.expires_at, a.display_name FROM sessions s \
         JOIN accounts a ON a.id = s.account_id AND a.tenant_id = s.tenant_id \
         WHERE s.token_hash = $1",
    )
    .bind(token_hash(token))
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::InvalidToken)?;
    let expires_at: i64 = row.try_get("expires_at")?;
    if expires_at <= now() {
        return Err(Error::TokenExpired);
    }
    Ok(Caller {
        account_id: row.try_get("account_id")?,
        tenant_id: row.try_get("tenant_id")?,
        display_name: row.try_get("display_name")?,
    })
}

/// The caller's own account.
pub async fn account(store: &Store, caller: &Caller) -> Result<Account> {
    let row = sqlx::query(
        "SELECT id, tenant_id, email, phone, display_name FROM accounts WHERE id = $1 AND tenant_id = $2",
    )
    .bind(&caller.account_id)
    .bind(&caller.tenant_id)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::InvalidToken)?;
    account_from_row(&row)
}

fn account_from_row(row: &sqlx::any::AnyRow) -> Result<Account> {
    Ok(Account {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        display_name: row.try_get("display_name")?,
    })
}

async fn login_exists(store: &Store, column: &str, value: &str) -> Result<bool> {
    let row = sqlx::query(&format!("SELECT id FROM accounts WHERE {column} = $1"))
        .bind(value)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.is_some())
}

fn normalize_phone(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// Hex of the SHA-256 of a token: what the database keeps.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random secret of `bytes` bytes, hex-encoded.
pub fn new_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8Rz9hFzm3U3Fj2DrZ/6d7XzLQzVjq1ZZpQ5eH0Qxq0c";

async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| Error::Internal(format!("stored password hash is unreadable: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// The caller identity of the account with `login` (e-mail), for trusted
/// in-process callers such as `yunhui up`'s first-start setup.
pub async fn caller_by_login(store: &Store, login: &str) -> Result<Caller> {
    let row = sqlx::query("SELECT id, tenant_id, display_name FROM accounts WHERE email = $1")
        .bind(login.to_lowercase())
        .fetch_optional(store.pool())
        .await?
        .ok_or(Error::WrongCredentials)?;
    Ok(Caller {
        account_id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        display_name: row.try_get("display_name")?,
    })
}
