"""The bookstore's catalogue: the example app, in a ports-and-adapters layout.

Each part imports only the parts listed before it (tests/books/test_layout.py
checks it)::

    domain/      the model and its rules, in pydantic: no Django, no storage
                 (model.py, messages.py, isbn.py, text.py)
    service/     the use cases: handlers.py, and the ports the handlers are
                 typed with (repositories.py, unit_of_work.py, notifications.py)
    models.py    the ORM models: storage only, mapped to the domain's models
                 by to_domain() and values_from_domain()
    adapters/    the ports on Django: ORM repositories, the unit of work
                 (MESSAGEBUS_UNIT_OF_WORK), the e-mail notifier
                 (MESSAGEBUS_DEPENDENCIES)

The entry points are Django's usual modules, where Django looks for them:
``views.py`` and ``urls.py`` (pages and JSON API), ``forms.py``, ``admin.py``,
``management/commands/``, and ``consumers.py`` (the event-stream consumer's
handlers); ``payloads.py`` turns their input into commands. They dispatch
commands and read the ORM models; they never call a handler or an adapter.

The bus scans ``books.service.handlers`` because the settings name it
(``MESSAGEBUS_HANDLER_MODULES``): the app has no top-level ``handlers``
module for autodiscovery to find.
"""
