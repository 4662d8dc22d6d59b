"""The books app's layers: each imports only what sits below it.

``domain`` -> nothing of the app; ``service`` -> ``domain``; ``adapters``
-> ``service``, ``domain`` and the ORM ``models``; neither ``domain`` nor
``service`` imports Django. And the whole app uses only the public API of
``messagebus_django`` (its top-level package).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BOOKS = Path(__file__).resolve().parents[2] / "books"


def modules_imported_by(path: Path) -> Iterator[str]:
    """The absolute names ``path`` imports (a relative import made absolute)."""
    package = ".".join(path.relative_to(BOOKS.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                yield f"{base}.{node.module}" if node.module else base
            else:
                yield str(node.module)


def layer_imports(layer: str) -> set[str]:
    return {
        name
        for path in (BOOKS / layer).rglob("*.py")
        for name in modules_imported_by(path)
    }


def within(names: set[str], prefix: str) -> set[str]:
    return {name for name in names if name == prefix or name.startswith(f"{prefix}.")}


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        ("domain", {"books.domain"}),
        ("service", {"books.domain", "books.service"}),
        (
            "adapters",
            {"books.domain", "books.service", "books.adapters", "books.models"},
        ),
    ],
)
def test_a_layer_imports_only_the_layers_below_it(
    layer: str, allowed: set[str]
) -> None:
    imported = within(layer_imports(layer), "books")

    assert {
        name
        for name in imported
        if not any(name == a or name.startswith(f"{a}.") for a in allowed)
    } == set()


@pytest.mark.parametrize("layer", ["domain", "service"])
def test_the_inner_layers_import_no_django(layer: str) -> None:
    assert within(layer_imports(layer), "django") == set()


def test_the_app_uses_only_the_public_api_of_messagebus_django() -> None:
    imported = {
        name for path in BOOKS.rglob("*.py") for name in modules_imported_by(path)
    }

    assert within(imported, "messagebus_django") == {"messagebus_django"}


def test_the_probe_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The checks above can fail: the probe finds absolute and relative imports."""
    module = BOOKS / "service" / "unit_of_work.py"

    assert {"messagebus_django", "books.service.repositories"} <= set(
        modules_imported_by(module)
    )
