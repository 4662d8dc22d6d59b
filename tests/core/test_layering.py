"""The core imports no Django; neither does the package's top level."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import {module}
assert "{module}" in sys.modules
print(sorted(m for m in sys.modules if m.startswith("django")))
"""


def django_modules_after_importing(module: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.strip()


@pytest.mark.parametrize("module", ["messagebus_django.core", "messagebus_django"])
def test_importing_does_not_import_django(module: str) -> None:
    assert django_modules_after_importing(module) == "[]"


def test_the_probe_sees_django() -> None:
    """The probe itself works: importing Django is detected."""
    assert "'django'" in django_modules_after_importing("django.conf")
