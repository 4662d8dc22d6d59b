"""What a transaction holds of its unit of work, and what the unit of work
keeps of its transaction once the block ends."""

from __future__ import annotations

import weakref

import pytest

from messagebus_django.core import (
    AsyncAbstractUnitOfWork,
    TransactionError,
    TransactionStatus,
)
from tests.core.fakes import (
    FakeUnitOfWork,
    SyncThingsUnitOfWork,
    ThingRepository,
)


class _ShadowingUnitOfWork(AsyncAbstractUnitOfWork[ThingRepository]):
    def __init__(self) -> None:
        self.things = ThingRepository()
        self.status = ThingRepository()
        self.detach = ThingRepository()
        self.committed = False

    async def commit(self) -> None:
        self.committed = True

    async def rollback(self) -> None:
        pass


async def test_the_repositories_are_the_unit_of_works() -> None:
    uow = FakeUnitOfWork()
    async with uow as transaction:
        assert transaction.things is uow.things
        assert transaction.others is uow.others
        await transaction.rollback()


async def test_a_repository_named_like_a_transaction_member_does_not_hide_it() -> None:
    uow = _ShadowingUnitOfWork()
    async with uow as transaction:
        assert transaction.things is uow.things
        # The transaction's own members stay its own (the unit of work's
        # are read through transaction.uow).
        assert transaction.status is TransactionStatus.running
        detach: object = transaction.detach
        assert detach is not uow.detach
        assert transaction.uow.status is uow.status
        await transaction.commit()
    assert uow.committed
    assert status_of(transaction) is TransactionStatus.closed


def status_of(transaction: object) -> TransactionStatus:
    status: TransactionStatus = getattr(transaction, "status")  # noqa: B009
    return status


async def test_the_unit_of_work_lets_go_of_its_transaction_after_the_block() -> None:
    uow = FakeUnitOfWork()
    async with uow as transaction:
        await transaction.commit()
    # No reference cycle between them: dropping the last reference frees the
    # transaction at once, without the cyclic garbage collector.
    gone = weakref.ref(transaction)
    del transaction
    assert gone() is None


async def test_leaving_the_block_twice_is_an_error() -> None:
    uow = FakeUnitOfWork()
    transaction = await uow.__aenter__()
    await transaction.commit()
    await uow.__aexit__(None, None, None)
    with pytest.raises(TransactionError, match="twice"):
        await uow.__aexit__(None, None, None)


def test_the_sync_unit_of_work_lets_go_of_its_transaction_too() -> None:
    uow = SyncThingsUnitOfWork()
    with uow as transaction:
        assert transaction.things is uow.things
        transaction.commit()
    gone = weakref.ref(transaction)
    del transaction
    assert gone() is None
    with pytest.raises(TransactionError, match="twice"):
        uow.__exit__(None, None, None)
