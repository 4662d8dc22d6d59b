"""The service layer's ports, implemented on Django (ORM, atomic, e-mail)."""
