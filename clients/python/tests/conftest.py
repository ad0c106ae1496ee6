"""Clients for the real servers that the Rust test `python_client` starts,
and the modules it hands over, all named by environment variables:

- `SANDRUN_URL`: an open server whose `?wait=` is capped at 1 s, so that
  `run` has to wait more than once for anything slower;
- `SANDRUN_GUARDED_URL` and `SANDRUN_API_KEY`: a server that wants that key
  and whose queue takes nothing (its maximum depth is 0), nor its sessions
  (it keeps at most 0 open);
- `SANDRUN_ECHO_WASM` and `SANDRUN_SEVEN_WASM`: the `echo` test guest, and a
  module whose `run` returns 7.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from sandrun_client import AsyncClient, Client, EndEvent, Task


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run this suite through `cargo test -p sandrun --test all -- python_client`")
    return value


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(_env("SANDRUN_URL")) as client:
        yield client


@pytest.fixture
async def aclient() -> AsyncIterator[AsyncClient]:
    async with AsyncClient(_env("SANDRUN_URL")) as client:
        yield client


@pytest.fixture
def guarded_url() -> str:
    return _env("SANDRUN_GUARDED_URL")


@pytest.fixture
def api_key() -> str:
    return _env("SANDRUN_API_KEY")


@pytest.fixture
def echo_wasm() -> bytes:
    return Path(_env("SANDRUN_ECHO_WASM")).read_bytes()


@pytest.fixture
def seven_wasm() -> bytes:
    return Path(_env("SANDRUN_SEVEN_WASM")).read_bytes()


@pytest.fixture
def unique() -> str:
    """A fresh token, for labels and module names that no other test uses on the shared server."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def ended(client: Client) -> Callable[[str], Task]:
    """Waits for a submitted task to end (through its events) and answers it."""

    def wait(task_id: str) -> Task:
        last = list(client.events(task_id))[-1]
        assert isinstance(last, EndEvent), last
        return last.task

    return wait
