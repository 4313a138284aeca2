"""Errors that reach the user: each says what is wrong, where, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Availability:
    """Whether a plugin can run here; ``reason`` says what is missing (the text of its UnavailableError)."""

    ok: bool
    reason: str = ""


class IprBenchError(Exception):
    """Base class for errors shown to the user without a traceback."""


class UnknownNameError(IprBenchError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnavailableError(IprBenchError):
    """A plugin exists but cannot run here (missing binary, package or weights)."""


class DataError(IprBenchError):
    """Malformed dataset files (pairs lists, folders) or unreadable images."""


class OptionError(IprBenchError, ValueError):
    """A plugin option or ``NAME:ARGUMENT`` with a value the plugin cannot take."""
