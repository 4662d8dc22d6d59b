"""The core's management commands: messagebus_handlers, messagebus_schema."""
