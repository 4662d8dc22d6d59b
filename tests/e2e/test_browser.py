"""The bookstore in headless Chromium: log in, register a book, discontinue it.

The site runs as a real ``manage.py runserver`` subprocess on a fresh SQLite
file, so this test never touches pytest-django's database; Playwright drives
Debian's ``chromium`` (Playwright's own browser download is not used).

Skipped, with the reason, when Chromium or the ``playwright`` package is
missing. ``E2E_CHROMIUM`` names another browser binary (a path or a command);
``E2E_SCREENSHOT_DIR`` keeps the final screenshot somewhere other than
``tmp_path``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
USERNAME = "e2e-admin"
PASSWORD = "e2e-Secret-passw0rd"  # a throwaway database's superuser

TITLE = "Architecture Patterns with Python"
AUTHOR = "Harry Percival"
ISBN_TYPED = "978-1-4920-5220-3"
ISBN13 = "9781492052203"

# Without the background-networking flags Chromium's connections get refused
# in the sandboxed CI; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]
SERVER_START_TIMEOUT = 20.0
UI_TIMEOUT_MS = 10_000

# Straight to 127.0.0.1, whatever *_proxy variables say.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium executable, or skip."""
    wanted = os.environ.get("E2E_CHROMIUM") or "chromium"
    found = shutil.which(wanted) or (
        shutil.which("/usr/bin/chromium") if wanted == "chromium" else None
    )
    if found is None:
        pytest.skip(
            f"Chromium not installed (apt-get install chromium): {wanted!r} not found"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        pytest.skip(f"playwright not importable (pip install playwright): {error}")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"manage.py {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}"
        )


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(
                f"runserver exited {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            with _direct.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"runserver did not answer {url} within {SERVER_START_TIMEOUT:.0f} s:\n"
                f"{log.read_text(errors='replace')}"
            )
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``manage.py runserver`` on a free port and a fresh database, with a superuser."""
    workdir = tmp_path_factory.mktemp("e2e-server")
    database = workdir / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",  # sqlite:////tmp/.../db.sqlite3
        "DJANGO_SETTINGS_MODULE": "bookstore_project.settings",
        "DJANGO_DEBUG": "1",  # runserver then serves the admin's CSS
        # Neither the repository's .secret_key nor its sent_emails/.
        "DJANGO_SECRET_KEY": "e2e-only-not-secret",
        "DJANGO_EMAIL_FILE_PATH": str(workdir / "sent_emails"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SUPERUSER_USERNAME": USERNAME,
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "DJANGO_SUPERUSER_EMAIL": "e2e-admin@bookstore.example",
        "PYTHONUNBUFFERED": "1",
    }
    _manage(env, "migrate", "--noinput")
    _manage(env, "createsuperuser", "--noinput")

    port = _free_port()
    log = workdir / "runserver.log"
    with log.open("wb") as log_file:
        process = _start(env, port, log_file)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(f"{url}/", process, log)
            yield Server(url=url, log=log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start(
    env: dict[str, str], port: int, log_file: IO[bytes]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def page(chromium: str) -> Iterator[Page]:
    """A fresh page in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(UI_TIMEOUT_MS)
            yield context.new_page()
        finally:
            browser.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    configured = os.environ.get("E2E_SCREENSHOT_DIR")
    if not configured:
        return tmp_path
    path = Path(configured)
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_log_in_register_and_discontinue_a_book(
    server: Server, page: Page, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    base = server.url

    # Anonymous: the register form sends us to the admin's login first.
    page.goto(f"{base}/books/new")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/books/new$"))
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click('#login-form input[type="submit"]')

    # Back on the form as the superuser: register a book.
    expect(page).to_have_url(f"{base}/books/new")
    expect(page.get_by_role("heading", name="Register a book")).to_be_visible()
    page.get_by_label("ISBN").fill(ISBN_TYPED)
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Author").fill(AUTHOR)
    page.get_by_role("button", name="Register").click()

    # The list page says so and lists it, not discontinued.
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("ul.messages li.success")).to_have_text(
        f'"{TITLE}" was registered.'
    )
    listed = page.locator("main tbody tr").filter(has_text=TITLE)
    expect(listed.locator("td")).to_have_text([TITLE, AUTHOR, ISBN13, "no"])

    # The admin changelist: select the book, run the action.
    page.goto(f"{base}/admin/books/book/")
    row = page.locator("#result_list tbody tr").filter(has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row.locator("td.field-discontinued img")).to_have_attribute("alt", "False")
    href = row.locator("th.field-title a").get_attribute("href") or ""
    found = re.search(r"/admin/books/book/([0-9a-f-]{36})/change/", href)
    assert found, f"no book id in the changelist link {href!r}"
    book_id = found.group(1)

    row.locator("input.action-select").check()
    page.locator('select[name="action"]').select_option(
        label="Discontinue selected books"
    )
    page.locator('button[name="index"]').click()

    expect(page.locator("ul.messagelist li.success")).to_have_text(
        "Discontinued 1 book."
    )
    expect(row.locator("td.field-discontinued img")).to_have_attribute("alt", "True")
    page.screenshot(path=screenshot_dir / "e2e-discontinued.png", full_page=True)

    # The site and its JSON API agree.
    page.goto(f"{base}/")
    expect(listed.locator("td")).to_have_text([TITLE, AUTHOR, ISBN13, "yes"])
    response = page.request.get(f"{base}/api/books/{book_id}")
    assert response.status == 200, response.text()
    assert response.json() == {
        "id": book_id,
        "isbn": ISBN13,
        "title": TITLE,
        "author": AUTHOR,
        "discontinued": True,
    }
