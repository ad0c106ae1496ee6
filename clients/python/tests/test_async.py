"""The async client: the same plans, awaited, and its streams as async iterators."""

from __future__ import annotations

import asyncio

import pytest

from sandrun_client import AsyncClient, Conflict, EndEvent, NotFound, StdoutEvent, TaskStatus, ValidationError


async def test_runs_go_on_at_once(aclient: AsyncClient) -> None:
    tasks = await asyncio.gather(*(aclient.run(code=f"print({n} * {n})") for n in range(4)))
    assert [t.result.stdout if t.result else None for t in tasks] == ["0\n", "1\n", "4\n", "9\n"]
    assert [await aclient.get(t.id) for t in tasks] == tasks


async def test_a_batch_streams_and_pages(aclient: AsyncClient, unique: str) -> None:
    batch = await aclient.submit_batch([{"code": f"print('t{n}')", "labels": {"async": unique}} for n in range(3)])
    for task in batch:
        text = [e.text async for e in aclient.events(task.id) if isinstance(e, StdoutEvent)]
        assert text == [f"t{batch.index(task)}\n"]
    page = await aclient.list(label=f"async={unique}", status="succeeded", limit=1)
    assert page.next_cursor is not None and len(page.tasks) == 1
    listed = [t.id async for t in aclient.iter_tasks(label=f"async={unique}", limit=1)]
    assert listed == [t.id for t in reversed(batch)]


async def test_cancel_delete_and_their_conflicts(aclient: AsyncClient) -> None:
    task = await aclient.submit(code="import time\ntime.sleep(60)", wait=0.2)
    assert task.status is TaskStatus.RUNNING
    with pytest.raises(Conflict):
        await aclient.delete(task.id)
    await aclient.cancel(task.id)
    events = [e async for e in aclient.events(task.id)]
    assert isinstance(events[-1], EndEvent) and events[-1].task.status is TaskStatus.CANCELLED
    with pytest.raises(Conflict):
        await aclient.cancel(task.id)
    await aclient.delete(task.id)
    with pytest.raises(NotFound):
        await aclient.get(task.id)
    with pytest.raises(NotFound):
        await anext(aclient.events(task.id))


async def test_modules_and_server_state(aclient: AsyncClient, echo_wasm: bytes) -> None:
    info = await aclient.upload_module(echo_wasm)
    assert await aclient.module(info.hash) == info and info in await aclient.modules()
    with pytest.raises(ValidationError) as refused:
        await aclient.upload_module(b"not wasm")
    assert refused.value.field == "body"
    assert (await aclient.health()).ready
    assert [n.slots for n in await aclient.nodes()] and {r.name for r in await aclient.runtimes()} >= {"python"}
