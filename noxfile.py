"""The support matrix and the package checks, run by ``.ci/run`` (``nox`` for all).

``make test`` stays the quick run (ruff, mypy, the suite with its coverage
gate, on the newest Django the interpreter allows); these sessions run the
suite on every supported Django x Python pair, once on PostgreSQL and
RabbitMQ, and check what a package index would receive. Each session needs
its interpreter on ``PATH`` as ``python3.X`` (``.ci/run`` adds pyenv's).

- ``tests``: Python 3.11 x Django 5.2, 3.12 x 6.0, 3.13 x 6.1 (SQLite).
- ``pg``: Python 3.13 x Django 6.1 on ``DATABASE_URL`` and ``BROKER_URL``, as
  set in the environment; the database name gets a ``_nox`` suffix so that a
  concurrent ``make test-pg`` on the same server is not disturbed.
- ``package``: build the sdist and the wheel, ``twine check`` them, check the
  sdist ships docs, changelog, licence and tests; then, with Django 6.1
  installed first, ``pip install`` the wheel, assert Django was left alone,
  and run the sdist's test suite against the installed wheel.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import nox

nox.options.sessions = ["tests", "pg", "package"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
# (Python, Django): Django 6 needs Python 3.12+, so 3.11 gets 5.2 LTS only.
MATRIX = [("3.11", "5.2"), ("3.12", "6.0"), ("3.13", "6.1")]
NEWEST = ("3.13", "6.1")
# What the sdist must hold besides the package (MANIFEST.in).
SDIST_MUST_HAVE = [
    "LICENSE",
    "CHANGELOG.md",
    "README.md",
    "docs/index.md",
    "docs/design.md",
    "docs/tutorial.md",
    "tests/settings.py",
    "tests/conftest.py",
    "books/service/handlers.py",
    "bookstore_project/settings.py",
    "bench/__init__.py",
    "messagebus_django/py.typed",
]


def install_project(session: nox.Session, django: str) -> None:
    # pip 25.1 reads dependency groups (PEP 735).
    session.install("pip>=25.1")
    session.install("-e", ".", "--group", "dev", f"django=={django}.*")
    assert_django(session, django)


def assert_django(session: nox.Session, django: str) -> None:
    session.run(
        "python",
        "-c",
        "import django, sys; v = '.'.join(map(str, django.VERSION[:2])); "
        f"sys.exit(0 if v == {django!r} else f'Django {{v}}, not {django}')",
        silent=True,
    )


@nox.session
@nox.parametrize(
    ("python", "django"),
    MATRIX,
    ids=[f"py{python}-django{django}" for python, django in MATRIX],
)
def tests(session: nox.Session, django: str) -> None:
    """The suite on SQLite with one supported Django and Python."""
    install_project(session, django)
    env = {"DATABASE_URL": "", "BROKER_URL": ""}
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", env=env)


@nox.session(python=NEWEST[0])
def pg(session: nox.Session) -> None:
    """The suite on PostgreSQL and RabbitMQ, on the newest Django."""
    database_url = os.environ.get("DATABASE_URL")
    broker_url = os.environ.get("BROKER_URL")
    if not (database_url and broker_url):
        session.error(
            "pg needs DATABASE_URL (postgres://...) and BROKER_URL (amqp://...)"
        )
    install_project(session, NEWEST[1])
    env = {"DATABASE_URL": own_database(database_url), "BROKER_URL": broker_url}
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", env=env)


def own_database(url: str) -> str:
    """``url`` with ``_nox`` after its database name (Django prefixes ``test_``)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path=f"/{name}_nox"))


@nox.session(python=NEWEST[0])
def package(session: nox.Session) -> None:
    """Build, check, and install the wheel over a project's Django 6.1."""
    session.install("pip>=25.1", "build", "twine")
    # Outside the checkout (not session.create_tmp()): the unpacked sdist and
    # the temporary projects its tests make must not find our pyproject.toml.
    work = Path(tempfile.mkdtemp(prefix="messagebus-django-package-"))
    try:
        check_and_test_package(session, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_and_test_package(session: nox.Session, work: Path) -> None:
    dist = work / "dist"
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    [sdist] = dist.glob("*.tar.gz")
    [wheel] = dist.glob("*.whl")
    session.run("python", "-m", "twine", "check", "--strict", str(sdist), str(wheel))
    check_contents(session, sdist, wheel)

    # The "Done when" of the Django 6 support: a project on Django 6.1 that
    # installs us keeps its Django.
    session.install(f"django=={NEWEST[1]}.*")
    assert_django(session, NEWEST[1])
    session.install(str(wheel))
    assert_django(session, NEWEST[1])

    # The sdist's own test suite, against the installed wheel: the unpacked
    # tree loses its copy of the package so that the import finds the wheel.
    unpacked = work / "sdist"
    unpacked.mkdir()
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    [tree] = unpacked.iterdir()
    shutil.rmtree(tree / "messagebus_django")
    session.chdir(tree)
    session.install("--group", "dev")
    assert_django(session, NEWEST[1])
    session.run(
        "python",
        "-c",
        "import messagebus_django, sys; "
        "sys.exit(0 if 'site-packages' in messagebus_django.__file__ "
        "else 'not the wheel: ' + messagebus_django.__file__)",
    )
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        env={"DATABASE_URL": "", "BROKER_URL": "", "TMPDIR": str(work)},
    )
    session.chdir(ROOT)


def check_contents(session: nox.Session, sdist: Path, wheel: Path) -> None:
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        names = {name.removeprefix(f"{top}/") for name in archive.getnames()}
    missing = [name for name in SDIST_MUST_HAVE if name not in names]
    if missing:
        session.error(f"the sdist lacks {missing}")
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = archive.namelist()
    if not any(name.endswith("licenses/LICENSE") for name in wheel_names):
        session.error("the wheel lacks LICENSE")
    strays = [
        name
        for name in wheel_names
        if name.split("/")[0]
        in {"tests", "books", "bookstore_project", "docs", "bench"}
    ]
    if strays:
        session.error(f"the wheel ships more than the package: {strays[:5]}")
