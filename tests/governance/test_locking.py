"""The retry around a transaction that lost a lock conflict (governance/locking.py)."""

from __future__ import annotations

import psycopg.errors
import pytest
from django.db import OperationalError, transaction

from governance.api.errors import exception_handler
from governance.locking import (
    RETRY_ATTEMPTS,
    LockContention,
    is_lock_conflict,
    retry_on_lock_conflict,
)


def database_error(cause: Exception) -> OperationalError:
    """What Django raises for a psycopg error: its own class, with the driver's as cause."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        return error


def losing(times: int, cause: Exception) -> tuple[list[int], object]:
    """A service that loses `times` times with `cause`, then answers 'done'."""
    calls: list[int] = []

    @retry_on_lock_conflict
    @transaction.atomic
    def service() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise database_error(cause)
        return "done"

    return calls, service


@pytest.mark.parametrize(
    "cause", [psycopg.errors.DeadlockDetected("deadlock"), psycopg.errors.SerializationFailure()]
)
def test_deadlocks_and_serialization_failures_are_lock_conflicts(cause):
    assert is_lock_conflict(database_error(cause))


def test_other_database_errors_are_not(transactional_db):
    assert not is_lock_conflict(database_error(psycopg.errors.QueryCanceled("timeout")))
    calls, service = losing(1, psycopg.errors.QueryCanceled("timeout"))
    with pytest.raises(OperationalError):
        service()
    assert len(calls) == 1


def test_a_lost_conflict_is_retried_until_it_succeeds(transactional_db):
    calls, service = losing(RETRY_ATTEMPTS - 1, psycopg.errors.DeadlockDetected("deadlock"))
    assert service() == "done"
    assert len(calls) == RETRY_ATTEMPTS


def test_when_the_attempts_are_used_up_the_caller_gets_a_503_with_retry_after(
    transactional_db,
):
    calls, service = losing(RETRY_ATTEMPTS, psycopg.errors.DeadlockDetected("deadlock"))
    with pytest.raises(LockContention) as raised:
        service()
    assert len(calls) == RETRY_ATTEMPTS

    response = exception_handler(raised.value, {})
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "nothing was changed" in response.data["detail"]


def test_inside_an_outer_transaction_only_its_owner_retries(transactional_db):
    calls, inner = losing(1, psycopg.errors.DeadlockDetected("deadlock"))

    @retry_on_lock_conflict
    @transaction.atomic
    def outer() -> str:
        return inner()

    assert outer() == "done"
    assert len(calls) == 2  # the inner call ran once per attempt of the outer transaction
