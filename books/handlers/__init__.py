"""Service handlers of the books app, found by messagebus_django's scan."""
