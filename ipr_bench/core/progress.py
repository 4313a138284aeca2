"""Progress display for long work: stage, items done/total, rate and ETA (rich), or plain log lines."""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

WINDOW_S = 600.0  # the plain log's rate and ETA look this far back


class _Stage:
    def __init__(
        self, owner: Progress, name: str, total: int, unit: str = "items", detail: Callable[[], str] | None = None
    ) -> None:
        self.owner, self.name, self.total, self.done, self.unit = owner, name, total, 0, unit
        self.detail = detail  # e.g. the executor's live workers, asked at each print
        self.start = time.monotonic()
        self.last_print = 0.0
        self.recent: deque[tuple[float, int]] = deque([(self.start, 0)])  # (time, done) over the last WINDOW_S
        self.task = owner.rich.add_task(name, total=total, unit=unit) if owner.rich else None

    def advance(self, n: int) -> None:
        self.done += n
        if self.task is not None:
            self.owner.rich.advance(self.task, n)
            if self.detail:
                self.owner.rich.update(self.task, description=f"{self.name} ({self.detail()})")
            return
        now = time.monotonic()
        self.recent.append((now, self.done))
        while len(self.recent) > 2 and now - self.recent[1][0] >= WINDOW_S:
            self.recent.popleft()
        if now - self.last_print > self.owner.interval or self.done >= self.total:
            self.last_print = now
            rate = self.rate(now)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            extra = f"; {self.detail()}" if self.detail else ""
            print(
                f"{time.strftime('%H:%M:%S')} [{self.name}] {self.done}/{self.total} {self.unit}, "
                f"{rate:.1f} {self.unit}/s, ETA {eta / 60:.1f} min{extra}",
                file=sys.stderr,
                flush=True,
            )

    def rate(self, now: float) -> float:
        """Items per second over the last WINDOW_S (since the start when younger): a resumed run's burst of
        cached work at its start stops inflating the rate, and so shortening the ETA, once it is that old."""
        then, done_then = self.recent[0]
        return (self.done - done_then) / (now - then) if now > then else 0.0

    def close(self) -> None:
        if self.task is not None:
            self.owner.rich.update(self.task, completed=self.total)


class Progress:
    """Use as a context manager; rich bars on a terminal, periodic log lines otherwise (CI, nohup)."""

    def __init__(self, enabled: bool = True, interval: float = 30.0) -> None:
        self.enabled, self.interval = enabled, interval
        self.rich: Any = None

    def __enter__(self) -> Progress:
        if self.enabled and sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                ProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress
            from rich.text import Text

            class RateColumn(ProgressColumn):
                def render(self, task: Any) -> Text:
                    return Text(f"{task.speed or 0:.1f} {task.fields.get('unit', 'items')}/s")

            self.rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            self.rich.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.rich:
            self.rich.__exit__(*exc)

    def stage(self, name: str, total: int, unit: str = "items", detail: Callable[[], str] | None = None) -> _Stage:
        return _Stage(self, name, total, unit, detail)
