"""``make soak``: the bookstore under real servers, load and faults.

See ``python -m soak --help`` and docs/deployment.md.
"""
