//! What a tenant administrator does to the enterprise's accounts (the
//! console's accounts page): decide registrations waiting for approval,
//! make accounts members or administrators, disable and enable them. Each
//! change is written with its [`audit`] entry in one transaction. The
//! enterprise keeps at least one active administrator throughout.

use sqlx::AnyConnection;
use yunhui_proto::api::{Account, AccountRole, AccountStatus, AuditAction};

use crate::accounts::{Caller, account_in_tenant_on, role_str, status_str};
use crate::audit;
use crate::error::{Error, Result};
use crate::store::Store;

/// Approves or rejects a pending registration of the caller's tenant.
pub async fn decide_registration(
    store: &Store,
    caller: &Caller,
    account_id: &str,
    approve: bool,
) -> Result<Account> {
    caller.require_tenant_admin("approve registrations")?;
    let mut tx = store.pool().begin().await?;
    let mut account = load(&mut tx, caller, account_id).await?;
    if account.status != AccountStatus::Pending {
        return Err(Error::InvalidInput(format!(
            "account {account_id} is not waiting for approval"
        )));
    }
    account.status = if approve {
        AccountStatus::Active
    } else {
        AccountStatus::Rejected
    };
    write_status(&mut tx, caller, &account).await?;
    let action = if approve {
        AuditAction::AccountApproved
    } else {
        AuditAction::AccountRejected
    };
    audit::record(&mut tx, caller, action, account_id, &describe(&account)).await?;
    tx.commit().await?;
    Ok(account)
}

/// Makes an account of the caller's tenant a member or an administrator.
/// The last administrator cannot step down.
pub async fn set_role(
    store: &Store,
    caller: &Caller,
    account_id: &str,
    role: AccountRole,
) -> Result<Account> {
    caller.require_tenant_admin("change roles")?;
    let mut tx = store.pool().begin().await?;
    let mut account = load(&mut tx, caller, account_id).await?;
    if account.role == role {
        return Ok(account);
    }
    if account.role == AccountRole::TenantAdmin && account.status == AccountStatus::Active {
        keep_an_administrator(&mut tx, caller, account_id).await?;
    }
    account.role = role;
    sqlx::query("UPDATE accounts SET role = $1 WHERE id = $2 AND tenant_id = $3")
        .bind(role_str(role))
        .bind(account_id)
        .bind(&caller.tenant_id)
        .execute(&mut *tx)
        .await?;
    let detail = format!("{}: {}", describe(&account), role_str(role));
    audit::record(
        &mut tx,
        caller,
        AuditAction::AccountRoleChanged,
        account_id,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(account)
}

/// Disables an active account of the caller's tenant (it cannot sign in;
/// its sessions and API keys stop working at once) or enables a disabled
/// one. Administrators cannot disable themselves, nor the last active
/// administrator.
pub async fn set_disabled(
    store: &Store,
    caller: &Caller,
    account_id: &str,
    disabled: bool,
) -> Result<Account> {
    caller.require_tenant_admin("disable and enable accounts")?;
    if disabled && account_id == caller.account_id {
        return Err(Error::InvalidInput(
            "you cannot disable your own account: ask another administrator".into(),
        ));
    }
    let mut tx = store.pool().begin().await?;
    let mut account = load(&mut tx, caller, account_id).await?;
    let (from, to, action) = if disabled {
        (
            AccountStatus::Active,
            AccountStatus::Disabled,
            AuditAction::AccountDisabled,
        )
    } else {
        (
            AccountStatus::Disabled,
            AccountStatus::Active,
            AuditAction::AccountEnabled,
        )
    };
    if account.status == to {
        return Ok(account);
    }
    if account.status != from {
        return Err(Error::InvalidInput(format!(
            "account {account_id} is {}: only active accounts can be disabled and disabled ones enabled",
            status_str(account.status)
        )));
    }
    if disabled && account.role == AccountRole::TenantAdmin {
        keep_an_administrator(&mut tx, caller, account_id).await?;
    }
    account.status = to;
    write_status(&mut tx, caller, &account).await?;
    audit::record(&mut tx, caller, action, account_id, &describe(&account)).await?;
    tx.commit().await?;
    Ok(account)
}

async fn load(conn: &mut AnyConnection, caller: &Caller, account_id: &str) -> Result<Account> {
    account_in_tenant_on(conn, &caller.tenant_id, account_id)
        .await?
        .ok_or_else(|| Error::AccountNotFound(account_id.to_string()))
}

async fn write_status(conn: &mut AnyConnection, caller: &Caller, account: &Account) -> Result<()> {
    sqlx::query("UPDATE accounts SET status = $1 WHERE id = $2 AND tenant_id = $3")
        .bind(status_str(account.status))
        .bind(&account.id)
        .bind(&caller.tenant_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Refuses when `account_id` is the tenant's only active administrator.
async fn keep_an_administrator(
    conn: &mut AnyConnection,
    caller: &Caller,
    account_id: &str,
) -> Result<()> {
    let others: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM accounts WHERE tenant_id = $1 AND role = 'tenant_admin' \
         AND status = 'active' AND id <> $2",
    )
    .bind(&caller.tenant_id)
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    if others.is_empty() {
        return Err(Error::InvalidInput(
            "the enterprise needs at least one administrator: make another one first".into(),
        ));
    }
    Ok(())
}

/// The account as the audit log names it: its name and login.
fn describe(account: &Account) -> String {
    match account.email.as_deref().or(account.phone.as_deref()) {
        Some(login) => format!("{} <{login}>", account.display_name),
        None => account.display_name.clone(),
    }
}
