"""The project served by real servers for the end-to-end rows (scenario 6).

``books``' own ``POST /api/books`` (the bus) and, beside it,
``POST /hand/api/books``: a plain Django view that validates the same input
and writes the same rows in one ``atomic`` block by hand
(:mod:`bench.web.views`). Both run in the same server process, so the
server, its workers and the middleware weigh on both alike.
"""
