"""Messages of the scanned handlers."""

from __future__ import annotations

from messagebus_django.core import GenericCommand, GenericEvent, Metadata


class PkgCommand(GenericCommand[Metadata]):
    metadata: Metadata = Metadata(name="pkg_command", schema_version=1)


class PkgEvent(GenericEvent[Metadata]):
    metadata: Metadata = Metadata(name="pkg_event", schema_version=1)
