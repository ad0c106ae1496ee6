"""Problems as exceptions: each kind a class, every field of the problem kept."""

from __future__ import annotations

import httpx
import pytest

from sandrun_client import (
    Client,
    MalformedRequest,
    NotFound,
    QueueFull,
    SandrunError,
    Unauthorized,
    ValidationError,
)
from sandrun_client.errors import error_for


def test_a_validation_error_names_its_field(client: Client) -> None:
    with pytest.raises(ValidationError) as refused:
        client.submit(code="print(1)", limits={"timeout_ms": 10**10})
    error = refused.value
    assert (error.type, error.title, error.status) == ("urn:sandrun:problem:validation", "Invalid request", 400)
    assert error.field == "limits.timeout_ms"
    assert "above the maximum" in error.detail and error.detail in str(error)
    with pytest.raises(ValidationError) as no_code:
        client.submit(runtime="python")
    assert no_code.value.field == "code"


def test_a_body_the_server_cannot_parse_is_malformed(client: Client) -> None:
    with pytest.raises(MalformedRequest) as refused:
        client.submit(code="print(1)", limits={"fuel": -1})
    assert refused.value.status == 400 and refused.value.field is None


def test_a_missing_task_is_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as missing:
        client.get("no-such-task")
    assert (missing.value.type, missing.value.status) == ("urn:sandrun:problem:not-found", 404)
    assert "no-such-task" in missing.value.detail


def test_a_guarded_server_wants_the_key(guarded_url: str, api_key: str) -> None:
    with Client(guarded_url) as anonymous, pytest.raises(Unauthorized) as refused:
        anonymous.modules()
    assert refused.value.status == 401
    with Client(guarded_url, api_key="wrong") as wrong, pytest.raises(Unauthorized):
        wrong.nodes()
    with Client(guarded_url, api_key=api_key) as keyed:
        assert keyed.modules() == []


def test_a_full_queue_says_when_to_retry(guarded_url: str, api_key: str) -> None:
    with Client(guarded_url, api_key=api_key) as keyed, pytest.raises(QueueFull) as full:
        keyed.submit(code="print(1)")
    assert (full.value.status, full.value.retry_after) == (429, 5.0)


def test_an_error_that_is_no_problem_keeps_its_status_and_body() -> None:
    error = error_for(httpx.Response(502, text="bad gateway", headers={"retry-after": "soon"}))
    assert type(error) is SandrunError
    assert (error.type, error.title, error.status, error.detail, error.field) == (
        "about:blank",
        "Bad Gateway",
        502,
        "bad gateway",
        None,
    )
    assert error.retry_after is None
