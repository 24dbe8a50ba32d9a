//! Provisioning (F-API-1, F-DIR-1): an enterprise's own directory (its OA
//! system, a WeCom- or DingTalk-style directory) applied to the tenant in
//! one request, departments and users named by the ids they have there.
//!
//! [`plan`] is the decision: from the tenant as stored and the request, the
//! rows to create and change, or every problem found (then nothing is
//! written). It changes nothing that is already as asked, so a request
//! applied twice changes nothing the second time. [`provision`] reads the
//! tenant, plans, and writes the plan in one transaction.

use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, Row};
use yunhui_proto::api::{
    AccountRole, AccountStatus, AuditAction, ProvisionedUser, ProvisioningCounts,
    ProvisioningRequest, ProvisioningResult,
};
use yunhui_proto::limits;

use crate::accounts::{self, Caller};
use crate::audit;
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// Problems listed in one refusal; more are counted.
const LISTED_PROBLEMS: usize = 50;

/// A department as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDepartment {
    /// Row id.
    pub id: String,
    /// Its id in the enterprise's directory, if it came from there.
    pub external_id: Option<String>,
    /// Its name.
    pub name: String,
    /// The department above it.
    pub parent_id: Option<String>,
    /// Hidden from the tree.
    pub disabled: bool,
}

/// An account of the tenant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    /// Account id.
    pub id: String,
    /// Its id in the enterprise's directory, if linked.
    pub external_id: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Name shown to others.
    pub display_name: String,
    /// Its department.
    pub department_id: Option<String>,
    /// Member or administrator.
    pub role: AccountRole,
    /// Active, pending, rejected or disabled.
    pub status: AccountStatus,
}

/// A department row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRow {
    /// Row id (new or stored).
    pub id: String,
    /// Its id in the enterprise's directory.
    pub external_id: String,
    /// Its name.
    pub name: String,
    /// The department above it.
    pub parent_id: Option<String>,
    /// Hidden from the tree.
    pub disabled: bool,
}

/// An account row to write (the columns provisioning owns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Account id (new or stored).
    pub id: String,
    /// Its id in the enterprise's directory.
    pub external_id: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Name shown to others.
    pub display_name: String,
    /// Its department.
    pub department_id: Option<String>,
    /// The department's name, kept in `accounts.department` for search.
    pub department: Option<String>,
    /// Active or disabled.
    pub status: AccountStatus,
}

/// What to write.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Departments to insert.
    pub create_departments: Vec<DepartmentRow>,
    /// Departments to change.
    pub update_departments: Vec<DepartmentRow>,
    /// Accounts to insert.
    pub create_accounts: Vec<AccountRow>,
    /// Accounts to change.
    pub update_accounts: Vec<AccountRow>,
    /// What the request changes, counted.
    pub result: ProvisioningResult,
}

/// What the request meets in the database besides the tenant's own rows.
#[derive(Debug, Default)]
pub struct Elsewhere {
    /// E-mail addresses and phone numbers of the request that belong to
    /// accounts of other tenants.
    pub taken: HashSet<String>,
}

/// Decides what `req` changes in a tenant holding `departments` and
/// `accounts`, done by `caller_id`; `new_id` names new rows. Every problem
/// found is listed, each naming the entry (`users[3].email: …`).
pub fn plan(
    departments: &[StoredDepartment],
    accounts: &[StoredAccount],
    elsewhere: &Elsewhere,
    req: &ProvisioningRequest,
    caller_id: &str,
    mut new_id: impl FnMut() -> String,
) -> std::result::Result<Plan, Vec<String>> {
    let mut problems = Vec::new();
    let mut plan = Plan::default();
    for (what, count) in [
        ("departments", req.departments.len()),
        ("users", req.users.len()),
    ] {
        if count > limits::PROVISIONED_ITEMS {
            problems.push(format!(
                "{what}: at most {} per request, not {count}",
                limits::PROVISIONED_ITEMS
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    // Departments: each external id once; names; then every parent known
    // (here or stored) and no department inside itself.
    let stored_by_external: HashMap<&str, &StoredDepartment> = departments
        .iter()
        .filter_map(|d| d.external_id.as_deref().map(|e| (e, d)))
        .collect();
    let external_of: HashMap<&str, &str> = departments
        .iter()
        .filter_map(|d| d.external_id.as_deref().map(|e| (d.id.as_str(), e)))
        .collect();
    // external id -> (row id, parent's external id, name) once the request applies.
    let mut tree: HashMap<String, (String, Option<String>, String)> = departments
        .iter()
        .filter_map(|d| {
            let external = d.external_id.clone()?;
            let parent = (d.parent_id.as_deref())
                .and_then(|p| external_of.get(p))
                .map(|p| p.to_string());
            Some((external, (d.id.clone(), parent, d.name.clone())))
        })
        .collect();
    let mut seen = HashSet::new();
    for (i, d) in req.departments.iter().enumerate() {
        let at = format!("departments[{i}]");
        let Some(external) = check_external_id(&at, &d.external_id, &mut problems) else {
            continue;
        };
        if !seen.insert(external.clone()) {
            problems.push(format!("{at}.external_id: {external:?} is named twice"));
            continue;
        }
        let name = d.name.trim().to_string();
        if name.is_empty() || name.chars().count() > limits::DEPARTMENT_CHARS {
            problems.push(format!(
                "{at}.name: a department's name needs 1 to {} characters",
                limits::DEPARTMENT_CHARS
            ));
        }
        let parent = d
            .parent_external_id
            .as_deref()
            .map(str::trim)
            .map(String::from);
        if parent.as_deref() == Some(external.as_str()) {
            problems.push(format!(
                "{at}.parent_external_id: a department cannot be its own parent"
            ));
        }
        let id = stored_by_external
            .get(external.as_str())
            .map(|s| s.id.clone())
            .unwrap_or_else(&mut new_id);
        tree.insert(external, (id, parent, name));
    }
    for (i, d) in req.departments.iter().enumerate() {
        let external = d.external_id.trim();
        let Some(parent) = d.parent_external_id.as_deref().map(str::trim) else {
            continue;
        };
        if !tree.contains_key(parent) {
            problems.push(format!(
                "departments[{i}].parent_external_id: no department {parent:?}, in this request or stored"
            ));
            continue;
        }
        // Up from this department: meeting it again is a cycle.
        let mut chain = vec![external.to_string()];
        let mut at = parent.to_string();
        while let Some((_, up, _)) = tree.get(&at) {
            if chain.contains(&at) {
                chain.push(at);
                problems.push(format!(
                    "departments[{i}].parent_external_id: the departments would contain each other ({})",
                    chain.join(" in ")
                ));
                break;
            }
            chain.push(at.clone());
            match up {
                Some(up) if chain.len() <= tree.len() + 1 => at = up.clone(),
                _ => break,
            }
        }
    }
    for d in &req.departments {
        let external = d.external_id.trim();
        let Some((id, parent, name)) = tree.get(external) else {
            continue;
        };
        let row = DepartmentRow {
            id: id.clone(),
            external_id: external.to_string(),
            name: name.clone(),
            parent_id: parent
                .as_ref()
                .and_then(|p| tree.get(p))
                .map(|(id, _, _)| id.clone()),
            disabled: d.disabled,
        };
        let unchanged = stored_by_external.get(external).map(|s| {
            s.name == row.name && s.parent_id == row.parent_id && s.disabled == row.disabled
        });
        count(&mut plan.result.departments, unchanged);
        match unchanged {
            None => plan.create_departments.push(row),
            Some(false) => plan.update_departments.push(row),
            Some(true) => {}
        }
    }

    // Users.
    let by_external: HashMap<&str, &StoredAccount> = accounts
        .iter()
        .filter_map(|a| a.external_id.as_deref().map(|e| (e, a)))
        .collect();
    let by_email: HashMap<&str, &StoredAccount> = accounts
        .iter()
        .filter_map(|a| a.email.as_deref().map(|e| (e, a)))
        .collect();
    let by_phone: HashMap<&str, &StoredAccount> = accounts
        .iter()
        .filter_map(|a| a.phone.as_deref().map(|p| (p, a)))
        .collect();
    let mut seen = HashSet::new();
    let mut logins: HashMap<String, usize> = HashMap::new();
    let mut disabled_here: HashSet<&str> = HashSet::new();
    for (i, u) in req.users.iter().enumerate() {
        let at = format!("users[{i}]");
        let Some(external) = check_external_id(&at, &u.external_id, &mut problems) else {
            continue;
        };
        if !seen.insert(external.clone()) {
            problems.push(format!("{at}.external_id: {external:?} is named twice"));
            continue;
        }
        let Some(row) = user_row(&at, u, &external, &tree, &mut problems) else {
            continue;
        };
        for login in row.email.iter().chain(row.phone.iter()) {
            if let Some(first) = logins.insert(login.clone(), i) {
                problems.push(format!("{at}: {login:?} is also users[{first}]'s"));
            }
        }
        // Known by its external id; else an account of the tenant with its
        // e-mail address, not yet linked to another external id.
        let existing = match by_external.get(external.as_str()) {
            Some(a) => Some(*a),
            None => match row.email.as_deref().and_then(|e| by_email.get(e)) {
                Some(a) if a.external_id.is_some() => {
                    problems.push(format!(
                        "{at}.email: {:?} is the account of external id {:?}",
                        row.email.as_deref().unwrap_or_default(),
                        a.external_id.as_deref().unwrap_or_default()
                    ));
                    continue;
                }
                found => found.copied(),
            },
        };
        let own_id = existing.map(|a| a.id.as_str());
        for (login, field, stored) in [
            (row.email.as_deref(), "email", &by_email),
            (row.phone.as_deref(), "phone", &by_phone),
        ] {
            let Some(login) = login else { continue };
            let other_here = stored
                .get(login)
                .is_some_and(|a| Some(a.id.as_str()) != own_id);
            if other_here || elsewhere.taken.contains(login) {
                problems.push(format!("{at}.{field}: {login:?} is another account's"));
            }
        }
        let row = AccountRow {
            id: existing.map(|a| a.id.clone()).unwrap_or_else(&mut new_id),
            ..row
        };
        if row.status == AccountStatus::Disabled {
            if row.id == caller_id {
                problems.push(format!(
                    "{at}.disabled: you cannot disable your own account"
                ));
            }
            if let Some(a) = existing {
                disabled_here.insert(a.id.as_str());
            }
        }
        let unchanged = existing.map(|a| {
            a.external_id.as_deref() == Some(row.external_id.as_str())
                && a.email == row.email
                && a.phone == row.phone
                && a.display_name == row.display_name
                && a.department_id == row.department_id
                && a.status == row.status
        });
        count(&mut plan.result.users, unchanged);
        match unchanged {
            None => plan.create_accounts.push(row),
            Some(false) => plan.update_accounts.push(row),
            Some(true) => {}
        }
    }
    let admins_left = accounts.iter().any(|a| {
        a.role == AccountRole::TenantAdmin
            && a.status == AccountStatus::Active
            && !disabled_here.contains(a.id.as_str())
    });
    if !admins_left && accounts.iter().any(|a| a.role == AccountRole::TenantAdmin) {
        problems.push(
            "users: the enterprise needs an active administrator; this would disable the last"
                .into(),
        );
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// Counts one entry: new (`None`), unchanged or updated.
fn count(counts: &mut ProvisioningCounts, unchanged: Option<bool>) {
    match unchanged {
        None => counts.created += 1,
        Some(true) => counts.unchanged += 1,
        Some(false) => counts.updated += 1,
    }
}

/// An entry's external id, trimmed, or a problem.
fn check_external_id(at: &str, external: &str, problems: &mut Vec<String>) -> Option<String> {
    let external = external.trim();
    if external.is_empty() || external.chars().count() > limits::EXTERNAL_ID_CHARS {
        problems.push(format!(
            "{at}.external_id: needs 1 to {} characters",
            limits::EXTERNAL_ID_CHARS
        ));
        return None;
    }
    Some(external.to_string())
}

/// A user's row as asked (its id still to find), or its problems.
fn user_row(
    at: &str,
    u: &ProvisionedUser,
    external: &str,
    tree: &HashMap<String, (String, Option<String>, String)>,
    problems: &mut Vec<String>,
) -> Option<AccountRow> {
    let before = problems.len();
    let display_name = accounts::check_display_name(&u.display_name)
        .map_err(|e| problems.push(format!("{at}.display_name: {e}")))
        .ok();
    let email = (u.email.as_deref())
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    if let Some(email) = &email
        && let Err(e) = accounts::check_email(email)
    {
        problems.push(format!("{at}.email: {e}"));
    }
    let phone = (u.phone.as_deref())
        .map(accounts::normalize_phone)
        .filter(|p| !p.is_empty());
    if let Some(phone) = &phone
        && let Err(e) = accounts::check_phone(phone)
    {
        problems.push(format!("{at}.phone: {e}"));
    }
    let department = match u.department_external_id.as_deref().map(str::trim) {
        None => None,
        Some(d) => match tree.get(d) {
            Some((id, _, name)) => Some((id.clone(), name.clone())),
            None => {
                problems.push(format!(
                    "{at}.department_external_id: no department {d:?}, in this request or stored"
                ));
                None
            }
        },
    };
    if problems.len() > before {
        return None;
    }
    Some(AccountRow {
        id: String::new(),
        external_id: external.to_string(),
        email,
        phone,
        display_name: display_name?,
        department_id: department.as_ref().map(|(id, _)| id.clone()),
        department: department.map(|(_, name)| name),
        status: if u.disabled {
            AccountStatus::Disabled
        } else {
            AccountStatus::Active
        },
    })
}

/// Applies `req` to the calling administrator's tenant: checks it all,
/// then writes it in one transaction; answers what changed.
pub async fn provision(
    store: &Store,
    caller: &Caller,
    req: ProvisioningRequest,
) -> Result<ProvisioningResult> {
    caller.require_tenant_admin("provision the directory")?;
    let mut tx = store.pool().begin().await?;
    let departments = stored_departments(&mut tx, &caller.tenant_id).await?;
    let accounts = stored_accounts(&mut tx, &caller.tenant_id).await?;
    let elsewhere = elsewhere(&mut tx, &caller.tenant_id, &req).await?;
    let plan = plan(
        &departments,
        &accounts,
        &elsewhere,
        &req,
        &caller.account_id,
        || uuid::Uuid::new_v4().to_string(),
    )
    .map_err(|problems| {
        let more = problems.len().saturating_sub(LISTED_PROBLEMS);
        let mut message = problems
            .into_iter()
            .take(LISTED_PROBLEMS)
            .collect::<Vec<_>>()
            .join("; ");
        if more > 0 {
            message.push_str(&format!("; and {more} more"));
        }
        Error::InvalidInput(format!("nothing was changed: {message}"))
    })?;
    write(&mut tx, &caller.tenant_id, &plan).await?;
    let (d, u) = (plan.result.departments, plan.result.users);
    if d.created + d.updated + u.created + u.updated > 0 {
        let detail = format!(
            "departments: {} created, {} updated, {} unchanged; users: {} created, {} updated, {} unchanged",
            d.created, d.updated, d.unchanged, u.created, u.updated, u.unchanged
        );
        audit::record(
            &mut tx,
            caller,
            AuditAction::DirectoryProvisioned,
            &caller.tenant_id,
            &detail,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(tenant = %caller.tenant_id, result = ?plan.result, "directory provisioned");
    Ok(plan.result)
}

async fn write(conn: &mut AnyConnection, tenant_id: &str, plan: &Plan) -> Result<()> {
    let at = now();
    for d in &plan.create_departments {
        sqlx::query(
            "INSERT INTO departments (id, tenant_id, external_id, name, parent_id, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&d.id)
        .bind(tenant_id)
        .bind(&d.external_id)
        .bind(&d.name)
        .bind(&d.parent_id)
        .bind(i64::from(d.disabled))
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    for d in &plan.update_departments {
        sqlx::query(
            "UPDATE departments SET name = $1, parent_id = $2, disabled = $3 \
             WHERE id = $4 AND tenant_id = $5",
        )
        .bind(&d.name)
        .bind(&d.parent_id)
        .bind(i64::from(d.disabled))
        .bind(&d.id)
        .bind(tenant_id)
        .execute(&mut *conn)
        .await?;
        // Members keep the department's name for search.
        sqlx::query(
            "UPDATE accounts SET department = $1 WHERE department_id = $2 AND tenant_id = $3",
        )
        .bind(&d.name)
        .bind(&d.id)
        .bind(tenant_id)
        .execute(&mut *conn)
        .await?;
    }
    for a in &plan.create_accounts {
        sqlx::query(
            "INSERT INTO accounts (id, tenant_id, email, phone, password_hash, display_name, created_at, \
             role, status, department, external_id, department_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'member', $8, $9, $10, $11)",
        )
        .bind(&a.id)
        .bind(tenant_id)
        .bind(&a.email)
        .bind(&a.phone)
        .bind(accounts::NO_PASSWORD)
        .bind(&a.display_name)
        .bind(at)
        .bind(accounts::status_str(a.status))
        .bind(&a.department)
        .bind(&a.external_id)
        .bind(&a.department_id)
        .execute(&mut *conn)
        .await?;
    }
    for a in &plan.update_accounts {
        sqlx::query(
            "UPDATE accounts SET email = $1, phone = $2, display_name = $3, status = $4, \
             department = $5, external_id = $6, department_id = $7 WHERE id = $8 AND tenant_id = $9",
        )
        .bind(&a.email)
        .bind(&a.phone)
        .bind(&a.display_name)
        .bind(accounts::status_str(a.status))
        .bind(&a.department)
        .bind(&a.external_id)
        .bind(&a.department_id)
        .bind(&a.id)
        .bind(tenant_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn stored_departments(
    conn: &mut AnyConnection,
    tenant_id: &str,
) -> Result<Vec<StoredDepartment>> {
    let rows = sqlx::query(
        "SELECT id, external_id, name, parent_id, disabled FROM departments WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredDepartment {
                id: row.try_get("id")?,
                external_id: row.try_get("external_id")?,
                name: row.try_get("name")?,
                parent_id: row.try_get("parent_id")?,
                disabled: row.try_get::<i64, _>("disabled")? != 0,
            })
        })
        .collect()
}

async fn stored_accounts(conn: &mut AnyConnection, tenant_id: &str) -> Result<Vec<StoredAccount>> {
    let rows = sqlx::query(
        "SELECT id, external_id, email, phone, display_name, department_id, role, status \
         FROM accounts WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredAccount {
                id: row.try_get("id")?,
                external_id: row.try_get("external_id")?,
                email: row.try_get("email")?,
                phone: row.try_get("phone")?,
                display_name: row.try_get("display_name")?,
                department_id: row.try_get("department_id")?,
                role: accounts::role_from(&row.try_get::<String, _>("role")?),
                status: accounts::status_from(&row.try_get::<String, _>("status")?),
            })
        })
        .collect()
}

/// The request's e-mail addresses and phone numbers that accounts of other
/// tenants hold (logins are unique across the deployment).
async fn elsewhere(
    conn: &mut AnyConnection,
    tenant_id: &str,
    req: &ProvisioningRequest,
) -> Result<Elsewhere> {
    let mut taken = HashSet::new();
    let emails: Vec<String> = (req.users.iter())
        .filter_map(|u| u.email.as_deref())
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    let phones: Vec<String> = (req.users.iter())
        .filter_map(|u| u.phone.as_deref())
        .map(accounts::normalize_phone)
        .filter(|p| !p.is_empty())
        .collect();
    for (column, values) in [("email", emails), ("phone", phones)] {
        for chunk in values.chunks(200) {
            // One placeholder per value (no arrays: docs/database-compatibility.md).
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT {column} AS login FROM accounts WHERE tenant_id <> $1 AND {column} IN ({})",
                marks.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(tenant_id);
            for value in chunk {
                query = query.bind(value);
            }
            for row in query.fetch_all(&mut *conn).await? {
                taken.insert(row.try_get::<String, _>("login")?);
            }
        }
    }
    Ok(Elsewhere { taken })
}

#[cfg(test)]
mod tests {
    use yunhui_proto::api::{ProvisionedDepartment, ProvisionedUser};

    use super::*;

    fn department(external: &str, name: &str, parent: Option<&str>) -> ProvisionedDepartment {
        ProvisionedDepartment {
            external_id: external.into(),
            name: name.into(),
            parent_external_id: parent.map(String::from),
            disabled: false,
        }
    }

    fn user(external: &str, name: &str, email: &str, department: Option<&str>) -> ProvisionedUser {
        ProvisionedUser {
            external_id: external.into(),
            display_name: name.into(),
            email: Some(email.into()),
            department_external_id: department.map(String::from),
            ..ProvisionedUser::default()
        }
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("new-{n}")
        }
    }

    /// The rows a plan would leave, as stored.
    fn stored(plan: &Plan) -> (Vec<StoredDepartment>, Vec<StoredAccount>) {
        let departments = (plan.create_departments.iter())
            .map(|d| StoredDepartment {
                id: d.id.clone(),
                external_id: Some(d.external_id.clone()),
                name: d.name.clone(),
                parent_id: d.parent_id.clone(),
                disabled: d.disabled,
            })
            .collect();
        let accounts = (plan.create_accounts.iter())
            .map(|a| StoredAccount {
                id: a.id.clone(),
                external_id: Some(a.external_id.clone()),
                email: a.email.clone(),
                phone: a.phone.clone(),
                display_name: a.display_name.clone(),
                department_id: a.department_id.clone(),
                role: AccountRole::Member,
                status: a.status,
            })
            .collect();
        (departments, accounts)
    }

    #[test]
    fn children_may_come_first_and_the_same_request_again_changes_nothing() {
        let req = ProvisioningRequest {
            departments: vec![
                department("sales", "Sales", Some("hq")),
                department("hq", "Head office", None),
            ],
            users: vec![user("u1", "Li Lei", "LiLei@Acme.example ", Some("sales"))],
        };
        let plan = plan(&[], &[], &Elsewhere::default(), &req, "admin", ids()).unwrap();
        assert_eq!(plan.result.departments.created, 2);
        assert_eq!(plan.result.users.created, 1);
        let hq = plan
            .create_departments
            .iter()
            .find(|d| d.external_id == "hq")
            .unwrap();
        let sales = plan
            .create_departments
            .iter()
            .find(|d| d.external_id == "sales")
            .unwrap();
        assert_eq!(sales.parent_id.as_deref(), Some(hq.id.as_str()));
        let li = &plan.create_accounts[0];
        assert_eq!(li.email.as_deref(), Some("lilei@acme.example"));
        assert_eq!(li.department_id.as_deref(), Some(sales.id.as_str()));
        assert_eq!(li.department.as_deref(), Some("Sales"));

        let (departments, accounts) = stored(&plan);
        let again = super::plan(
            &departments,
            &accounts,
            &Elsewhere::default(),
            &req,
            "admin",
            ids(),
        )
        .unwrap();
        assert_eq!(again.result.departments.unchanged, 2);
        assert_eq!(again.result.users.unchanged, 1);
        assert!(again.create_departments.is_empty() && again.update_departments.is_empty());
        assert!(again.create_accounts.is_empty() && again.update_accounts.is_empty());
    }

    #[test]
    fn every_problem_is_listed_by_entry() {
        let req = ProvisioningRequest {
            departments: vec![
                department("a", "A", Some("b")),
                department("b", "B", Some("a")),
                department("c", "", Some("nowhere")),
                department("a", "A again", None),
            ],
            users: vec![
                user("u1", "One", "not-an-address", None),
                user("u2", "Two", "two@acme.example", None),
                user("u3", "Three", "two@acme.example", None),
                user(" ", "Blank", "blank@acme.example", None),
                user("u5", "Taken", "taken@globex.example", None),
                user("u6", "Six", "six@acme.example", Some("missing")),
            ],
        };
        let elsewhere = Elsewhere {
            taken: ["taken@globex.example".to_string()].into(),
        };
        let problems = plan(&[], &[], &elsewhere, &req, "admin", ids()).unwrap_err();
        let text = problems.join("\n");
        for expected in [
            "departments[3].external_id: \"a\" is named twice",
            "departments[2].name:",
            "departments[2].parent_external_id: no department \"nowhere\"",
            "the departments would contain each other (a in b in a)",
            "users[0].email:",
            "users[5].department_external_id: no department \"missing\"",
            "users[2]: \"two@acme.example\" is also users[1]'s",
            "users[3].external_id:",
            "users[4].email: \"taken@globex.example\" is another account's",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn an_account_with_the_address_is_linked_and_the_last_admin_stays() {
        let admin = StoredAccount {
            id: "admin".into(),
            external_id: None,
            email: Some("admin@acme.example".into()),
            phone: None,
            display_name: "Admin".into(),
            department_id: None,
            role: AccountRole::TenantAdmin,
            status: AccountStatus::Active,
        };
        let bob = StoredAccount {
            id: "bob".into(),
            email: Some("bob@acme.example".into()),
            display_name: "Bob".into(),
            role: AccountRole::Member,
            ..admin.clone()
        };
        let req = ProvisioningRequest {
            users: vec![user("E100", "Bob", "bob@acme.example", None)],
            ..ProvisioningRequest::default()
        };
        let accounts = [admin.clone(), bob];
        let linked = plan(&[], &accounts, &Elsewhere::default(), &req, "admin", ids()).unwrap();
        assert_eq!(linked.result.users.updated, 1);
        assert_eq!(linked.update_accounts[0].id, "bob");
        assert_eq!(linked.update_accounts[0].external_id, "E100");

        let mut off = user("E1", "Admin", "admin@acme.example", None);
        off.disabled = true;
        let req = ProvisioningRequest {
            users: vec![off],
            ..ProvisioningRequest::default()
        };
        let text = plan(
            &[],
            &accounts,
            &Elsewhere::default(),
            &req,
            "someone else",
            ids(),
        )
        .unwrap_err()
        .join("\n");
        assert!(text.contains("needs an active administrator"), "{text}");
        let text = plan(&[], &accounts, &Elsewhere::default(), &req, "admin", ids())
            .unwrap_err()
            .join("\n");
        assert!(text.contains("cannot disable your own account"), "{text}");
    }
}
