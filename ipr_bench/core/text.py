"""Reading numbers out of users' text files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ipr_bench.core.errors import DataError


def is_ascii_integer(text: str) -> bool:
    """True for '0'…'9' runs only. ``str.isdigit`` also accepts '¹' or '①', which ``int`` then refuses, so a
    parser that checked with it would crash on such a line instead of naming it."""
    return text.isascii() and text.isdigit()


def read_text(path: Path, missing: str) -> str:
    """A user's UTF-8 text file, or a DataError naming it: ``missing`` says how to get the file when it is absent;
    a folder, a binary file or an unreadable one is named as such (never a traceback)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: not found; {missing}") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a text file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def csv_rows(path: Path, text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line number, row)]) of a CSV text; DataError naming the line the csv module stops at."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
        return list(reader.fieldnames or []), rows
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
