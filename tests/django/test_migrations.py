"""What a user's own migration writes for ``default=uuid7``: a public path."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils.module_loading import import_string

from messagebus_django import uuid7

UUID_APP = "tests.django.fixture_apps.uuid_app"


@pytest.mark.django_db
def test_a_migration_references_uuid7_by_its_public_path() -> None:
    out = StringIO()
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, UUID_APP]):
        call_command(
            "makemigrations", "uuid_app", dry_run=True, verbosity=3, stdout=out
        )
    migration = out.getvalue()
    assert "import messagebus_django\n" in migration
    paths = re.findall(r"default=([\w.]+)", migration)
    assert paths == ["messagebus_django.uuid7"]
    assert import_string(paths[0]) is uuid7
    assert "core" not in migration
