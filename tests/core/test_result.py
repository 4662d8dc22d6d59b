"""``Ok`` and ``Err``."""

from __future__ import annotations

import pytest

from messagebus_django.core import Err, Ok, Result, UnwrapError


def parse(text: str) -> Result[int, str]:
    if text.isdigit():
        return Ok(int(text))
    return Err(f"not a number: {text}")


def describe(result: Result[int, str]) -> str:
    match result:
        case Ok(value):
            return f"value {value}"
        case Err(error):
            return f"error {error}"
    raise AssertionError("unreachable")


def test_ok() -> None:
    ok: Ok[int] = Ok(42)

    assert ok.is_ok() is True
    assert ok.is_err() is False
    assert ok.unwrap() == 42
    assert ok.value == 42
    assert ok.ok_value == 42
    assert ok.unwrap_or(0) == 42


def test_err() -> None:
    err: Err[str] = Err("boom")

    assert err.is_ok() is False
    assert err.is_err() is True
    assert err.unwrap_err() == "boom"
    assert err.error == "boom"
    assert err.err_value == "boom"
    assert err.unwrap_or(0) == 0


def test_unwrap_err_of_ok_raises() -> None:
    ok = Ok(42)

    with pytest.raises(
        UnwrapError, match=r"called unwrap_err\(\) on Ok\(42\)"
    ) as raised:
        ok.unwrap_err()
    assert raised.value.result is ok


def test_unwrap_of_err_raises() -> None:
    err = Err("boom")

    with pytest.raises(
        UnwrapError, match=r"called unwrap\(\) on Err\('boom'\)"
    ) as raised:
        err.unwrap()
    assert raised.value.result is err


def test_repr() -> None:
    assert repr(Ok("a")) == "Ok('a')"
    assert repr(Err(ValueError("x"))) == "Err(ValueError('x'))"
    assert repr(Ok(...)) == "Ok(Ellipsis)"


def test_equality() -> None:
    assert Ok(1) == Ok(1)
    assert Ok(1) != Ok(2)
    assert Err("a") == Err("a")
    assert Err("a") != Err("b")
    assert Ok(1) != Err(1)
    assert Err(1) != Ok(1)
    assert Ok(1) != 1
    assert Err(1) != 1


def test_hash_follows_equality() -> None:
    assert hash(Ok((1, 2))) == hash(Ok((1, 2)))
    assert hash(Err("a")) == hash(Err("a"))
    assert {Ok(1), Ok(1), Err(1), Err(1), Ok(2)} == {Ok(1), Err(1), Ok(2)}
    assert len({Ok(1), Ok(1), Err(1)}) == 2


def test_unhashable_value_makes_an_unhashable_result() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(Ok([1]))
    with pytest.raises(TypeError, match="unhashable"):
        hash(Err({"a": 1}))


def test_match() -> None:
    assert describe(parse("12")) == "value 12"
    assert describe(parse("twelve")) == "error not a number: twelve"


def test_results_are_slotted() -> None:
    with pytest.raises(AttributeError):
        Ok(1).other = 2  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        Err(1).other = 2  # type: ignore[attr-defined]
