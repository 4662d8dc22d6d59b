"""The layers: the core imports no Django, and every import points the right way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.layering import Rule, wrong_imports

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


# Which way the imports go (docs/architecture.md) ---------------------------

RULES = [
    Rule(
        "messagebus_django.core",
        "django",
        "the core knows nothing of Django",
    ),
    Rule(
        "messagebus_django.core",
        "messagebus_django",
        "the core imports nothing above it",
        allowed=("messagebus_django.core",),
    ),
    Rule(
        "messagebus_django",
        "messagebus_django.eventstream",
        "dispatch knows nothing of delivery: the event stream connects to it",
        unless=("messagebus_django.eventstream", "messagebus_django.testing"),
    ),
    Rule(
        "messagebus_django.eventstream.transports",
        "messagebus_django.eventstream.consumer",
        "a transport only sends: what consumes sits beside the consumer",
    ),
    Rule(
        "messagebus_django.background",
        "messagebus_django.dispatching",
        "the unit of work enqueues background tasks through it: only the "
        "worker's side (runner) imports dispatching back",
        unless=("messagebus_django.background.runner",),
    ),
    Rule("messagebus_django", "books", "the library never imports the example"),
    Rule(
        "messagebus_django",
        "bookstore_project",
        "the library never imports the example",
    ),
]


def test_every_import_of_the_package_points_the_right_way() -> None:
    assert wrong_imports(ROOT, "messagebus_django", RULES) == []


LIBRARY_TEST_DIRECTORIES = [
    "tests.background",
    "tests.broker",
    "tests.core",
    "tests.django",
    "tests.eventstream",
    "tests.faults",
    "tests.introspection",
    "tests.testapp",
    "tests.testing",
]
"""The library's tests, which run on its own test app (tests/testapp), not on
the example. The example's own tests are in tests/books (its end-to-end
consume path on RabbitMQ too)."""


@pytest.mark.parametrize("directory", LIBRARY_TEST_DIRECTORIES)
def test_the_library_tests_do_not_import_the_example(directory: str) -> None:
    rules = [
        Rule(directory, example, "the library's tests run on tests/testapp")
        for example in ("books", "bookstore_project")
    ]
    assert wrong_imports(ROOT, directory, rules) == []


@pytest.mark.parametrize(
    "package", ["messagebus_django", "books", "bookstore_project", "soak"]
)
def test_shipped_code_does_not_import_the_tests(package: str) -> None:
    """What the sdist ships (the soak too) needs nothing from tests/."""
    rules = [Rule(package, "tests", "shipped code does not import the tests")]
    assert wrong_imports(ROOT, package, rules) == []


def write(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


FAKE_RULES = [
    Rule("pkg.core", "django", "no Django in the core"),
    Rule("pkg.core", "pkg", "nothing above the core", allowed=("pkg.core",)),
    Rule(
        "pkg", "pkg.eventstream", "no delivery in dispatch", unless=("pkg.eventstream",)
    ),
    Rule("pkg", "books", "no example"),
    Rule("pkg.eventstream.transports", "pkg.eventstream.consumer", "a transport sends"),
]


def test_the_checker_finds_each_kind_of_wrong_import(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/core/__init__.py": "from .bus import Bus\n",
            "pkg/core/bus.py": "import django.db\n",
            "pkg/unit_of_work.py": (
                "def end():\n    from .eventstream.relay import send\n"
            ),
            "pkg/dispatcher.py": "from pkg import eventstream\n",
            "pkg/views.py": "if True:\n    from books.models import Book\n",
            "pkg/core/registry.py": "from .. import dispatcher\nfrom .bus import Bus\n",
            "pkg/eventstream/__init__.py": "",
            "pkg/eventstream/relay.py": "from ..unit_of_work import end\nfrom . import x\n",
            "pkg/eventstream/transports/kombu.py": (
                "from ..consumer import Consumer\n"
            ),
        },
    )
    assert wrong_imports(tmp_path, "pkg", FAKE_RULES) == [
        "pkg/core/bus.py:1: pkg.core.bus imports django.db (no Django in the core)",
        "pkg/core/registry.py:1: pkg.core.registry imports pkg "
        "(nothing above the core)",
        "pkg/core/registry.py:1: pkg.core.registry imports pkg.dispatcher "
        "(nothing above the core)",
        "pkg/dispatcher.py:1: pkg.dispatcher imports pkg.eventstream "
        "(no delivery in dispatch)",
        "pkg/eventstream/transports/kombu.py:1: pkg.eventstream.transports.kombu "
        "imports pkg.eventstream.consumer (a transport sends)",
        "pkg/eventstream/transports/kombu.py:1: pkg.eventstream.transports.kombu "
        "imports pkg.eventstream.consumer.Consumer (a transport sends)",
        "pkg/unit_of_work.py:2: pkg.unit_of_work imports pkg.eventstream.relay "
        "(no delivery in dispatch)",
        "pkg/unit_of_work.py:2: pkg.unit_of_work imports pkg.eventstream.relay.send "
        "(no delivery in dispatch)",
        "pkg/views.py:2: pkg.views imports books.models (no example)",
        "pkg/views.py:2: pkg.views imports books.models.Book (no example)",
    ]


def test_the_checker_passes_a_tree_whose_imports_point_the_right_way(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "from .core import Bus\n",
            "pkg/core/__init__.py": "from .bus import Bus\n",
            "pkg/core/bus.py": "import asyncio\nclass Bus: ...\n",
            "pkg/eventstream/__init__.py": "from ..core import Bus\n",
            "pkg/eventstream/broker_consumer.py": (
                "from .consumer import Consumer\nfrom .transports.kombu import x\n"
            ),
        },
    )
    assert wrong_imports(tmp_path, "pkg", FAKE_RULES) == []


def test_the_testing_kit_imports_no_more_of_django_than_its_signals() -> None:
    # The pytest plugin loads it in every session, Django project or not.
    loaded = django_modules_after_importing("messagebus_django.testing")
    assert "'django.dispatch'" in loaded
    assert "django.conf" not in loaded
    assert "django.db" not in loaded
    assert "django.http" not in loaded
