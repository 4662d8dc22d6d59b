"""Handlers of both kinds, for the sync bus's scan tests."""
