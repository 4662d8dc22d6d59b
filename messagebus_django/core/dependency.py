"""Dependency injection: a handler's dependencies, by parameter name.

A bus holds factories (``AsyncMessageBus(notifier=EmailNotifier)``); each
``handle`` call makes each dependency a handler asks for once, on first use,
and registers it as a listener of the transaction (so it learns whether the
command committed). Instances passed to ``handle`` itself are used as given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from messagebus_django.core.unit_of_work import (
    AsyncUnitOfWorkTransaction,
    SyncUnitOfWorkTransaction,
)

__all__ = ["HandlerDependencies"]


class HandlerDependencies:
    """The dependencies of one ``handle`` call, instantiated on first use."""

    __slots__ = ("factories", "instances", "transaction")

    def __init__(
        self,
        factories: Mapping[str, Callable[[], Any]],
        transient: dict[str, Any],
        transaction: AsyncUnitOfWorkTransaction[Any] | SyncUnitOfWorkTransaction[Any],
    ) -> None:
        self.factories = factories
        self.instances = transient
        self.transaction = transaction
        for dependency in transient.values():
            transaction.add_listener(dependency)

    def has(self, name: str) -> bool:
        return name in self.instances or name in self.factories

    def get(self, name: str) -> Any:
        try:
            return self.instances[name]
        except KeyError:
            instance = self.factories[name]()
            self.instances[name] = instance
            self.transaction.add_listener(instance)
            return instance
