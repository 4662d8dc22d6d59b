"""``manage.py messagebus_handlers`` and ``manage.py messagebus_schema``."""
