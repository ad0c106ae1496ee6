"""Plans: how one method of the API is written once for both clients.

A plan is a generator that yields each HTTP call to make (a `Call`), is sent
back its response, and returns the method's result. It does no I/O itself,
so an `operation` (a plan as a method) returns that result on a `Client`,
which sends the calls with httpx's sync client, and an awaitable of it on an
`AsyncClient`, which awaits its async one. A plan can make several calls:
`run` waits again until its task ends. A listing's plan reads one page, and
`pages` makes it a method that reads them all: an iterator on a `Client`,
an async iterator on an `AsyncClient`.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

import httpx

from .decode import decode
from .errors import error_for
from .models import Page

if TYPE_CHECKING:
    from .client import AsyncClient, Client

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


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


class operation(Generic[P, T_co]):
    """A plan as a method of both clients, typed for each."""

    def __init__(self, plan: Callable[Concatenate[Any, P], Plan[T_co]]) -> None:
        self.plan = plan

    @overload
    def __get__(self, client: Client, owner: type | None = None) -> Callable[P, T_co]: ...

    @overload
    def __get__(
        self, client: AsyncClient, owner: type | None = None
    ) -> Callable[P, Awaitable[T_co]]: ...

    def __get__(self, client: Any, owner: type | None = None) -> Any:
        plan = self.plan

        @functools.wraps(plan)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return client._drive(plan(client, *args, **kwargs))

        return method


class pages(Generic[P, T]):
    """A listing (an operation that reads one page) as a method of both
    clients that yields the items of every page, from the one its arguments
    ask for, following `next_cursor`; documented by `doc`."""

    def __init__(self, listing: operation[P, Page[T]], doc: str) -> None:
        self._plan = listing.plan
        self.__doc__ = doc
        self._name = listing.plan.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, client: Client, owner: type | None = None) -> Callable[P, Iterator[T]]: ...

    @overload
    def __get__(
        self, client: AsyncClient, owner: type | None = None
    ) -> Callable[P, AsyncIterator[T]]: ...

    def __get__(self, client: Any, owner: type | None = None) -> Any:
        plan = cast(Callable[..., Plan[Page[T]]], self._plan)

        @functools.wraps(plan)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            def page_at(cursor: str | None) -> Plan[Page[T]]:
                return plan(client, *args, **(kwargs if cursor is None else {**kwargs, "cursor": cursor}))

            return client._every(page_at)

        method.__name__ = method.__qualname__ = self._name
        method.__doc__ = self.__doc__
        return method
