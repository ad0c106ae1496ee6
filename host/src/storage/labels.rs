//! Labels, which tasks and sessions both carry: each in a table of its own
//! (`task_labels`, `session_labels`) of the same shape, written in one
//! statement and matched by one filter.

use std::collections::BTreeMap;

use super::sql::Sql;

/// What labels are attached to.
#[derive(Debug, Clone, Copy)]
pub enum Labelled {
    Task,
    Session,
}

impl Labelled {
    /// The labels' table, the column naming their owner, and the owners' table.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Labelled::Task => ("task_labels", "task_id", "tasks"),
            Labelled::Session => ("session_labels", "session_id", "sessions"),
        }
    }

    /// The statement inserting `labels` for `owner`; `None` when there are none.
    pub fn insert(self, owner: &str, labels: &BTreeMap<String, String>) -> Option<Sql> {
        if labels.is_empty() {
            return None;
        }
        let (table, column, _) = self.names();
        let mut q = Sql::new(format!(
            "INSERT INTO {table} ({column}, key, value) VALUES "
        ));
        for (i, (key, value)) in labels.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .bind(owner.to_owned())
                .push(", ")
                .bind(key.clone())
                .push(", ")
                .bind(value.clone())
                .push(")");
        }
        q.push(" RETURNING key");
        Some(q)
    }

    /// Append a condition that the row has the label `key=value`.
    pub fn push_filter(self, q: &mut Sql, (key, value): &(String, String)) {
        let (table, column, owners) = self.names();
        q.push(&format!(
            " AND EXISTS (SELECT 1 FROM {table} l WHERE l.{column} = {owners}.id AND l.key = "
        ))
        .bind(key.clone())
        .push(" AND l.value = ")
        .bind(value.clone())
        .push(")");
    }
}

/// Append a page's end: ids below `before_id`, newest first, `limit` rows.
pub fn push_page(q: &mut Sql, before_id: Option<&String>, limit: u32) {
    if let Some(id) = before_id {
        q.push(" AND id < ").bind(id.clone());
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(i64::from(limit));
}
