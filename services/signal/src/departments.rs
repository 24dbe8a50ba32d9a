//! The organisation as a tree (F-DIR-1): the caller's enterprise's
//! departments, each naming its parent, and the colleagues in each. The
//! departments come from the enterprise's directory ([`crate::provisioning`])
//! or are kept by its administrators in the console ([`create`], [`change`],
//! [`delete`]; a provisioned one is changed in the enterprise's directory
//! instead). A disabled one is hidden with everything below it.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use yunhui_proto::api::{AuditAction, Department, DepartmentRequest, DirectoryEntry};
use yunhui_proto::limits;

use crate::accounts::{self, Caller};
use crate::audit;
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// The departments of the caller's enterprise that are shown, by name.
pub async fn list(store: &Store, caller: &Caller) -> Result<Vec<Department>> {
    let rows = sqlx::query(
        "SELECT d.id, d.name, d.parent_id, d.disabled, \
         (SELECT COUNT(*) FROM accounts a WHERE a.tenant_id = d.tenant_id \
            AND a.department_id = d.id AND a.status = 'active') AS members \
         FROM departments d WHERE d.tenant_id = $1 ORDER BY d.name, d.id",
    )
    .bind(&caller.tenant_id)
    .fetch_all(store.pool())
    .await?;
    let mut all = Vec::with_capacity(rows.len());
    for row in &rows {
        all.push((
            Department {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                parent_id: row.try_get("parent_id")?,
                members: u32::try_from(row.try_get::<i64, _>("members")?).unwrap_or(u32::MAX),
            },
            row.try_get::<i64, _>("disabled")? != 0,
        ));
    }
    Ok(shown(all))
}

/// The departments of `all` (each with whether it is disabled) that are
/// shown: not disabled, and neither is any department above them.
fn shown(all: Vec<(Department, bool)>) -> Vec<Department> {
    let parents: HashMap<&str, (Option<&str>, bool)> = all
        .iter()
        .map(|(d, disabled)| (d.id.as_str(), (d.parent_id.as_deref(), *disabled)))
        .collect();
    let visible = |id: &str| {
        let mut at = Some(id);
        // At most one step per department: a stored cycle ends the walk.
        for _ in 0..=parents.len() {
            match at.and_then(|a| parents.get(a)) {
                Some((_, true)) => return false,
                Some((up, false)) => at = *up,
                None => return true,
            }
        }
        true
    };
    let keep: Vec<bool> = all.iter().map(|(d, _)| visible(&d.id)).collect();
    all.into_iter()
        .zip(keep)
        .filter_map(|((d, _), keep)| keep.then_some(d))
        .collect()
}

/// The active colleagues directly in one of the caller's enterprise's shown
/// departments, by name.
pub async fn members(store: &Store, caller: &Caller, id: &str) -> Result<Vec<DirectoryEntry>> {
    if !list(store, caller).await?.iter().any(|d| d.id == id) {
        return Err(Error::NotVisible {
            what: "department",
            id: id.to_owned(),
        });
    }
    let rows = sqlx::query(
        "SELECT id, display_name, department, email FROM accounts \
         WHERE tenant_id = $1 AND department_id = $2 AND status = 'active' \
         ORDER BY LOWER(display_name), display_name, id",
    )
    .bind(&caller.tenant_id)
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(accounts::directory_entry).collect()
}

/// A department the caller's administrators keep, at the top or under
/// `parent_id`.
pub async fn create(store: &Store, caller: &Caller, req: DepartmentRequest) -> Result<Department> {
    caller.require_tenant_admin("manage departments")?;
    let name = checked_name(&req.name)?;
    let mut tx = store.pool().begin().await?;
    let stored = stored(&mut tx, &caller.tenant_id).await?;
    if stored.len() >= limits::DEPARTMENTS {
        return Err(Error::InvalidInput(format!(
            "an enterprise has at most {} departments",
            limits::DEPARTMENTS
        )));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let parent_id = checked_parent(&stored, &id, req.parent_id)?;
    sqlx::query(
        "INSERT INTO departments (id, tenant_id, external_id, name, parent_id, disabled, created_at) \
         VALUES ($1, $2, NULL, $3, $4, 0, $5)",
    )
    .bind(&id)
    .bind(&caller.tenant_id)
    .bind(&name)
    .bind(parent_id.as_deref())
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let detail = path_of(&stored, parent_id.as_deref(), &name);
    audit::record(
        &mut tx,
        caller,
        AuditAction::DepartmentCreated,
        &id,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Department {
        id,
        name,
        parent_id,
        members: 0,
    })
}

/// Renames or moves a department the administrators keep; its members'
/// department (as the directory search shows it) follows the new name.
pub async fn change(
    store: &Store,
    caller: &Caller,
    id: &str,
    req: DepartmentRequest,
) -> Result<Department> {
    caller.require_tenant_admin("manage departments")?;
    let name = checked_name(&req.name)?;
    let mut tx = store.pool().begin().await?;
    let stored = stored(&mut tx, &caller.tenant_id).await?;
    kept_here(&stored, id)?;
    let parent_id = checked_parent(&stored, id, req.parent_id)?;
    sqlx::query(
        "UPDATE departments SET name = $1, parent_id = $2 WHERE id = $3 AND tenant_id = $4",
    )
    .bind(&name)
    .bind(parent_id.as_deref())
    .bind(id)
    .bind(&caller.tenant_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE accounts SET department = $1 WHERE tenant_id = $2 AND department_id = $3")
        .bind(&name)
        .bind(&caller.tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let members = active_members(&mut tx, &caller.tenant_id, id).await?;
    let detail = path_of(&stored, parent_id.as_deref(), &name);
    audit::record(&mut tx, caller, AuditAction::DepartmentChanged, id, &detail).await?;
    tx.commit().await?;
    Ok(Department {
        id: id.to_owned(),
        name,
        parent_id,
        members,
    })
}

/// Deletes an empty department the administrators keep: one with no
/// department below it and no account in it.
pub async fn delete(store: &Store, caller: &Caller, id: &str) -> Result<()> {
    caller.require_tenant_admin("manage departments")?;
    let mut tx = store.pool().begin().await?;
    let stored = stored(&mut tx, &caller.tenant_id).await?;
    let department = kept_here(&stored, id)?;
    let in_use = |reason: &str| Error::DepartmentInUse {
        id: id.to_owned(),
        reason: reason.to_owned(),
    };
    if stored.iter().any(|d| d.parent_id.as_deref() == Some(id)) {
        return Err(in_use(
            "it has departments below it: move or delete them first",
        ));
    }
    let (accounts,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM accounts WHERE tenant_id = $1 AND department_id = $2")
            .bind(&caller.tenant_id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if accounts > 0 {
        return Err(in_use(&format!(
            "{accounts} account(s) belong to it: move them to another department first"
        )));
    }
    let detail = path_of(&stored, department.parent_id.as_deref(), &department.name);
    sqlx::query("DELETE FROM departments WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(&caller.tenant_id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, caller, AuditAction::DepartmentDeleted, id, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// A department as stored, for the administrators' changes.
struct Stored {
    id: String,
    name: String,
    parent_id: Option<String>,
    provisioned: bool,
}

async fn stored(conn: &mut AnyConnection, tenant_id: &str) -> Result<Vec<Stored>> {
    let rows = sqlx::query(
        "SELECT id, name, parent_id, external_id FROM departments WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Stored {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                parent_id: row.try_get("parent_id")?,
                provisioned: row.try_get::<Option<String>, _>("external_id")?.is_some(),
            })
        })
        .collect()
}

async fn active_members(conn: &mut AnyConnection, tenant_id: &str, id: &str) -> Result<u32> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1 AND department_id = $2 AND status = 'active'",
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The department `id` if the administrators keep it (not provisioned).
fn kept_here<'a>(stored: &'a [Stored], id: &str) -> Result<&'a Stored> {
    let department = stored
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| Error::NotVisible {
            what: "department",
            id: id.to_owned(),
        })?;
    if department.provisioned {
        return Err(Error::DepartmentInUse {
            id: id.to_owned(),
            reason: "it comes from the enterprise's directory: change it there".into(),
        });
    }
    Ok(department)
}

fn checked_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > limits::DEPARTMENT_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::InvalidInput(format!(
            "name: 1 to {} characters, no control characters",
            limits::DEPARTMENT_CHARS
        )));
    }
    Ok(name.to_owned())
}

/// `parent` checked as the parent of department `id`: an existing
/// department of the tenant that is neither `id` nor below it.
fn checked_parent(stored: &[Stored], id: &str, parent: Option<String>) -> Result<Option<String>> {
    let Some(parent) = parent
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
    else {
        return Ok(None);
    };
    let parents: HashMap<&str, Option<&str>> = stored
        .iter()
        .map(|d| (d.id.as_str(), d.parent_id.as_deref()))
        .collect();
    if !parents.contains_key(parent.as_str()) {
        return Err(Error::InvalidInput(format!(
            "parent_id: no department {parent} in your enterprise"
        )));
    }
    let mut at = Some(parent.as_str());
    // At most one step per department: a stored cycle ends the walk.
    for _ in 0..=parents.len() {
        match at {
            Some(a) if a == id => {
                return Err(Error::InvalidInput(
                    "parent_id: a department cannot be placed under itself or a department below it"
                        .into(),
                ));
            }
            Some(a) => at = parents.get(a).copied().flatten(),
            None => break,
        }
    }
    Ok(Some(parent))
}

/// `name` under `parent_id`, written as the path from the top
/// ("Head office / Sales / North"), for the audit log.
fn path_of(stored: &[Stored], parent_id: Option<&str>, name: &str) -> String {
    let mut path = vec![name.to_owned()];
    let mut at = parent_id;
    for _ in 0..stored.len() {
        let Some(d) = at.and_then(|a| stored.iter().find(|d| d.id == a)) else {
            break;
        };
        path.push(d.name.clone());
        at = d.parent_id.as_deref();
    }
    path.reverse();
    path.join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, parent: Option<&str>) -> Department {
        Department {
            id: id.into(),
            name: id.into(),
            parent_id: parent.map(String::from),
            members: 0,
        }
    }

    fn s(id: &str, parent: Option<&str>) -> Stored {
        Stored {
            id: id.into(),
            name: id.to_uppercase(),
            parent_id: parent.map(String::from),
            provisioned: false,
        }
    }

    #[test]
    fn a_department_moves_anywhere_but_under_itself() {
        let stored = vec![
            s("hq", None),
            s("sales", Some("hq")),
            s("north", Some("sales")),
        ];
        let parent = |id: &str, p: &str| checked_parent(&stored, id, Some(p.into()));
        assert_eq!(parent("north", "hq").unwrap().as_deref(), Some("hq"));
        assert!(parent("sales", "sales").is_err());
        assert!(parent("hq", "north").is_err());
        assert!(parent("sales", "nowhere").is_err());
        assert_eq!(
            checked_parent(&stored, "hq", Some("  ".into())).unwrap(),
            None
        );
        assert_eq!(path_of(&stored, Some("sales"), "East"), "HQ / SALES / East");
    }

    #[test]
    fn a_disabled_department_hides_what_is_below_it() {
        let all = vec![
            (d("hq", None), false),
            (d("sales", Some("hq")), true),
            (d("north", Some("sales")), false),
            (d("rnd", Some("hq")), false),
            (d("loop-a", Some("loop-b")), false),
            (d("loop-b", Some("loop-a")), false),
        ];
        let ids: Vec<String> = shown(all).into_iter().map(|d| d.id).collect();
        assert_eq!(ids, ["hq", "rnd", "loop-a", "loop-b"]);
    }
}
