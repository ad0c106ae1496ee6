"""Uploading modules and running them, and what the server says of itself."""

from __future__ import annotations

import httpx
import pytest

from sandrun_client import Client, Conflict, NodeStatus, NotFound, Outcome, TaskStatus, ValidationError


def test_an_uploaded_module_is_named_listed_and_run(client: Client, echo_wasm: bytes, unique: str) -> None:
    name = f"echo-{unique}"
    info = client.upload_module(echo_wasm, name=name, version="1.0.0")
    assert len(info.hash) == 64 and info.size == len(echo_wasm)
    assert f"{name}@1.0.0" in info.names
    assert client.upload_module(echo_wasm) == info, "the same bytes are the same module"
    assert client.module(info.hash) == info
    assert info in client.modules()
    task = client.run(module=f"{name}@1.0.0", args=["a"], stdin="piped")
    assert task.runtime == "wasm" and task.status is TaskStatus.SUCCEEDED, task
    assert task.result is not None
    assert "args: main.wasm a\n" in task.result.stdout and "stdin: piped\n" in task.result.stdout


def test_a_name_never_moves_to_another_module(
    client: Client, echo_wasm: bytes, seven_wasm: bytes, unique: str
) -> None:
    seven = client.upload_module(seven_wasm, name=f"seven-{unique}", version="0.1.0")
    with pytest.raises(Conflict):
        client.upload_module(echo_wasm, name=f"seven-{unique}", version="0.1.0")
    task = client.run(runtime="wasm", module=seven.hash)
    assert task.status is TaskStatus.FAILED and task.result is not None
    assert (task.result.outcome, task.result.exit_code) == (Outcome.EXITED, 7)


def test_bad_modules_and_names_are_refused(client: Client, seven_wasm: bytes) -> None:
    with pytest.raises(ValidationError) as invalid:
        client.upload_module(b"\0asm\x01\0\0\0junk")
    assert invalid.value.field == "body"
    with pytest.raises(ValidationError) as versionless:
        client.upload_module(seven_wasm, name="seven")
    assert versionless.value.field == "version"
    with pytest.raises(NotFound):
        client.module("0" * 64)


def test_the_server_reports_its_runtimes_nodes_and_health(client: Client) -> None:
    runtimes = {r.name: r for r in client.runtimes()}
    assert runtimes.keys() == {"python", "wasm"} and all(r.ready for r in runtimes.values())
    (node,) = client.nodes()
    assert node.status is NodeStatus.ALIVE and node.slots >= 1
    assert node.started_at <= node.last_heartbeat
    health = client.health()
    assert health.ready and health.database and health.runtimes


def test_a_server_that_is_not_ready_says_which_part_is_not() -> None:
    # A live server is always ready here: answer as one still loading its runtimes.
    not_ready = httpx.MockTransport(lambda _: httpx.Response(503, json={"database": True, "runtimes": False}))
    with Client() as client:
        client._http.close()
        client._http = httpx.Client(transport=not_ready, base_url="http://sandrun.test")
        health = client.health()
    assert (health.ready, health.database, health.runtimes) == (False, True, False)
