"""The one CSV dialect of every download (the activity and certificate exports, the import
templates) and of the import: `;`-separated UTF-8, CRLF line ends, and every download starts with
the UTF-8 byte order mark. Excel opens a `;`-separated file in the Danish locale by double-click, but
reads it as UTF-8 (æ, ø, å) only when the BOM is there; the import accepts files with or without it.

Pure: cells in, bytes out (or rows written into a caller's in-memory buffer), no I/O."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from typing import Any, Protocol

BOM = codecs.BOM_UTF8
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")


class Dialect(csv.excel):
    delimiter = ";"
    lineterminator = "\r\n"


class Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...
    def writerows(self, rows: Iterable[Iterable[Any]], /) -> None: ...


def neutralise(value: str) -> str:
    """A spreadsheet reads a cell starting with = + - @ (or a tab / carriage return) as a formula;
    a leading quote makes it text."""
    return "'" + value if value.startswith(DANGEROUS_FIRST) else value


def writer(buffer: io.StringIO) -> Writer:
    """A writer of this dialect into `buffer`, for callers that write many rows and flush the buffer
    themselves (the certificate export neutralises only its free-text cells, for speed)."""
    return csv.writer(buffer, dialect=Dialect)


def csv_line(cells: Iterable[Any]) -> bytes:
    """One line, every cell neutralised (None is empty)."""
    buffer = io.StringIO()
    writer(buffer).writerow(["" if c is None else neutralise(c if isinstance(c, str) else str(c)) for c in cells])
    return buffer.getvalue().encode("utf-8")


def csv_document(rows: Iterable[Iterable[str]]) -> bytes:
    """A whole small file of our own cells (a template), BOM first; nothing is neutralised."""
    buffer = io.StringIO()
    writer(buffer).writerows(rows)
    return BOM + buffer.getvalue().encode("utf-8")
