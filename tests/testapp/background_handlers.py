"""The test app's background handler (tests/background): not in the suite's
``MESSAGEBUS_HANDLER_MODULES``; the background tests add this module.

``index_document`` records an "indexed" activity, in the background. A title
starting with "Broken" makes it fail. With ``TESTAPP_BACKGROUND_GATE`` set in
its environment (a worker process the test started), it prints
``gate <event id>`` and waits for a line on its standard input before
writing: the test decides when it goes on (or kills the worker meanwhile).
"""

from __future__ import annotations

import os
import sys

from messagebus_django import async_listen
from tests.testapp.domain import DocumentActivity
from tests.testapp.messages import DocumentRegistered
from tests.testapp.unit_of_work import DocumentsTransaction


class BrokenDocumentError(RuntimeError):
    """What ``index_document`` raises for a title starting with "Broken"."""


@async_listen(background=True)
async def index_document(event: DocumentRegistered, uow: DocumentsTransaction) -> None:
    if event.title.startswith("Broken"):
        raise BrokenDocumentError(f"cannot index {event.title!r}")
    if os.environ.get("TESTAPP_BACKGROUND_GATE"):
        print(f"gate {event.message_id}", flush=True)
        sys.stdin.readline()
    await uow.activities.add(
        DocumentActivity(document_id=event.id, kind="indexed", detail=event.title)
    )
