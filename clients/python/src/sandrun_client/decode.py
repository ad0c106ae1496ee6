"""JSON to the dataclasses (and TypedDicts) in `models` and `events`, driven
by their type hints.

One walker instead of a hand-written constructor per type, so a new field on
the server is one annotated line here. Keys a type does not declare are
ignored: a newer server may send fields an older client does not know.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, cast

T = TypeVar("T")


class DecodeError(ValueError):
    """The server sent JSON that does not have the expected shape."""


def decode(kind: type[T], data: Any) -> T:
    """`data` (parsed JSON) as a `kind`, checked on the way."""
    return cast(T, _decode(kind, data, "$"))


def _decode(kind: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is Any:
        return data
    if origin in (types.UnionType, typing.Union):
        if data is None and types.NoneType in typing.get_args(kind):
            return None
        (inner,) = [a for a in typing.get_args(kind) if a is not types.NoneType]
        return _decode(inner, data, where)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_decode(item, v, f"{where}[{i}]") for i, v in enumerate(_expect(list, data, where))]
    if origin is dict:
        _, value = typing.get_args(kind)
        return {k: _decode(value, v, f"{where}.{k}") for k, v in _expect(dict, data, where).items()}
    if dataclasses.is_dataclass(kind) or typing.is_typeddict(kind):
        fields = _fields(kind)
        given = _expect(dict, data, where)
        known = {k: _decode(fields[k], v, f"{where}.{k}") for k, v in given.items() if k in fields}
        try:
            return cast(Any, kind)(**known)
        except TypeError as e:
            raise DecodeError(f"{where}: {e}") from None
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(data)
        except ValueError:
            raise DecodeError(f"{where}: {data!r} is not a {kind.__name__}") from None
    if kind is datetime:
        return datetime.fromisoformat(_expect(str, data, where))
    if kind is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    return _expect(kind, data, where)


@cache
def _fields(kind: Any) -> dict[str, Any]:
    """A dataclass's or a TypedDict's field types, resolved once per class."""
    return typing.get_type_hints(kind)


def _expect(kind: type[T], data: Any, where: str) -> T:
    # bool is an int in Python but never one in JSON.
    if not isinstance(data, kind) or (kind is int and isinstance(data, bool)):
        raise DecodeError(f"{where}: expected {kind.__name__}, got {data!r}")
    return data
