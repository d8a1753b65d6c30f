"""The one root of every error a user can cause, shared by the estimators and the pipeline.

The CLI turns each :class:`SampledexError` into one line and the exit status
its class names (``exit_code``); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SampledexError(Exception):
    """Something the user asked for cannot be done; the message says what and why, in one line."""

    #: the documented exit status: 1 the run failed, 2 usage error, 3 catalog locked
    exit_code = 1


class UsageError(SampledexError, ValueError):
    """A command line or argument that asks for something impossible (bad key, range, count)."""

    exit_code = 2
