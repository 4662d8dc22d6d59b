"""A Django-ORM repository base: ORM rows in, pydantic domain models out."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from types import EllipsisType
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, connections, models, transaction
from django.db.models import signals
from django.utils import timezone

from messagebus_django.core import (
    AsyncAbstractRepository,
    Err,
    GenericModel,
    Ok,
    Result,
)
from messagebus_django.dispatching.bridge import call_sync

__all__ = ["DjangoRepository"]

TModel = TypeVar("TModel", bound=GenericModel[Any])
TRow = TypeVar("TRow", bound=models.Model)


class DjangoRepository(AsyncAbstractRepository[TModel], Generic[TModel, TRow]):
    """Maps one ORM model to one domain model.

    Subclasses set :attr:`orm_model` and write :meth:`to_domain` and
    :meth:`from_domain`; their own methods (``add``, ``by_id``...) build on
    :meth:`insert`, :meth:`get` and :meth:`save`, which record the models they
    write in :attr:`seen` so the events those models raised are handled.
    """

    orm_model: type[TRow]
    """The Django model whose rows this repository stores."""
    using: str = "default"
    """The database alias; set by the unit of work."""

    @abc.abstractmethod
    def to_domain(self, row: TRow) -> TModel:
        """The domain model of an ORM row."""

    @abc.abstractmethod
    def from_domain(self, model: TModel) -> Mapping[str, Any]:
        """The ORM field values of a domain model (the primary key included)."""

    async def insert(self, model: TModel) -> Result[EllipsisType, IntegrityError]:
        """Insert ``model``; a unique-constraint violation is an ``Err``.

        After an ``Err`` the surrounding transaction is intact and the command
        may go on: the insert runs in a savepoint, except on SQLite when it is
        one ``INSERT`` statement (no multi-table parent, no ``pre_save`` or
        ``post_save`` receiver that may write too), which SQLite undoes alone
        when it fails.
        """
        result = await call_sync(self._insert_in_savepoint, model)
        if result.is_ok():
            self.seen.append(model)
        return result

    def _insert_in_savepoint(
        self, model: TModel
    ) -> Result[EllipsisType, IntegrityError]:
        row = self.orm_model(**self.from_domain(model))
        using = self.using
        connection = connections[using]
        if connection.vendor == "sqlite" and self._one_statement():
            try:
                row.save(force_insert=True, using=using)
            except IntegrityError as error:
                # SQLite backed out the failed statement only; the transaction
                # is intact, so lift the rollback mark save() left on it.
                if connection.in_atomic_block:
                    transaction.set_rollback(False, using=using)
                return Err(error)
            return Ok(...)
        try:
            with transaction.atomic(using=using):
                row.save(force_insert=True, using=using)
        except IntegrityError as error:
            return Err(error)
        return Ok(...)

    def _one_statement(self) -> bool:
        """Whether saving a new row is one ``INSERT`` and nothing else."""
        model = self.orm_model
        return not (
            model._meta.parents
            or signals.pre_save.has_listeners(model)
            or signals.post_save.has_listeners(model)
        )

    async def get(self, **lookup: Any) -> TModel | None:
        """The domain model of the row matching ``lookup``, or ``None``."""
        row = await call_sync(self._first, lookup)
        return None if row is None else self.to_domain(row)

    def _first(self, lookup: Mapping[str, Any]) -> TRow | None:
        return (
            self.orm_model._default_manager.using(self.using).filter(**lookup).first()
        )

    async def save(self, model: TModel) -> bool:
        """Write a changed ``model`` to its existing row; ``False`` if there is none."""
        values = dict(self.from_domain(model))
        pk_name = self.orm_model._meta.pk.attname
        pk = values.pop(pk_name, None)
        if pk is None:
            pk = values.pop("pk")
        for field in self.orm_model._meta.concrete_fields:
            # QuerySet.update() skips auto_now; a save through the bus must not.
            if getattr(field, "auto_now", False) and field.attname not in values:
                values[field.attname] = timezone.now()
        updated = await call_sync(self._update, pk, values)
        if updated:
            self.seen.append(model)
        return bool(updated)

    def _update(self, pk: Any, values: Mapping[str, Any]) -> int:
        return (
            self.orm_model._default_manager.using(self.using)
            .filter(pk=pk)
            .update(**values)
        )
