"""Background event handlers on Django's tasks framework.

``@async_listen(background=True)`` (or ``@sync_listen(background=True)``)
marks an event handler to run in the background. Handling the event then
enqueues a task of ``django.tasks`` (Django 6.0+) or of the ``django-tasks``
backport (Django 5.2; ``pip install "messagebus-django[tasks]"``):

- inside the command's transaction when the task backend stores its tasks in
  the unit of work's database (django-tasks-db), so both commit or vanish
  together; right after COMMIT otherwise. A rolled-back command enqueues
  nothing (:mod:`~messagebus_django.background.enqueue`);
- the backend's worker runs the handler in a unit of work of its own, once
  per (event, handler) (:mod:`~messagebus_django.background.runner`);
- a task whose worker died (django-tasks-db leaves it RUNNING) is enqueued
  again by ``manage.py messagebus_requeue_tasks`` (or at the start of
  ``manage.py messagebus_db_worker``), failed ones too with ``--failed``
  (:mod:`~messagebus_django.background.recovery`).

See docs/background.md.
"""

from __future__ import annotations
