//! The organisation as a tree (F-DIR-1): the caller's enterprise's
//! departments, each naming its parent, and the colleagues in each. The
//! departments come from the enterprise's directory ([`crate::provisioning`]);
//! a disabled one is hidden with everything below it.

use std::collections::HashMap;

use sqlx::Row;
use yunhui_proto::api::{Department, DirectoryEntry};

use crate::accounts::{self, Caller};
use crate::error::{Error, Result};
use crate::store::Store;

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
