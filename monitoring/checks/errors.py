"""The one error a check's computation raises for data it cannot check."""

from __future__ import annotations


class CheckInputError(ValueError):
    """The window (or the reference) cannot be checked as asked; the message says why.

    The runner stores the message as the run's `error` and marks it failed: labels that are
    not 0/1 for a binary classifier, scores that are not finite, arrays of unequal length.
    What a check can still answer with a reason (no labelled rows, one class only) is no error.
    """
