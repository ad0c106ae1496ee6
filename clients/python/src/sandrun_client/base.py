"""What `Client` and `AsyncClient` share: every endpoint as an `operation`,
and how a `Call` becomes an httpx request.

An `operation` wraps a plan (see `plans`) into a method: on a `Client` it
returns the plan's result, on an `AsyncClient` an awaitable of it. The two
clients then only say how to send one call.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

import httpx

from . import plans
from .plans import Call, Plan

if TYPE_CHECKING:
    from .client import AsyncClient, Client

P = ParamSpec("P")
T = TypeVar("T")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 30.0
"""Seconds for connecting, and for each read: above the 15 s between the
keep-alives of an event stream, so a quiet task's stream is not cut."""


class operation(Generic[P, T]):
    """A plan as a method of both clients, typed for each."""

    def __init__(self, plan: Callable[P, Plan[T]]) -> None:
        self._plan = plan

    @overload
    def __get__(self, client: Client, owner: type | None = None) -> Callable[P, T]: ...

    @overload
    def __get__(
        self, client: AsyncClient, owner: type | None = None
    ) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, client: Any, owner: type | None = None) -> Any:
        plan = self._plan

        @functools.wraps(plan)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return client._drive(plan(*args, **kwargs))

        return method


class ClientBase(Generic[H]):
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

    submit = operation(plans.submit)
    run = operation(plans.run)
    submit_batch = operation(plans.submit_batch)
    get = operation(plans.get)
    cancel = operation(plans.cancel)
    delete = operation(plans.delete)
    upload_module = operation(plans.upload_module)
    modules = operation(plans.modules)
    module = operation(plans.module)
    runtimes = operation(plans.runtimes)
    nodes = operation(plans.nodes)
    health = operation(plans.health)
    list = operation(plans.list_tasks)
