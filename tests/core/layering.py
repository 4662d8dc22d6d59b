"""The import checker of the layering test: which imports point the wrong way.

It reads the source (``ast``), so it sees every import: at module level,
inside functions and under ``TYPE_CHECKING`` alike; relative imports are
resolved against the importing module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    """Modules under ``importer`` (but not under ``unless``) may not import
    ``forbidden`` (but may import what is under ``allowed``)."""

    importer: str
    forbidden: str
    why: str
    unless: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    def breaks(self, module: str, imported: str) -> bool:
        return (
            _within(module, self.importer)
            and not any(_within(module, other) for other in self.unless)
            and _within(imported, self.forbidden)
            and not any(_within(imported, fine) for fine in self.allowed)
        )


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(f"{prefix}.")


def modules(root: Path, package: str) -> Iterator[tuple[str, Path]]:
    """``(dotted name, path)`` of every module of ``package`` under ``root``."""
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` of each import in the module's source."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                # A package's own module counts as the first level.
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield node.lineno, target
            # "from pkg import submodule" imports the submodule too.
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def wrong_imports(root: Path, package: str, rules: Sequence[Rule]) -> list[str]:
    """One line per import of ``package`` that breaks a rule."""
    found: list[str] = []
    for module, path in modules(root, package):
        for line, imported in imports(module, path):
            for rule in rules:
                if rule.breaks(module, imported):
                    where = f"{path.relative_to(root)}:{line}"
                    found.append(f"{where}: {module} imports {imported} ({rule.why})")
    return sorted(set(found))
