"""Unit tests of ``messagebus_django.core`` (no Django involved)."""
