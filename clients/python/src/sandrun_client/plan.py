"""Plans: how one method of the API is written once for both clients.

A plan is a generator that yields each HTTP call to make (a `Call`), is sent
back its response, and returns the method's result. It does no I/O itself,
so an `operation` (a plan as a method) returns that result on a `Client`,
which sends the calls with httpx's sync client, and an awaitable of it on an
`AsyncClient`, which awaits its async one. A plan can make several calls:
`run` waits again until its task ends.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import httpx

from .decode import decode
from .errors import error_for

if TYPE_CHECKING:
    from .client import AsyncClient, Client

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One HTTP request, before any client sends it."""

    method: str
    path: str
    params: Mapping[str, str | int | float] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    hold: float = 0.0
    """Seconds the server may hold the answer on purpose (a `?wait=`), added
    to the client's read timeout so that a long wait is not cut off."""


Plan = Generator[Call, httpx.Response, T]


def answer(kind: type[T], response: httpx.Response, key: str | None = None) -> T:
    """The response's body (or its `key`) as a `kind`, or its problem raised."""
    if response.is_error:
        raise error_for(response)
    body = response.json()
    return decode(kind, body if key is None else body[key])


class operation(Generic[P, T]):
    """A plan as a method of both clients, typed for each."""

    def __init__(self, plan: Callable[Concatenate[Any, P], Plan[T]]) -> None:
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
            return client._drive(plan(client, *args, **kwargs))

        return method
