"""A small, typed result type: ``Ok(value)`` or ``Err(error)``.

Repositories return results instead of raising for expected failures (not
found, integrity error), as the ``messagebus`` tutorial does. Both classes
work with ``match``::

    match await uow.books.by_id(book_id):
        case Ok(book): ...
        case Err(error): ...
"""

from __future__ import annotations

from typing import Any, Generic, Literal, NoReturn, TypeAlias, TypeVar

__all__ = ["Err", "Ok", "Result", "UnwrapError"]

T = TypeVar("T", covariant=True)
E = TypeVar("E", covariant=True)
U = TypeVar("U")


class UnwrapError(Exception):
    """Raised by ``Ok.unwrap_err()`` and ``Err.unwrap()``."""

    def __init__(self, result: Ok[Any] | Err[Any], message: str) -> None:
        super().__init__(message)
        self.result = result


class Ok(Generic[T]):
    """A successful result holding ``value``."""

    __slots__ = ("_value",)
    __match_args__ = ("value",)

    def __init__(self, value: T) -> None:
        self._value = value

    @property
    def value(self) -> T:
        return self._value

    @property
    def ok_value(self) -> T:
        return self._value

    def is_ok(self) -> Literal[True]:
        return True

    def is_err(self) -> Literal[False]:
        return False

    def unwrap(self) -> T:
        return self._value

    def unwrap_err(self) -> NoReturn:
        raise UnwrapError(self, f"called unwrap_err() on {self!r}")

    def unwrap_or(self, default: object) -> T:
        return self._value

    def __repr__(self) -> str:
        return f"Ok({self._value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ok) and self._value == other._value

    def __hash__(self) -> int:
        return hash((True, self._value))


class Err(Generic[E]):
    """A failed result holding ``error``."""

    __slots__ = ("_error",)
    __match_args__ = ("error",)

    def __init__(self, error: E) -> None:
        self._error = error

    @property
    def error(self) -> E:
        return self._error

    @property
    def err_value(self) -> E:
        return self._error

    def is_ok(self) -> Literal[False]:
        return False

    def is_err(self) -> Literal[True]:
        return True

    def unwrap(self) -> NoReturn:
        raise UnwrapError(self, f"called unwrap() on {self!r}")

    def unwrap_err(self) -> E:
        return self._error

    def unwrap_or(self, default: U) -> U:
        return default

    def __repr__(self) -> str:
        return f"Err({self._error!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Err) and self._error == other._error

    def __hash__(self) -> int:
        return hash((False, self._error))


Result: TypeAlias = Ok[T] | Err[E]
"""``Ok[T] | Err[E]``."""
