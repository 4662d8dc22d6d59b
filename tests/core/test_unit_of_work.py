"""The unit of work, its transaction and repositories."""

from __future__ import annotations

from typing import Any

import pytest

from messagebus_django.core import (
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncDependency,
    AsyncSinkholeMessageStoreRepository,
    AsyncUnitOfWorkTransaction,
    GenericEvent,
    Metadata,
    SyncDependency,
    TransactionError,
    TransactionStatus,
)
from tests.core.fakes import (
    DeferringUnitOfWork,
    FakeUnitOfWork,
    RecordingDependency,
    Thing,
    ThingRepository,
)


class Happened(GenericEvent[Metadata]):
    what: str
    metadata: Metadata = Metadata(name="happened", schema_version=1, published=True)


Transaction = AsyncUnitOfWorkTransaction[Any]


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def status(transaction: Transaction) -> TransactionStatus:
    """The status, read through a call so that mypy does not narrow it."""
    return transaction.status


# life cycle -----------------------------------------------------------------


async def test_commit_then_close(uow: FakeUnitOfWork) -> None:
    async with uow as transaction:
        assert status(transaction) is TransactionStatus.running
        await transaction.commit()
        assert status(transaction) is TransactionStatus.committed
    assert status(transaction) is TransactionStatus.closed
    assert uow.log == ["commit"]


async def test_rollback_then_close(uow: FakeUnitOfWork) -> None:
    async with uow as transaction:
        await transaction.rollback()
        assert status(transaction) is TransactionStatus.rolledback
    assert status(transaction) is TransactionStatus.closed
    assert uow.log == ["rollback"]


async def test_each_block_gives_a_new_transaction(uow: FakeUnitOfWork) -> None:
    async with uow as first:
        await first.commit()
    async with uow as second:
        assert status(second) is TransactionStatus.running
        await second.rollback()
    assert first is not second
    assert first.uow is second.uow is uow
    assert uow.log == ["commit", "rollback"]


async def test_leaving_the_block_open_rolls_back_and_raises(
    uow: FakeUnitOfWork,
) -> None:
    with pytest.raises(TransactionError, match="left open and has been rolled back"):
        async with uow as transaction:
            pass
    assert uow.log == ["rollback"]
    assert status(transaction) is TransactionStatus.closed


async def test_exception_in_the_block_rolls_back_and_propagates(
    uow: FakeUnitOfWork,
) -> None:
    with pytest.raises(ValueError, match="handler failed"):
        async with uow as transaction:
            raise ValueError("handler failed")
    assert uow.log == ["rollback"]
    assert status(transaction) is TransactionStatus.rolledback


async def test_exception_after_commit_rolls_back(uow: FakeUnitOfWork) -> None:
    opened: list[Transaction] = []

    async def commit_then_fail() -> None:
        async with uow as transaction:
            opened.append(transaction)
            await transaction.commit()
            raise ValueError("late failure")

    with pytest.raises(ValueError, match="late failure"):
        await commit_then_fail()
    assert uow.log == ["commit", "rollback"]
    assert status(opened[0]) is TransactionStatus.rolledback


async def test_exception_after_rollback_does_not_roll_back_twice(
    uow: FakeUnitOfWork,
) -> None:
    opened: list[Transaction] = []

    async def roll_back_then_fail() -> None:
        async with uow as transaction:
            opened.append(transaction)
            await transaction.rollback()
            raise ValueError("late failure")

    with pytest.raises(ValueError, match="late failure"):
        await roll_back_then_fail()
    assert uow.log == ["rollback"]
    assert status(opened[0]) is TransactionStatus.rolledback


async def test_commit_twice_is_an_error(uow: FakeUnitOfWork) -> None:
    async with uow as transaction:
        await transaction.commit()
        with pytest.raises(
            TransactionError,
            match=r"^Cannot commit: Transaction already closed \(committed\)\.$",
        ):
            await transaction.commit()
    assert uow.log == ["commit"]


async def test_rollback_after_commit_is_an_error(uow: FakeUnitOfWork) -> None:
    async with uow as transaction:
        await transaction.commit()
        with pytest.raises(
            TransactionError,
            match=r"^Cannot roll back: Transaction already closed \(committed\)\.$",
        ):
            await transaction.rollback()
    assert uow.log == ["commit"]


async def test_commit_after_rollback_is_an_error(uow: FakeUnitOfWork) -> None:
    async with uow as transaction:
        await transaction.rollback()
        with pytest.raises(
            TransactionError, match=r"Transaction already closed \(rolledback\)\.$"
        ):
            await transaction.commit()
    assert uow.log == ["rollback"]


async def test_closing_inside_the_block_makes_its_end_an_error(
    uow: FakeUnitOfWork,
) -> None:
    opened: list[Transaction] = []

    async def close_inside() -> None:
        async with uow as transaction:
            opened.append(transaction)
            await transaction.commit()
            await transaction.close()

    with pytest.raises(TransactionError, match=r"Transaction is closed\.$"):
        await close_inside()
    assert uow.log == ["commit"]
    assert status(opened[0]) is TransactionStatus.closed


# detach (streaming) ---------------------------------------------------------


async def test_detached_transaction_stays_open_and_close_rolls_back(
    uow: FakeUnitOfWork,
) -> None:
    async with uow as transaction:
        await transaction.detach()
        assert status(transaction) is TransactionStatus.streaming
    assert status(transaction) is TransactionStatus.streaming
    assert uow.log == []

    await transaction.close()

    assert uow.log == ["rollback"]
    assert status(transaction) is TransactionStatus.closed


async def test_detached_transaction_committed_later_then_closed(
    uow: FakeUnitOfWork,
) -> None:
    async with uow as transaction:
        await transaction.detach()
    await transaction.commit()
    assert status(transaction) is TransactionStatus.committed

    await transaction.close()

    assert uow.log == ["commit"]
    assert status(transaction) is TransactionStatus.closed


async def test_detached_transaction_rolled_back_later_then_closed(
    uow: FakeUnitOfWork,
) -> None:
    async with uow as transaction:
        await transaction.detach()
    await transaction.rollback()
    await transaction.close()

    assert uow.log == ["rollback"]
    assert status(transaction) is TransactionStatus.closed


async def test_exception_in_a_detached_block_rolls_back(uow: FakeUnitOfWork) -> None:
    opened: list[Transaction] = []

    async def detach_then_fail() -> None:
        async with uow as transaction:
            opened.append(transaction)
            await transaction.detach()
            raise ValueError("stream failed")

    with pytest.raises(ValueError, match="stream failed"):
        await detach_then_fail()
    assert uow.log == ["rollback"]
    assert status(opened[0]) is TransactionStatus.rolledback


async def test_detach_of_a_committed_transaction_is_an_error(
    uow: FakeUnitOfWork,
) -> None:
    async with uow as transaction:
        await transaction.commit()
        with pytest.raises(TransactionError, match=r"Cannot detach: .* committed"):
            await transaction.detach()
    assert status(transaction) is TransactionStatus.closed


async def test_close_of_a_closed_transaction_is_an_error(uow: FakeUnitOfWork) -> None:
    async with uow as transaction:
        await transaction.commit()

    with pytest.raises(TransactionError, match=r"Transaction is closed\.$"):
        await transaction.close()
    assert uow.log == ["commit"]


async def test_close_of_a_running_transaction_is_an_error(
    uow: FakeUnitOfWork,
) -> None:
    transaction = AsyncUnitOfWorkTransaction(uow)

    with pytest.raises(TransactionError, match="Cannot close a running transaction"):
        await transaction.close()
    assert status(transaction) is TransactionStatus.running
    assert uow.log == []


async def test_entering_a_closed_transaction_is_an_error(uow: FakeUnitOfWork) -> None:
    async with uow as transaction:
        await transaction.commit()

    with pytest.raises(
        TransactionError,
        match=r"Cannot enter a transaction that is closed: Invalid transaction status\.$",
    ):
        async with transaction:
            pass
    assert uow.log == ["commit"]


async def test_a_new_transaction_can_be_entered_directly(uow: FakeUnitOfWork) -> None:
    async with AsyncUnitOfWorkTransaction(uow) as transaction:
        await transaction.commit()
    assert status(transaction) is TransactionStatus.closed
    assert uow.log == ["commit"]


# proxy ----------------------------------------------------------------------


async def test_attributes_fall_through_to_the_unit_of_work(
    uow: FakeUnitOfWork,
) -> None:
    async with uow as transaction:
        assert transaction.things is uow.things
        assert transaction.others is uow.others
        assert transaction.messagestore is uow.messagestore
        with pytest.raises(AttributeError, match="no_such_repository"):
            transaction.no_such_repository  # noqa: B018
        await transaction.rollback()


class _BareUnitOfWork(AsyncAbstractUnitOfWork[ThingRepository]):
    """A unit of work that does not set a message store."""

    def __init__(self) -> None:
        self.things = ThingRepository()

    async def commit(self) -> None:
        pass

    async def rollback(self) -> None:
        pass


async def test_default_messagestore_is_a_sinkhole() -> None:
    uow = _BareUnitOfWork()

    async with uow as transaction:
        assert isinstance(transaction.messagestore, AsyncSinkholeMessageStoreRepository)
        await transaction.messagestore.add(Happened(what="nothing"))
        await transaction.commit()
    assert status(transaction) is TransactionStatus.closed


# after commit / rollback ----------------------------------------------------


async def test_commit_publishes_and_calls_listeners_at_once(
    uow: FakeUnitOfWork,
) -> None:
    log: list[str] = []
    async with uow as transaction:
        await uow.messagestore.add(Happened(what="it"))
        listener = RecordingDependency(log)
        assert transaction.add_listener(listener) is listener
        transaction.add_listener(object())  # without hooks: ignored
        await transaction.commit()
        # Default run_after_commit: done before commit() returns.
        assert [sent["type"] for sent in uow.transport.sent] == ["happened_v1"]
        assert log == ["after_commit"]
    assert log == ["after_commit"]
    assert uow.messagestore.stream_buffer == []


async def test_rollback_discards_the_stream_and_calls_listeners(
    uow: FakeUnitOfWork,
) -> None:
    log: list[str] = []
    async with uow as transaction:
        await uow.messagestore.add(Happened(what="it"))
        transaction.add_listener(RecordingDependency(log))
        transaction.add_listener(object())
        await transaction.rollback()
    assert log == ["after_rollback"]
    assert uow.messagestore.stream_buffer == []

    async with uow as transaction:
        await transaction.commit()
    assert uow.transport.sent == []


def test_dependencies_are_abstract_as_in_messagebus() -> None:
    class OnlyCommit(AsyncDependency):
        async def on_after_commit(self) -> None: ...

    class SyncOnlyRollback(SyncDependency):
        def on_after_rollback(self) -> None: ...

    for abstract in (AsyncDependency, SyncDependency, OnlyCommit, SyncOnlyRollback):
        with pytest.raises(TypeError, match="abstract"):
            abstract()  # type: ignore[abstract]


async def test_run_after_commit_can_be_deferred() -> None:
    uow = DeferringUnitOfWork()
    log: list[str] = []

    async with uow as transaction:
        await uow.messagestore.add(Happened(what="it"))
        transaction.add_listener(RecordingDependency(log))
        await transaction.commit()
    assert status(transaction) is TransactionStatus.closed
    assert uow.log == ["commit"]
    assert uow.transport.sent == []
    assert log == []
    assert len(uow.deferred) == 1

    await uow.deferred[0]()

    assert [sent["type"] for sent in uow.transport.sent] == ["happened_v1"]
    assert log == ["after_commit"]


# collect_new_events ---------------------------------------------------------


async def test_collect_new_events_takes_the_events_of_seen_models(
    uow: FakeUnitOfWork,
) -> None:
    first, second, third = Thing(name="1"), Thing(name="2"), Thing(name="3")
    first.messages.extend([Happened(what="1a"), Happened(what="1b")])
    second.messages.append(Happened(what="2a"))
    third.messages.append(Happened(what="3a"))
    await uow.things.add(first)
    await uow.things.add(second)
    await uow.others.add(third)

    collected = list(uow.collect_new_events())

    assert collected == [
        Happened(what="1a"),
        Happened(what="1b"),
        Happened(what="2a"),
        Happened(what="3a"),
    ]
    assert first.messages == second.messages == third.messages == []
    assert uow.things.seen == uow.others.seen == []
    assert list(uow.collect_new_events()) == []


def test_iter_repositories_lists_the_repository_attributes(
    uow: FakeUnitOfWork,
) -> None:
    assert list(uow.iter_repositories()) == [uow.things, uow.others]


class _ForgetfulRepository(AsyncAbstractRepository[Thing]):
    def __init__(self) -> None:
        """Forgets to call super().__init__()."""
        self.loaded: list[Thing] = []


class _ForgetfulUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.forgetful = _ForgetfulRepository()


def test_repository_without_super_init_still_has_seen() -> None:
    repository = _ForgetfulRepository()

    assert "seen" not in vars(repository)
    seen = repository.seen
    assert seen == []
    seen.append(Thing())
    assert repository.seen is seen
    assert repository.seen == [Thing()]


def test_repository_without_super_init_loses_no_events() -> None:
    uow = _ForgetfulUnitOfWork()
    thing = Thing()
    thing.messages.append(Happened(what="kept"))
    uow.forgetful.seen.append(thing)

    assert list(uow.collect_new_events()) == [Happened(what="kept")]


def test_repository_missing_attributes_still_raise() -> None:
    repository: Any = _ForgetfulRepository()

    with pytest.raises(AttributeError, match="things"):
        repository.things  # noqa: B018
    assert not hasattr(repository, "anything_else")
    assert not hasattr(ThingRepository(), "anything_else")


async def test_a_new_transaction_forgets_models_a_failed_one_left() -> None:
    uow = FakeUnitOfWork()
    leftover = Thing()
    leftover.messages.append(Happened(what="left over"))

    async def failing_transaction() -> None:
        async with uow:
            uow.things.seen.append(leftover)  # seen, then its handler failed
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await failing_transaction()
    async with uow as transaction:
        assert list(uow.collect_new_events()) == []
        await transaction.rollback()
