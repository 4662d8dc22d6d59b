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
    """The modules ``path`` imports, by absolute name.

    A relative import is made absolute, and ``from books import models``
    names ``books.models``.
    """
    package = ".".join(path.relative_to(BOOKS.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = str(node.module)
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                submodule = BOOKS.parent.joinpath(*module.split("."), alias.name)
                if submodule.is_dir() or submodule.with_suffix(".py").is_file():
                    yield f"{module}.{alias.name}"
                else:
                    yield module


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
    # Migrations are generated: they name where a default such as uuid7 is
    # defined, and are not the app's code.
    imported = {
        name
        for path in BOOKS.rglob("*.py")
        if "migrations" not in path.parts
        for name in modules_imported_by(path)
    }

    assert within(imported, "messagebus_django") == {"messagebus_django"}


def test_the_probe_sees_every_kind_of_import() -> None:
    """The checks above can fail: the probe finds every form of import."""
    relative = set(modules_imported_by(BOOKS / "service" / "unit_of_work.py"))
    a_submodule = set(modules_imported_by(BOOKS / "adapters" / "repositories.py"))
    plain = set(modules_imported_by(BOOKS / "domain" / "text.py"))

    assert {"messagebus_django", "books.service.repositories"} <= relative
    assert "books.models" in a_submodule
    assert "books" not in a_submodule
    assert "unicodedata" in plain
