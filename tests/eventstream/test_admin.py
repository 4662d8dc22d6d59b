"""The operations admin: the message store, the outbox (with retry), the inbox."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from messagebus_django import uuid7
from messagebus_django.eventstream.models import InboxMessage, OutboxMessage
from messagebus_django.models import StoredMessage

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

OUTBOX = reverse("admin:messagebus_eventstream_outboxmessage_changelist")


def stored(**fields: Any) -> StoredMessage:
    published = fields.pop("published", True)
    return StoredMessage.objects.create(
        id=uuid7(),
        type="document_registered_v1" if published else "register_document_v1",
        name="book_registered" if published else "register_document",
        schema_version=1,
        kind="event" if published else "command",
        payload={"title": "DDD"},
        created_at=timezone.now(),
        published=published,
        **fields,
    )


@pytest.fixture
def rows() -> dict[str, StoredMessage]:
    return {
        "command": stored(published=False),
        "pending": stored(),
        "failing": stored(attempts=2, next_attempt_at=timezone.now(), last_error="x"),
        "sent": stored(attempts=1, published_at=timezone.now()),
        "dead": stored(attempts=10, dead=True, last_error="ValueError: too large"),
    }


def listed(response: TestResponse) -> set[UUID]:
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def ids(rows: dict[str, StoredMessage], *names: str) -> set[UUID]:
    return {rows[name].pk for name in names}


def test_the_outbox_lists_published_events_by_state(
    admin_client: Client, rows: dict[str, StoredMessage]
) -> None:
    response = admin_client.get(OUTBOX)
    assert listed(response) == ids(rows, "pending", "failing", "sent", "dead")
    content = response.content.decode()
    for label in ("Pending", "Sent", "Dead"):
        assert f">{label}</a>" in content
    assert listed(admin_client.get(OUTBOX, {"state": "pending"})) == ids(
        rows, "pending", "failing"
    )
    assert listed(admin_client.get(OUTBOX, {"state": "sent"})) == ids(rows, "sent")
    assert listed(admin_client.get(OUTBOX, {"state": "dead"})) == ids(rows, "dead")


def retry(client: Client, *selected: StoredMessage) -> TestResponse:
    return client.post(
        OUTBOX,
        {
            "action": "retry",
            "index": "0",
            helpers.ACTION_CHECKBOX_NAME: [str(row.pk) for row in selected],
        },
        follow=True,
    )


def test_retry_makes_dead_and_failing_messages_pending_again(
    admin_client: Client, rows: dict[str, StoredMessage]
) -> None:
    response = retry(admin_client, rows["dead"], rows["failing"], rows["sent"])
    assert [str(m) for m in response.context["messages"]] == [
        "2 message(s) will be sent by the next relay pass."
    ]
    for name in ("dead", "failing"):
        row = OutboxMessage.objects.get(pk=rows[name].pk)
        assert (row.state, row.attempts, row.next_attempt_at, row.last_error) == (
            "pending",
            0,
            None,
            "",
        )
    sent = OutboxMessage.objects.get(pk=rows["sent"].pk)
    assert (sent.state, sent.attempts) == ("sent", 1)  # never sent twice by hand


def test_retry_with_nothing_to_retry_warns(
    admin_client: Client, rows: dict[str, StoredMessage]
) -> None:
    response = retry(admin_client, rows["sent"], rows["pending"])
    [message] = response.context["messages"]
    assert (message.level_tag, str(message)) == (
        "warning",
        "0 message(s) will be sent by the next relay pass.",
    )


@pytest.fixture
def viewer_client(client: Client, django_user_model: type[User]) -> Client:
    """A staff user who may only view the outbox."""
    user = django_user_model.objects.create_user(
        "operator", password="secret", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    client.force_login(user)
    return client


def test_a_viewer_sees_the_outbox_but_gets_no_retry(
    viewer_client: Client, rows: dict[str, StoredMessage]
) -> None:
    response = viewer_client.get(OUTBOX)
    assert listed(response) == ids(rows, "pending", "failing", "sent", "dead")
    assert response.context["action_form"] is None
    retry(viewer_client, rows["dead"])
    assert OutboxMessage.objects.get(pk=rows["dead"].pk).state == "dead"


@pytest.mark.parametrize(
    "model",
    [
        "messagebus_django_storedmessage",
        "messagebus_eventstream_outboxmessage",
        "messagebus_eventstream_inboxmessage",
    ],
)
def test_the_pages_load_and_are_read_only(
    admin_client: Client, rows: dict[str, StoredMessage], model: str
) -> None:
    inbox = InboxMessage.objects.create(
        consumer="search", message_id=rows["sent"].pk, type="document_registered_v1"
    )
    row = inbox if model.endswith("inboxmessage") else rows["sent"]
    changelist = admin_client.get(reverse(f"admin:{model}_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["has_add_permission"] is False
    assert str(row.pk) in changelist.content.decode()
    add = admin_client.get(reverse(f"admin:{model}_add"))
    assert add.status_code == 403
    change = admin_client.get(reverse(f"admin:{model}_change", args=[row.pk]))
    assert change.status_code == 200
    assert change.context["has_change_permission"] is False
    assert 'name="_save"' not in change.content.decode()
    delete = admin_client.post(
        reverse(f"admin:{model}_delete", args=[row.pk]),
        {"post": "yes"},
    )
    assert delete.status_code == 403
    row.refresh_from_db()  # still there


@pytest.mark.parametrize(
    ("codename", "may_retry"),
    [("change_outboxmessage", True), ("change_storedmessage", False)],
)
def test_retry_needs_the_permission_docs_eventstream_names(
    client: Client,
    django_user_model: type[User],
    rows: dict[str, StoredMessage],
    codename: str,
    may_retry: bool,
) -> None:
    user = django_user_model.objects.create_user(
        "operator", password="secret", is_staff=True
    )
    user.user_permissions.add(
        Permission.objects.get(codename="view_outboxmessage"),
        Permission.objects.get(codename=codename),
    )
    client.force_login(user)
    retry(client, rows["dead"])
    state = OutboxMessage.objects.get(pk=rows["dead"].pk).state
    assert state == ("pending" if may_retry else "dead")
    doc = (Path(__file__).resolve().parents[2] / "docs" / "eventstream.md").read_text(
        encoding="utf-8"
    )
    permission = f"`{OutboxMessage._meta.app_label}.change_outboxmessage`"
    assert permission == "`messagebus_eventstream.change_outboxmessage`"
    assert permission in " ".join(doc.split())
