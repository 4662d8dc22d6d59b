"""The event stream: the outbox relay, the broker transports and the consumer.

A Django app of its own, opt-in: add ``"messagebus_django.eventstream"`` to
``INSTALLED_APPS`` (after ``"messagebus_django"``). Without it, commands are
dispatched and their messages stored as usual, and nothing is sent.
"""
