"""What `Client` and `AsyncClient` share beyond the endpoints: the settings,
and how a `Call` becomes the arguments of an httpx request."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import httpx

from .operations import Operations
from .plan import Call

H = TypeVar("H", httpx.Client, httpx.AsyncClient)

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 30.0
"""Seconds for connecting, and for each read: above the 15 s between the
keep-alives of an event stream, so a quiet task's stream is not cut."""


class ClientBase(Operations, Generic[H]):
    """The API, endpoint by endpoint, over the httpx client `H`; a subclass
    says how to open `H` and how to drive a plan with it.

    `api_key` is sent as `Authorization: Bearer KEY`; `timeout` is in
    seconds, per connect and per read (a wait adds what it asks for).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._timeout = timeout
        headers = {"user-agent": "sandrun-client"}
        if api_key is not None:
            headers["authorization"] = f"Bearer {api_key}"
        self._http: H = self._open(base_url=base_url, headers=headers, timeout=timeout)

    def _open(self, **options: Any) -> H:
        raise NotImplementedError

    def _request_args(self, call: Call) -> dict[str, Any]:
        """`call` as keyword arguments of httpx's `request` and `stream`."""
        timeout = (
            httpx.Timeout(self._timeout, read=self._timeout + call.hold)
            if call.hold
            else httpx.USE_CLIENT_DEFAULT
        )
        return {
            "method": call.method,
            "url": call.path,
            "params": call.params,
            "json": call.json,
            "content": call.content,
            "headers": call.headers,
            "timeout": timeout,
        }
