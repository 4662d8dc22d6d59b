"""The task every background handler runs through (imported on first use).

Its path, ``messagebus_django.background.tasks.run_background_handler``, is
what a task backend stores; a worker imports it from there. Defined with the
framework's ``task`` decorator on the ``default`` backend and queue; each
handler's options pick another with ``Task.using()``.
"""

from __future__ import annotations

from typing import Any

from messagebus_django.background.compat import framework

__all__ = ["run_background_handler"]


@framework().task(takes_context=True)  # type: ignore[untyped-decorator,unused-ignore]
def run_background_handler(
    context: Any, event: dict[str, Any], handler: str, headers: dict[str, str]
) -> str:
    """Apply one background handler to one event, once: ``"applied"`` or ``"duplicate"``.

    ``event`` is the event's wire envelope, ``handler`` its ``module:qualname``.
    """
    from messagebus_django.background.runner import apply

    return apply(
        event,
        handler,
        headers,
        task_id=str(context.task_result.id),
        attempt=int(context.attempt),
    )
