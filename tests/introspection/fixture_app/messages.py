"""The fixture app's messages."""

from __future__ import annotations

from decimal import Decimal

from messagebus_django import (
    Command,
    Event,
    Field,
    GenericCommand,
    Metadata,
    Model,
    TMetadata,
)


class AppCommand(Command):
    """An abstract base: it declares no default Metadata, so it is no message type."""


class OrphanCommand(AppCommand):
    """No handler handles it."""

    reason: str
    metadata: Metadata = Metadata(name="introspection_orphan", schema_version=2)


class Price(Model):
    """A nested model: its definition stays in the payload's schema."""

    amount: Decimal
    currency: str = "EUR"


class PriceChanged(Event):
    """Handled by the fixture app's handlers, one of which takes an optional clock."""

    price: Price
    previous: Price | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: Metadata = Metadata(name="introspection_price_changed", schema_version=1)


class NobodyListens(Event):
    """An event without handlers: not an error."""

    metadata: Metadata = Metadata(
        name="introspection_nobody_listens", schema_version=1, published=True
    )


class AppGenericCommand(GenericCommand[TMetadata]):
    """A generic base of the app's commands."""


class Tagged(AppGenericCommand[Metadata]):
    """A command of the generic base's parametrisation."""

    metadata: Metadata = Metadata(name="introspection_tagged", schema_version=1)
