"""Handlers found by ``AsyncMessageBus.scan`` (a package scanned recursively)."""
