//! A task's dependencies, inside the transactions that insert tasks and
//! end them: a waiting task is queued, or cancelled, in the very
//! transaction that ended the last task it waited for, so no crash between
//! the two can leave it waiting for ever.
//!
//! An insert holds the tasks it will wait for, so none ends unseen while
//! it is written; an end holds each waiting task before reading what that
//! task waits for, so of two dependencies ending at once, the second to
//! commit sees the first as ended. Every transaction holds those rows in
//! the order of their ids, which is the order they were made in (ids are
//! UUIDv7, and a task is made after what it waits for), so two of them do
//! not each hold a row the other waits for. (Nodes whose clocks disagree
//! could make a task an id below one it waits for; Postgres then finds the
//! deadlock and ends one transaction, whose task runs again.)

use std::collections::BTreeSet;

use sandrun_api::TaskStatus;

use super::super::dependencies::{Readiness, readiness};
use super::super::dialect::{Conn, Dialect};
use super::super::statements::{Ending, Lookup, Statements};
use super::super::{Hint, NewTask, StorageError, now_ms, status_event};
use super::Store;

impl<D: Dialect> Store<D> {
    /// Hold `task`'s dependencies for the rest of the transaction, and say
    /// what they make of it.
    pub(super) async fn hold_dependencies(
        conn: &mut Conn<D>,
        task: &NewTask,
    ) -> Result<Readiness, StorageError> {
        let held: BTreeSet<&String> = task.request.depends_on.iter().collect();
        let mut found = Vec::with_capacity(held.len());
        for id in held {
            let status = if D::Db::lock_row(conn, D::LOCK_TASK, id).await? {
                D::Db::status(conn, id).await?
            } else {
                None
            };
            found.push((id.clone(), status));
        }
        Ok(readiness(&found, task.request.run_on_failure))
    }

    /// Record what task `task`, just inserted, waits for.
    pub(super) async fn record_dependencies(
        conn: &mut Conn<D>,
        task: &NewTask,
    ) -> Result<(), StorageError> {
        for id in &task.request.depends_on {
            D::Db::insert_dependency(conn, &task.id, id).await?;
        }
        Ok(())
    }

    /// Task `ended` just ended: queue the tasks it was the last to keep
    /// waiting, cancel those it dooms, and so on down the tasks waiting for
    /// those. Hints other nodes when it queued any.
    pub(super) async fn settle_dependents(
        &self,
        conn: &mut Conn<D>,
        ended: &str,
    ) -> Result<(), StorageError> {
        let mut queued = false;
        // The lowest id first: the tasks a doomed one adds all come after it.
        let mut pending: BTreeSet<String> = D::Db::waiting_dependents(conn, ended)
            .await?
            .into_iter()
            .collect();
        while let Some(waiting) = pending.pop_first() {
            if !D::Db::lock_row(conn, D::LOCK_TASK, &waiting).await? {
                continue;
            }
            let Some(record) = D::Db::task(conn, Lookup::Id(&waiting)).await? else {
                continue;
            };
            if record.status != TaskStatus::Waiting {
                continue;
            }
            let dependencies = D::Db::dependencies_of(conn, &waiting)
                .await?
                .into_iter()
                .map(|(id, status)| {
                    let status = status.map(|s| {
                        TaskStatus::parse(&s)
                            .ok_or_else(|| StorageError::Corrupt(format!("status `{s}`")))
                    });
                    Ok((id, status.transpose()?))
                })
                .collect::<Result<Vec<_>, StorageError>>()?;
            match readiness(&dependencies, record.request.run_on_failure) {
                Readiness::Waiting => {}
                Readiness::Ready => {
                    let now = now_ms();
                    D::Db::release_waiting(conn, &waiting, now).await?;
                    let event = status_event(TaskStatus::Queued, 0, now);
                    D::append_events(conn, &waiting, &[event]).await?;
                    queued = true;
                }
                Readiness::Doomed(reason) => {
                    Self::doom(conn, &waiting, &reason).await?;
                    pending.extend(D::Db::waiting_dependents(conn, &waiting).await?);
                }
            }
        }
        if queued {
            self.dialect.hint(conn, &Hint::Queued).await?;
        }
        Ok(())
    }

    /// End waiting task `id` cancelled, for `reason`.
    pub(super) async fn doom(
        conn: &mut Conn<D>,
        id: &str,
        reason: &str,
    ) -> Result<(), StorageError> {
        let ending = Ending {
            status: TaskStatus::Cancelled,
            error: Some(reason),
        };
        D::Db::end_task(conn, id, ending).await?;
        let event = status_event(TaskStatus::Cancelled, 0, now_ms());
        D::append_events(conn, id, &[event]).await
    }
}
