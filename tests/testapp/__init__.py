"""The library's own test app: documents registered and discontinued.

The library's tests (tests/django, tests/eventstream, tests/testing,
tests/introspection) run on it, not on the example ``books`` app, so the
example may change without touching them. ``tests/settings.py`` installs it
and points ``MESSAGEBUS_HANDLER_MODULES``, ``MESSAGEBUS_UNIT_OF_WORK`` and
``MESSAGEBUS_DEPENDENCIES`` at it.
"""
