"""The service layer: the handlers and the ports they are typed with.

The ports are interfaces (abstract repositories, the unit of work, the
notifier); :mod:`books.adapters` implements them on Django. Nothing here
imports Django.
"""
