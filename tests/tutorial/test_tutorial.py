"""docs/tutorial.md, followed as a new user would, by the project's own tests.

The tutorial's project is built in a temporary directory from the
tutorial's own code blocks (never from a copy kept here, so the two cannot
drift): ``startproject``/``startapp`` as in step 0, then every block whose
first line names a file (``# catalog/models.py``, ``{# ...register.html #}``)
written to that file, or appended to it when marked ``(continued)`` or
``(edited)`` (a later assignment in the settings wins over the generated
one). Step 8's ``published=True`` is applied to ``BookRegistered``. Then the
tutorial's tests run, with ``tutorial_app_checks.py`` beside them, and the
outputs the tutorial shows are compared with the real ones.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = PROJECT_ROOT / "docs" / "tutorial.md"
CHECKS = Path(__file__).with_name("tutorial_app_checks.py")
TIMEOUT = 180

_FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)
_LABEL = re.compile(
    r"\A(?:# |\{# )(?P<path>[\w./]+)(?: \((?P<how>continued|edited)\))?(?: #\})?\n"
)
_TASK_LOG = re.compile(
    r"^Task id=\S+ path=messagebus_django\.background\.tasks\."
    r"run_background_handler state=(?:RUNNING|SUCCESSFUL)\n",
    re.MULTILINE,
)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
PACKAGES = (
    "catalog/domain",
    "catalog/service",
    "catalog/adapters",
    "catalog/management",
    "catalog/management/commands",
)
"""The packages whose empty ``__init__.py`` the tutorial asks for."""


@dataclass(frozen=True)
class Block:
    lang: str
    code: str


def tutorial_blocks() -> list[Block]:
    text = TUTORIAL.read_text(encoding="utf-8")
    return [Block(m["lang"], m["code"]) for m in _FENCE.finditer(text)]


def file_blocks() -> list[tuple[str, bool, str]]:
    """``(path, appended, code)`` of every block whose first line names a file."""
    found = []
    for block in tutorial_blocks():
        label = _LABEL.match(block.code)
        if label:
            found.append((label["path"], label["how"] is not None, block.code))
    return found


def the_block(lang: str, starting: str) -> str:
    (code,) = [
        b.code
        for b in tutorial_blocks()
        if b.lang == lang and b.code.startswith(starting)
    ]
    return code


@dataclass(frozen=True)
class Project:
    root: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if check:
            assert completed.returncode == 0, completed.stdout + completed.stderr
        return completed

    def manage(
        self, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run("manage.py", *args, check=check)


def publish_book_registered(messages: Path) -> None:
    """Step 8: ``BookRegistered``'s metadata as the tutorial's snippet shows it."""
    snippet = the_block("python", "class BookRegistered(Event):\n    ...\n")
    (published,) = re.findall(
        r"    metadata: Metadata = Metadata\(.*?\)\n", snippet, re.DOTALL
    )
    text = messages.read_text()
    unpublished = (
        '    metadata: Metadata = Metadata(name="book_registered", schema_version=1)\n'
    )
    assert text.count(unpublished) == 1, (
        "step 1's BookRegistered changed: update this test"
    )
    messages.write_text(text.replace(unpublished, published))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("tutorial")
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "BROKER_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
    }
    built = Project(root, env)
    built.run("-m", "django", "startproject", "mysite", ".")
    built.manage("startapp", "catalog")
    for path, appended, code in file_blocks():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if appended:
            with target.open("a", encoding="utf-8") as file:
                file.write("\n" + code)
        else:
            target.write_text(code, encoding="utf-8")
    for package in PACKAGES:
        (root / package / "__init__.py").touch()
    publish_book_registered(root / "catalog" / "domain" / "messages.py")
    shutil.copy(CHECKS, root / CHECKS.name)
    built.manage("makemigrations", "catalog")
    built.manage("migrate", "--noinput")
    return built


def test_every_file_of_the_tutorial_is_a_labelled_block() -> None:
    written = {path for path, appended, _ in file_blocks() if not appended}

    assert written == {
        "catalog/domain/messages.py",
        "catalog/domain/model.py",
        "catalog/models.py",
        "catalog/service/repositories.py",
        "catalog/adapters/repositories.py",
        "catalog/service/unit_of_work.py",
        "catalog/adapters/unit_of_work.py",
        "catalog/service/handlers.py",
        "catalog/tests.py",
        "catalog/forms.py",
        "catalog/views.py",
        "catalog/templates/catalog/register.html",
        "mysite/urls.py",
        "catalog/admin.py",
        "catalog/management/commands/register_book.py",
        "catalog/consumers.py",
    }
    assert {path for path, appended, _ in file_blocks() if appended} == {
        "mysite/settings.py",
        "catalog/service/handlers.py",
    }


def test_the_tutorials_tests_and_the_checks_of_its_app_pass(project: Project) -> None:
    completed = project.run(
        "-m",
        "pytest",
        "-q",
        "-rA",
        "-p",
        "no:cacheprovider",
        # Installed here for this repository's suite, not by the tutorial.
        "-p",
        "no:asyncio",
        "-W",
        "error",
        "--ds=mysite.settings",
        "catalog/tests.py",
        CHECKS.name,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    passed = re.findall(r"^PASSED (\S+?)::", completed.stdout, re.MULTILINE)
    assert set(passed) == {"catalog/tests.py", CHECKS.name}, completed.stdout


def test_check_says_what_the_tutorial_says(project: Project) -> None:
    shown = the_block("sh", "$ python manage.py check\n")

    completed = project.manage("check")

    assert shown == "$ python manage.py check\n" + completed.stdout


def test_messagebus_handlers_says_what_the_tutorial_says(project: Project) -> None:
    shown = the_block("text", "$ python manage.py messagebus_handlers\n")

    completed = project.manage("messagebus_handlers")

    assert shown == "$ python manage.py messagebus_handlers\n" + completed.stdout


def test_register_book_answers_as_the_tutorial_shows(project: Project) -> None:
    transcript = the_block("sh", "$ python manage.py register_book ")
    lines = transcript.splitlines()
    commands = [
        line.removeprefix("$ python ") for line in lines if line.startswith("$ ")
    ]
    outputs = [line for line in lines if not line.startswith("$ ")]

    got = []
    for command in commands:
        completed = project.run(*shlex.split(command), check=False)
        output = completed.stdout + completed.stderr
        # Step 9 comes after this transcript: its background task runs on
        # the ImmediateBackend, and Django 6 logs it to the console with
        # DEBUG on (the tutorial says so in step 9).
        got.append(_TASK_LOG.sub("", output).strip())

    assert len(commands) == len(outputs) == 3
    assert re.fullmatch(_UUID, outputs[0])
    assert re.fullmatch(_UUID, got[0]), got
    assert got[1:] == outputs[1:]


def test_every_python_block_of_the_tutorial_compiles() -> None:
    # Including the fragments no file is made of (step 5's sync handler,
    # step 8's snippet): at least their syntax is checked.
    python = [b.code for b in tutorial_blocks() if b.lang == "python"]

    assert len(python) >= 18
    for code in python:
        compile(code, str(TUTORIAL), "exec")
