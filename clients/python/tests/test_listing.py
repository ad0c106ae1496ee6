"""Batches, and listing tasks: filters and pages, with the sync client."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from sandrun_client import Client, Task, TaskRequest, TaskStatus, ValidationError


def test_a_batch_queues_every_task_in_order(client: Client, ended: Callable[[str], Task], unique: str) -> None:
    requests: list[TaskRequest] = [{"code": f"print({n})", "labels": {"batch": unique}} for n in range(3)]
    requests.append({"runtime": "python", "code": "print('last')", "labels": {"batch": unique}})
    tasks = client.submit_batch(requests)
    assert len({t.id for t in tasks}) == 4
    outputs = [result.stdout for t in tasks if (result := ended(t.id).result)]
    assert outputs == ["0\n", "1\n", "2\n", "last\n"]
    (batch,) = {t.batch_id for t in tasks}
    assert batch is not None
    assert {t.id for t in client.list(batch=batch).tasks} == {t.id for t in tasks}


def test_a_batch_with_one_bad_task_queues_none(client: Client, unique: str) -> None:
    with pytest.raises(ValidationError) as refused:
        client.submit_batch([{"code": "print(1)", "labels": {"batch": unique}}, {"labels": {"batch": unique}}])
    assert refused.value.field == "tasks[1].code"
    assert client.list(label=f"batch={unique}").tasks == []


def test_iter_tasks_follows_the_cursor_across_pages(client: Client, unique: str) -> None:
    submitted = client.submit_batch([{"code": "pass", "labels": {"page": unique}} for _ in range(5)])
    first = client.list(label=f"page={unique}", limit=2)
    assert len(first.tasks) == 2 and first.next_cursor is not None
    second = client.list(label=f"page={unique}", limit=2, cursor=first.next_cursor)
    assert {t.id for t in first.tasks}.isdisjoint(t.id for t in second.tasks)
    every = list(client.iter_tasks(label=f"page={unique}", limit=2))
    assert [t.id for t in every] == [t.id for t in reversed(submitted)], "newest first"
    assert list(client.iter_tasks(label=f"page={unique}", limit=5))[-1].id == submitted[0].id


def test_list_filters_by_status_runtime_and_time(client: Client, unique: str) -> None:
    label = {"filter": unique}
    ok = client.run(code="pass", labels=label)
    bad = client.run(code="raise SystemExit(1)", labels=label)
    only = f"filter={unique}"
    assert [t.id for t in client.list(label=only, status=TaskStatus.FAILED).tasks] == [bad.id]
    assert [t.id for t in client.list(label=only, status="succeeded").tasks] == [ok.id]
    assert client.list(label=only, runtime="wasm").tasks == []
    assert [t.id for t in client.list(label=only, created_after=bad.created_at).tasks] == [bad.id]
    before = client.list(label=only, created_before=bad.created_at + timedelta(milliseconds=1))
    assert {t.id for t in before.tasks} == {ok.id, bad.id}
    assert client.list(label=only, created_after=bad.created_at.isoformat().replace("+00:00", "Z")).tasks[0].id == bad.id


def test_list_refuses_a_bad_page_size_by_its_field(client: Client) -> None:
    with pytest.raises(ValidationError) as refused:
        client.list(limit=0)
    assert refused.value.field == "limit"

