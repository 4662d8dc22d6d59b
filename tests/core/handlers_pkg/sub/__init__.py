"""A sub-package: scanning the parent package reaches it."""
