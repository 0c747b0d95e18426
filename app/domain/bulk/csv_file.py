"""The user-import CSV format: three templates with the same 15 columns, in the dialect of every
CSV download (`app.domain.common.csv_files`: `;`-separated UTF-8, CRLF, BOM first).

Pure parsing: a binary stream in, (line number, cells) out, streamed row by row so memory does not
grow with the file. Rows are turned into the same inputs `create_user` / `update_user` take."""

from __future__ import annotations

import contextlib
import csv
import enum
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from app.domain.bulk.model import RowError
from app.domain.common.csv_files import Dialect, csv_document

COLUMNS: tuple[str, ...] = (
    "Bruger-UUID", "Fornavn", "Efternavn", "CPR-nummer", "Fødselsdato", "E-mail", "Telefonnummer",
    "Reference", "P-nummer", "SE-nummer", "Anonym", "Privat MitID", "Rettigheder", "Underskrift",
    "Segldannelse",
)
MAX_CELL = 1000

# Where a domain field error belongs in the file.
FIELD_TO_COLUMN = {
    "userId": "Bruger-UUID", "firstName": "Fornavn", "lastName": "Efternavn", "cpr": "CPR-nummer",
    "dateOfBirth": "Fødselsdato", "email": "E-mail", "phone": "Telefonnummer", "reference": "Reference",
    "pNumber": "P-nummer", "seNumber": "SE-nummer", "anonymous": "Anonym", "authenticators": "Privat MitID",
    "rights": "Rettigheder", "canSign": "Underskrift", "canCreateSeal": "Segldannelse",
}


class BulkOperation(enum.StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


class FileErrorCode(enum.StrEnum):
    NOT_UTF8 = "NOT_UTF8"
    EMPTY_FILE = "EMPTY_FILE"
    BAD_HEADER = "BAD_HEADER"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    TOO_MANY_ROWS = "TOO_MANY_ROWS"
    BAD_ROW = "BAD_ROW"
    NO_ROWS = "NO_ROWS"


class CsvFileError(Exception):
    """The file as a whole cannot be read; no row is looked at."""

    def __init__(self, code: FileErrorCode, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line


@dataclass(slots=True, frozen=True)
class Row:
    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str | None:
        value = self.cells.get(column, "").strip()
        return value or None


def template(operation: BulkOperation) -> bytes:
    """The downloadable template: BOM, header, one commented example row."""
    examples = {
        BulkOperation.CREATE: ["", "Anne", "Hansen", "010190-1234", "", "anne.hansen@example.dk", "+45 12345678",
                               "EMP-1", "", "", "Nej", "Ja", "", "Nej", "Nej"],
        BulkOperation.UPDATE: ["<uuid>", "", "", "", "", "anne.hansen@example.dk", "+45 87654321", "EMP-2",
                               "", "", "", "", "", "", ""],
        BulkOperation.DELETE: ["<uuid>", "", "", "", "", "anne.hansen@example.dk", "", "", "", "", "", "", "",
                               "", ""],
    }[operation]
    example = list(examples)
    example[0] = "# Eksempel (slet denne linje): " + example[0]
    return csv_document([COLUMNS, example])


def _text_lines(stream: BinaryIO) -> Iterator[str]:
    decoder = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from decoder
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            FileErrorCode.NOT_UTF8,
            "The file is not UTF-8. In your spreadsheet program choose 'Save as' → 'CSV UTF-8 (semicolon "
            "separated)' and upload again.",
        ) from exc
    finally:
        # Leave the caller's stream open (it is read twice: validation, then writing).
        with contextlib.suppress(ValueError):
            decoder.detach()


def read_rows(stream: BinaryIO, *, max_rows: int) -> Iterator[Row]:
    """Check the header, then yield data rows with their line numbers (1 = the header). Blank lines
    and lines starting with '#' (the template's example) are skipped."""
    reader = csv.reader(_text_lines(stream), dialect=Dialect, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvFileError(FileErrorCode.BAD_HEADER, f"The header row cannot be read: {exc}", 1) from exc
    if header is None:
        raise CsvFileError(FileErrorCode.EMPTY_FILE, "The file is empty")
    check_header(_trim_empty_tail([h.strip() for h in header]))
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvFileError(FileErrorCode.BAD_ROW, f"Line {reader.line_num}: {exc}", reader.line_num) from exc
        line = reader.line_num
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if any("\x00" in c for c in cells):
            raise CsvFileError(FileErrorCode.BAD_ROW, f"Line {line} contains NUL characters: is this a CSV file?", line)
        count += 1
        if count > max_rows:
            raise CsvFileError(FileErrorCode.TOO_MANY_ROWS, f"The file has more than {max_rows} rows", line)
        cells = _trim_empty_tail(cells)
        if len(cells) != len(COLUMNS):
            yield Row(line, {"__width__": str(len(cells))})
            continue
        yield Row(line, dict(zip(COLUMNS, cells, strict=True)))


def _trim_empty_tail(cells: list[str]) -> list[str]:
    """Spreadsheet programs sometimes end every line with an extra ';' (an empty last column)."""
    while len(cells) > len(COLUMNS) and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def check_header(header: list[str]) -> None:
    for i, expected in enumerate(COLUMNS):
        got = header[i] if i < len(header) else None
        if got != expected:
            where = f"column {i + 1}"
            found = f"'{got}'" if got is not None else "nothing"
            raise CsvFileError(
                FileErrorCode.BAD_HEADER,
                f"The header does not match the template: {where} should be '{expected}' but is {found}",
                1,
            )
    if len(header) > len(COLUMNS):
        raise CsvFileError(
            FileErrorCode.BAD_HEADER,
            f"The header does not match the template: unexpected column {len(COLUMNS) + 1} '{header[len(COLUMNS)]}'",
            1,
        )


def width_error(row: Row) -> RowError | None:
    if "__width__" in row.cells:
        return RowError(row.line, None, "WRONG_COLUMN_COUNT",
                        f"The row has {row.cells['__width__']} columns; the template has {len(COLUMNS)}")
    for column, value in row.cells.items():
        if len(value) > MAX_CELL:
            return RowError(row.line, column, "TOO_LONG", f"At most {MAX_CELL} characters in a cell")
    return None


def yes_no(row: Row, column: str, errors: list[RowError]) -> bool | None:
    """`Ja` / `Nej` (any case); empty is None."""
    value = row.get(column)
    if value is None:
        return None
    lowered = value.lower()
    if lowered == "ja":
        return True
    if lowered == "nej":
        return False
    errors.append(RowError(row.line, column, "INVALID_BOOLEAN", f"Write Ja or Nej, not '{value}'"))
    return None


def rights_list(row: Row) -> list[str] | None:
    value = row.get("Rettigheder")
    if value is None:
        return None
    return [r.strip() for r in value.split(",") if r.strip()]
