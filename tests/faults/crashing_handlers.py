"""A consumer's handler that kills its process on one title: a crash loop."""

from __future__ import annotations

import os
from typing import Any

from messagebus_django import AsyncUnitOfWorkTransaction, async_listen
from tests.testapp.messages import DocumentRegistered

CRASH_TITLE = "Crash the consumer"


@async_listen
async def crash_on_one_title(
    event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
) -> None:
    if event.title == CRASH_TITLE:
        # As a segfault or the OOM killer would: no exception, no cleanup.
        os._exit(70)
