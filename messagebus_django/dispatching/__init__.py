"""Dispatching: a command and the events it causes, in one database transaction.

:mod:`.dispatcher` (``dispatch()``/``adispatch()``), :mod:`.bus` (the project's
bus), :mod:`.bridge` (running async handlers on the thread that holds the
transaction), :mod:`.unit_of_work`, :mod:`.repositories` and
:mod:`.messagestore`. It knows nothing of the event stream.
"""
