//! Accounts and sessions: sign-up with e-mail or phone, argon2 password
//! hashes, and bearer tokens stored only as SHA-256 hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use yunhui_proto::api::{
    Account, AccountRole, AccountStatus, ApiScope, DirectoryEntry, RegisterRequest, Session,
    UpdateProfileRequest,
};

use yunhui_proto::limits;

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
    /// Member or tenant administrator.
    pub role: AccountRole,
    /// An API key's scopes; `None` for a person's session, which only the
    /// role limits.
    pub scopes: Option<Vec<ApiScope>>,
    /// The API key calling, if one is (the audit log names it).
    pub api_key_id: Option<String>,
}

impl Caller {
    /// Refuses an API key without `scope`.
    pub fn require_scope(&self, scope: ApiScope) -> Result<()> {
        match &self.scopes {
            Some(scopes) if !scopes.contains(&scope) => Err(Error::MissingScope(scope)),
            _ => Ok(()),
        }
    }

    /// Refuses callers who are not administrators of their tenant.
    pub fn require_tenant_admin(&self, action: &'static str) -> Result<()> {
        if self.role == AccountRole::TenantAdmin {
            Ok(())
        } else {
            Err(Error::NotTenantAdmin(action))
        }
    }
}

/// Creates an account. An e-mail address in a company tenant's domains (or
/// an explicit `tenant_id`) registers into that tenant, pending approval by
/// a tenant administrator; otherwise the account joins the default tenant.
pub async fn register(store: &Store, req: RegisterRequest) -> Result<Account> {
    register_as(store, req, None).await
}

/// Creates an active tenant administrator of `tenant_id` (for the operator
/// and `yunhui up`, through trusted paths only).
pub async fn create_tenant_admin(
    store: &Store,
    tenant_id: &str,
    req: RegisterRequest,
) -> Result<Account> {
    register_as(store, req, Some(tenant_id)).await
}

async fn register_as(
    store: &Store,
    req: RegisterRequest,
    admin_of: Option<&str>,
) -> Result<Account> {
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
    if let Some(email) = &email {
        check_email(email)?;
    }
    if let Some(phone) = &phone {
        check_phone(phone)?;
    }
    if req.password.chars().count() < limits::ACCOUNT_PASSWORD_MIN_CHARS {
        return Err(Error::InvalidInput(format!(
            "the password needs at least {} characters",
            limits::ACCOUNT_PASSWORD_MIN_CHARS
        )));
    }
    if req.password.len() > limits::ACCOUNT_PASSWORD_MAX_BYTES {
        return Err(Error::InvalidInput(format!(
            "the password is longer than {} bytes",
            limits::ACCOUNT_PASSWORD_MAX_BYTES
        )));
    }
    let display_name = check_display_name(&req.display_name)?;
    let (tenant_id, role, status) = match admin_of {
        Some(tenant) => (
            tenant.to_string(),
            AccountRole::TenantAdmin,
            AccountStatus::Active,
        ),
        None => {
            let domain = email
                .as_deref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| d);
            match (&req.tenant_id, domain) {
                (Some(chosen), domain) => {
                    let company = tenant_by_domain(store, domain.unwrap_or_default()).await?;
                    if company.as_ref().map(|(id, _)| id) != Some(chosen) {
                        return Err(Error::InvalidInput(
                            "registering into a company needs an e-mail address in one of its domains".into(),
                        ));
                    }
                    (chosen.clone(), AccountRole::Member, AccountStatus::Pending)
                }
                (None, Some(domain)) => match tenant_by_domain(store, domain).await? {
                    Some((id, _)) => (id, AccountRole::Member, AccountStatus::Pending),
                    None => (
                        DEFAULT_TENANT_ID.to_string(),
                        AccountRole::Member,
                        AccountStatus::Active,
                    ),
                },
                (None, None) => (
                    DEFAULT_TENANT_ID.to_string(),
                    AccountRole::Member,
                    AccountStatus::Active,
                ),
            }
        }
    };
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
        tenant_id,
        email,
        phone,
        display_name,
        department: None,
        role,
        status,
    };
    sqlx::query(
        "INSERT INTO accounts (id, tenant_id, email, phone, password_hash, display_name, created_at, role, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&account.id)
    .bind(&account.tenant_id)
    .bind(account.email.clone())
    .bind(account.phone.clone())
    .bind(password_hash)
    .bind(&account.display_name)
    .bind(now())
    .bind(role_str(account.role))
    .bind(status_str(account.status))
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
        "SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE {column} = $1"
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
    if hash == NO_PASSWORD {
        // Provisioned without a password: nothing matches, in the same time.
        let _ = verify_password(password, DUMMY_HASH.to_string()).await;
        return Err(Error::WrongCredentials);
    }
    if !verify_password(password, hash).await? {
        return Err(Error::WrongCredentials);
    }
    let account = account_from_row(&row)?;
    match account.status {
        AccountStatus::Active => {}
        AccountStatus::Pending => return Err(Error::AccountPending),
        AccountStatus::Rejected => return Err(Error::AccountRejected),
        AccountStatus::Disabled => return Err(Error::AccountDisabled),
    }
    let family = uuid::Uuid::new_v4().to_string();
    let mut conn = store.pool().acquire().await?;
    open_session(&mut conn, account, ttl_secs, &family).await
}

/// How long a refresh token lasts (at least as long as its session).
pub const REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;

/// Writes a new session of `account` for `ttl_secs`, with its refresh
/// token, in the sign-in `family` (every session refreshed from one
/// sign-in shares it).
async fn open_session(
    conn: &mut sqlx::AnyConnection,
    account: Account,
    ttl_secs: i64,
    family: &str,
) -> Result<Session> {
    let token = new_secret(32);
    let refresh_token = new_secret(32);
    let created = now();
    let expires_at = created + ttl_secs;
    let refresh_expires_at = created + REFRESH_TTL_SECS.max(ttl_secs);
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, tenant_id, expires_at, created_at, \
         refresh_hash, refresh_expires_at, family) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token_hash(&token))
    .bind(&account.id)
    .bind(&account.tenant_id)
    .bind(expires_at)
    .bind(created)
    .bind(token_hash(&refresh_token))
    .bind(refresh_expires_at)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    Ok(Session {
        token,
        expires_at,
        refresh_token,
        refresh_expires_at,
        account,
    })
}

/// Exchanges a refresh token for a new session valid for `ttl_secs`; the
/// old session ends. A refresh token presented a second time was copied:
/// every session of its sign-in ends, and the caller must sign in again.
pub async fn refresh(store: &Store, refresh_token: &str, ttl_secs: i64) -> Result<Session> {
    let hash = token_hash(refresh_token);
    let row = sqlx::query(
        "SELECT account_id, tenant_id, refresh_expires_at, family FROM sessions \
         WHERE refresh_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else {
        return Err(refresh_refused(store, &hash).await);
    };
    let account_id: String = row.try_get("account_id")?;
    let tenant_id: String = row.try_get("tenant_id")?;
    let family: String = row.try_get("family")?;
    let refresh_expires_at: i64 = row.try_get("refresh_expires_at")?;
    if refresh_expires_at <= now() {
        return Err(Error::TokenExpired);
    }
    let account = account_in_tenant(store, &tenant_id, &account_id)
        .await?
        .filter(|a| a.status == AccountStatus::Active)
        .ok_or(Error::InvalidToken)?;
    let mut tx = store.pool().begin().await?;
    // The old session ends; a refresh racing this one finds it gone.
    let ended = sqlx::query("DELETE FROM sessions WHERE refresh_hash = $1")
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if ended != 1 {
        return Err(Error::InvalidToken);
    }
    sqlx::query(
        "INSERT INTO spent_refresh_tokens (refresh_hash, family, spent_at) VALUES ($1, $2, $3)",
    )
    .bind(&hash)
    .bind(&family)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let session = open_session(&mut tx, account, ttl_secs, &family).await?;
    tx.commit().await?;
    // Spent tokens are kept as long as they could have been used.
    sqlx::query("DELETE FROM spent_refresh_tokens WHERE spent_at < $1")
        .bind(now() - REFRESH_TTL_SECS)
        .execute(store.pool())
        .await?;
    Ok(session)
}

/// Why a refresh token that opens no session is refused: unknown, or
/// already spent, in which case its sign-in's sessions all end.
async fn refresh_refused(store: &Store, hash: &str) -> Error {
    let spent = sqlx::query("SELECT family FROM spent_refresh_tokens WHERE refresh_hash = $1")
        .bind(hash)
        .fetch_optional(store.pool())
        .await;
    let family: String = match spent {
        Ok(Some(row)) => match row.try_get("family") {
            Ok(family) => family,
            Err(e) => return e.into(),
        },
        Ok(None) => return Error::InvalidToken,
        Err(e) => return e.into(),
    };
    match sqlx::query("DELETE FROM sessions WHERE family = $1")
        .bind(&family)
        .execute(store.pool())
        .await
    {
        Ok(ended) => {
            tracing::warn!(
                sessions = ended.rows_affected(),
                "a spent refresh token was presented again; every session of its sign-in ended"
            );
            Error::RefreshTokenReused
        }
        Err(e) => e.into(),
    }
}

/// Ends the session of `token`.
pub async fn logout(store: &Store, token: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Resolves a session token to its caller ([`crate::auth::authenticate`]
/// takes API keys too).
pub async fn authenticate_session(store: &Store, token: &str) -> Result<Caller> {
    let row = sqlx::query(
        "SELECT s.account_id, s.tenant_id, s.expires_at, a.display_name, a.role, a.status FROM sessions s \
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
    caller_from_row(&row)
}

/// The caller of an account row with `account_id`, `tenant_id`,
/// `display_name`, `role` and `status` columns; inactive accounts are refused.
pub fn caller_from_row(row: &sqlx::any::AnyRow) -> Result<Caller> {
    let status: String = row.try_get("status")?;
    if status != "active" {
        return Err(Error::InvalidToken);
    }
    Ok(Caller {
        account_id: row.try_get("account_id")?,
        tenant_id: row.try_get("tenant_id")?,
        display_name: row.try_get("display_name")?,
        role: role_from(&row.try_get::<String, _>("role")?),
        scopes: None,
        api_key_id: None,
    })
}

/// The caller's own account.
pub async fn account(store: &Store, caller: &Caller) -> Result<Account> {
    account_in_tenant(store, &caller.tenant_id, &caller.account_id)
        .await?
        .ok_or(Error::InvalidToken)
}

/// An account as a list of invitees or members shows it, from a row with
/// its `id` and `display_name`.
pub fn invitee_from_row(row: &sqlx::any::AnyRow) -> Result<yunhui_proto::api::Invitee> {
    Ok(yunhui_proto::api::Invitee {
        account_id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
    })
}

/// Rows of `key`, `id` and `display_name` (accounts grouped under, e.g., a
/// chat or a room) as each key's invitees, in the rows' order.
pub fn invitees_by(
    rows: &[sqlx::any::AnyRow],
    key: &str,
) -> Result<std::collections::HashMap<String, Vec<yunhui_proto::api::Invitee>>> {
    let mut grouped: std::collections::HashMap<String, Vec<_>> = std::collections::HashMap::new();
    for row in rows {
        grouped
            .entry(row.try_get(key)?)
            .or_default()
            .push(invitee_from_row(row)?);
    }
    Ok(grouped)
}

/// An account of `tenant_id`, if there is one with that id.
pub async fn account_in_tenant(
    store: &Store,
    tenant_id: &str,
    account_id: &str,
) -> Result<Option<Account>> {
    let mut conn = store.pool().acquire().await?;
    account_in_tenant_on(&mut conn, tenant_id, account_id).await
}

/// [`account_in_tenant`] on `conn` (a transaction's, say).
pub async fn account_in_tenant_on(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    account_id: &str,
) -> Result<Option<Account>> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND tenant_id = $2"
    ))
    .bind(account_id)
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(account_from_row).transpose()
}

/// Changes the caller's display name or department.
pub async fn update_profile(
    store: &Store,
    caller: &Caller,
    req: UpdateProfileRequest,
) -> Result<Account> {
    let mut account = account(store, caller).await?;
    if let Some(name) = req.display_name {
        account.display_name = check_display_name(&name)?;
    }
    if let Some(department) = req.department {
        let department = department.trim().to_string();
        if department.chars().count() > limits::DEPARTMENT_CHARS {
            return Err(Error::InvalidInput(format!(
                "the department is longer than {} characters",
                limits::DEPARTMENT_CHARS
            )));
        }
        account.department = (!department.is_empty()).then_some(department);
    }
    sqlx::query(
        "UPDATE accounts SET display_name = $1, department = $2 WHERE id = $3 AND tenant_id = $4",
    )
    .bind(&account.display_name)
    .bind(account.department.clone())
    .bind(&caller.account_id)
    .bind(&caller.tenant_id)
    .execute(store.pool())
    .await?;
    Ok(account)
}

/// The live company tenant whose registration domains include `domain`.
pub async fn tenant_by_domain(store: &Store, domain: &str) -> Result<Option<(String, String)>> {
    let domain = domain.trim().trim_start_matches('@').to_lowercase();
    if domain.is_empty() {
        return Ok(None);
    }
    let rows = sqlx::query("SELECT id, name, domains FROM tenants WHERE deleted_at IS NULL")
        .fetch_all(store.pool())
        .await?;
    for row in rows {
        let domains: String = row.try_get("domains")?;
        let domains: Vec<String> = serde_json::from_str(&domains).unwrap_or_default();
        if domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
            return Ok(Some((row.try_get("id")?, row.try_get("name")?)));
        }
    }
    Ok(None)
}

/// The name of a tenant.
pub async fn tenant_name(store: &Store, tenant_id: &str) -> Result<String> {
    let row = sqlx::query("SELECT name FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(store.pool())
        .await?;
    match row {
        Some(row) => Ok(row.try_get("name")?),
        None => Ok(tenant_id.to_string()),
    }
}

/// Accounts of the caller's tenant (tenant administrators only), optionally
/// only those with `status`, by name.
pub async fn list_in_tenant(
    store: &Store,
    caller: &Caller,
    status: Option<AccountStatus>,
) -> Result<Vec<Account>> {
    caller.require_tenant_admin("list the enterprise's accounts")?;
    // Two statements rather than `$2 = ''`: openGauss and KingbaseES may read
    // '' as NULL (docs/database-compatibility.md).
    let by_status = if status.is_some() {
        "AND status = $2 "
    } else {
        ""
    };
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1 {by_status}\
         ORDER BY display_name, id LIMIT 1000"
    );
    let rows = sqlx::query(&sql).bind(&caller.tenant_id);
    let rows = match status {
        Some(status) => rows.bind(status_str(status)),
        None => rows,
    }
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(account_from_row).collect()
}

/// Active accounts of the caller's enterprise whose name, e-mail, phone or
/// department contains `query` (any case), by name; at most `limit`.
pub async fn search_directory(
    store: &Store,
    caller: &Caller,
    query: &str,
    limit: u32,
) -> Result<Vec<DirectoryEntry>> {
    // `!` escapes LIKE's wildcards: a backslash would depend on the
    // database's standard_conforming_strings (docs/database-compatibility.md).
    let escaped: String = query
        .trim()
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '!' => vec!['!', c],
            c => vec![c],
        })
        .collect();
    let pattern = format!("%{escaped}%");
    // A NULL e-mail, phone or department matches nothing. (It once read as
    // '', which matches only the empty query's `%%`, and that pattern matches
    // every display name anyway; openGauss and KingbaseES may read '' as NULL.)
    let rows = sqlx::query(
        "SELECT id, display_name, department, email FROM accounts \
         WHERE tenant_id = $1 AND status = 'active' \
           AND (LOWER(display_name) LIKE $2 ESCAPE '!' OR LOWER(email) LIKE $2 ESCAPE '!' \
                OR phone LIKE $2 ESCAPE '!' OR LOWER(department) LIKE $2 ESCAPE '!') \
         ORDER BY LOWER(display_name), display_name, id LIMIT $3",
    )
    .bind(&caller.tenant_id)
    .bind(pattern)
    .bind(i64::from(limit))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(directory_entry).collect()
}

/// A colleague as the directory lists them, from a row with `id`,
/// `display_name`, `department` and `email` columns.
pub(crate) fn directory_entry(row: &sqlx::any::AnyRow) -> Result<DirectoryEntry> {
    Ok(DirectoryEntry {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        department: row
            .try_get::<Option<String>, _>("department")?
            .unwrap_or_default(),
        email: row.try_get("email")?,
    })
}

/// Columns [`account_from_row`] reads.
const ACCOUNT_COLUMNS: &str = "id, tenant_id, email, phone, display_name, department, role, status";

pub(crate) fn role_str(role: AccountRole) -> &'static str {
    match role {
        AccountRole::Member => "member",
        AccountRole::TenantAdmin => "tenant_admin",
    }
}

pub(crate) fn role_from(text: &str) -> AccountRole {
    match text {
        "tenant_admin" => AccountRole::TenantAdmin,
        _ => AccountRole::Member,
    }
}

pub(crate) fn status_str(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "active",
        AccountStatus::Pending => "pending",
        AccountStatus::Rejected => "rejected",
        AccountStatus::Disabled => "disabled",
    }
}

pub(crate) fn status_from(text: &str) -> AccountStatus {
    match text {
        "pending" => AccountStatus::Pending,
        "rejected" => AccountStatus::Rejected,
        "disabled" => AccountStatus::Disabled,
        _ => AccountStatus::Active,
    }
}

fn account_from_row(row: &sqlx::any::AnyRow) -> Result<Account> {
    let status: String = row.try_get("status")?;
    Ok(Account {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        display_name: row.try_get("display_name")?,
        department: row.try_get("department")?,
        role: role_from(&row.try_get::<String, _>("role")?),
        status: status_from(&status),
    })
}

async fn login_exists(store: &Store, column: &str, value: &str) -> Result<bool> {
    let row = sqlx::query(&format!("SELECT id FROM accounts WHERE {column} = $1"))
        .bind(value)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.is_some())
}

pub(crate) fn normalize_phone(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// Hex of the SHA-256 of a token: what the database keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random secret of `bytes` bytes, hex-encoded.
pub fn new_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// The stored password of an account created without one (provisioned
/// from an enterprise directory): no password matches it.
pub(crate) const NO_PASSWORD: &str = "!";

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
    let row = sqlx::query(
        "SELECT id AS account_id, tenant_id, display_name, role, status FROM accounts WHERE email = $1",
    )
    .bind(login.to_lowercase())
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::WrongCredentials)?;
    caller_from_row(&row)
}

/// Makes the account with `login` (e-mail) an administrator of its tenant,
/// for trusted in-process callers such as `yunhui up`.
pub async fn promote_to_tenant_admin(store: &Store, login: &str) -> Result<()> {
    sqlx::query("UPDATE accounts SET role = 'tenant_admin' WHERE email = $1")
        .bind(login.to_lowercase())
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Refuses what is not an e-mail address (given trimmed and lower-cased).
pub(crate) fn check_email(email: &str) -> Result<()> {
    if !email.contains('@') || email.len() > limits::EMAIL_BYTES {
        return Err(Error::InvalidInput(format!(
            "'{email}' is not an e-mail address"
        )));
    }
    Ok(())
}

/// Refuses what is not a phone number (given normalised).
pub(crate) fn check_phone(phone: &str) -> Result<()> {
    let digits = phone.trim_start_matches('+');
    if !(limits::PHONE_MIN_DIGITS..=limits::PHONE_MAX_DIGITS).contains(&digits.len())
        || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return Err(Error::InvalidInput(format!(
            "'{phone}' is not a phone number"
        )));
    }
    Ok(())
}

/// A display name trimmed and checked: 1 to [`limits::DISPLAY_NAME_CHARS`] characters.
pub fn check_display_name(name: &str) -> Result<String> {
    let name = name.trim().to_string();
    let chars = name.chars().count();
    if chars == 0 || chars > limits::DISPLAY_NAME_CHARS {
        return Err(Error::InvalidInput(format!(
            "the display name needs 1 to {} characters",
            limits::DISPLAY_NAME_CHARS
        )));
    }
    Ok(name)
}
