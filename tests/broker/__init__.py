"""Tests against a real RabbitMQ broker (``BROKER_URL``); skipped without one."""
