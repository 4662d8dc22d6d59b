"""An installed app's command that no handler handles (check W002)."""

from __future__ import annotations

from messagebus_django import Command, Metadata


class ForgottenCommand(Command):
    metadata: Metadata = Metadata(name="forgotten", schema_version=1)
