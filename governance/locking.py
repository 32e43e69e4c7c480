"""The one lock order for rows that several flows lock, and the retry around a transaction.

Lock order
==========

A transaction takes row locks in this order and never goes back up the list (holding a
version, it never locks its model; holding a request, it never locks a version):

0. a review meeting's row (`Meeting`, FOR UPDATE): every meeting service takes it first;
   a board decision then signs off through the usual flow (levels 1 to 3);
1. the registered model's row (`RegisteredModel`, FOR NO KEY UPDATE);
2. that model's version rows (`ModelVersion`, FOR NO KEY UPDATE), several at once in id
   order: the ones the flow names plus the live ones (production, canary);
3. promotion request rows (`PromotionRequest`, FOR UPDATE);
4. incident rows (`Incident`, FOR UPDATE);
5. the audit chain head (`AuditChainHead`, FOR UPDATE): only the sequencer takes it, in a
   short transaction of its own (`governance/audit/`); `audit_record` inserts its event
   without a lock, so auditing inside any flow adds no lock to this order.

Alert rule states and alerts (`AlertRuleState`, `Alert`, FOR UPDATE) are locked only under
their model's row (level 1) and before any incident row (level 4), by the rule engine's
evaluations (monitoring/services/alerts.py); a person's acknowledge or silence locks one
alert and nothing else.

Levels 1 and 2 are taken by one helper, `models_registry.locking.lock_model_for_change`
(or `lock_version_for_change`, which finds the version's model first). Every flow that
locks a version goes through it, so the model row is always the first lock and every
version lock is taken under it: executes, sign-offs, withdrawals, re-evaluations,
deployments, rollbacks, canary decisions, card rebuilds and edits of a version. A row
found only once the model is held (the rollback target) may be locked after the others,
still before any request, incident or audit row. Card revisions, deployment events,
sign-offs and history rows are only inserted; their foreign-key checks take FOR KEY SHARE,
which FOR NO KEY UPDATE does not block.

Why it matters: before this order existed, an execute locked its version and then the
model, while a rollback locked the model and then its versions; under load PostgreSQL
killed one of them (`deadlock detected`) and the API answered 500.

Retry
=====

A deadlock (SQLSTATE 40P01) or serialization failure (40001) can still happen against a
writer outside this order (a migration, a script, another service). `retry_on_lock_conflict`
re-runs the whole transaction a few times with a short jittered backoff; it retries only
at the outermost transaction, since PostgreSQL has already rolled back everything inside it.
Nothing is duplicated: the rolled-back attempt's rows, audit events and on-commit callbacks
(queued tasks, signals) are discarded with it. When the attempts are used up the caller gets
`LockContention`: 503 with Retry-After, never a 500.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction

from governance.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

LOCK_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization failure
RETRY_ATTEMPTS = 4
RETRY_BASE_SECONDS = 0.05  # the n-th retry waits up to 0.05 * 2**n s, at random

P = ParamSpec("P")
R = TypeVar("R")


class LockContention(ServiceUnavailable):
    """The transaction kept losing lock conflicts; trying again shortly will succeed."""

    default_detail = (
        "The object is being changed by several requests at once; nothing was changed. "
        "Try again in a moment."
    )
    retry_after = 1


def is_lock_conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure (the database rolled the transaction back)."""
    cause = error.__cause__ if isinstance(error, OperationalError) else error
    return getattr(cause, "sqlstate", None) in LOCK_CONFLICT_SQLSTATES


def retry_on_lock_conflict(func: Callable[P, R]) -> Callable[P, R]:
    """Re-run `func` (an @transaction.atomic service) when it loses a lock conflict.

    Put it above @transaction.atomic. Inside an outer transaction it does nothing: the
    failed statement aborted the outer transaction too, so only its owner can retry.
    """

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        attempt = 1
        while True:
            try:
                return func(*args, **kwargs)
            except OperationalError as error:
                if not is_lock_conflict(error):
                    raise
                if attempt == RETRY_ATTEMPTS:
                    logger.warning("%s lost %d lock conflicts: %s", func.__name__, attempt, error)
                    raise LockContention() from error
                logger.info("%s lost a lock conflict, retrying: %s", func.__name__, error)
                time.sleep(random.uniform(0, RETRY_BASE_SECONDS * 2**attempt))
                attempt += 1

    return run
