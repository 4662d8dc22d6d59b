"""End-to-end tests: the bookstore served for real, driven by a real browser."""

from __future__ import annotations
