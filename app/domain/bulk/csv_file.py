"""The user-import CSV format: three templates with the same 15 columns, in the dialect of every
CSV download (`app.domain.common.csv_files`: `;`-separated UTF-8, CRLF, BOM first).

Files are read as people save them: UTF-8 (BOM optional) or, when the file is not UTF-8, Windows-1252
(what "CSV (semicolon separated)" of common spreadsheet programs writes). The encoding is decided on
the whole file before any row is read (`detect_encoding`), so a file never changes encoding midway.

Pure parsing: a binary stream in, (line number, cells) out, streamed row by row so memory does not
grow with the file. Rows are turned into the same inputs `create_user` / `update_user` take."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import enum
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from app.domain.bulk.model import RowError
from app.domain.common import identifiers as ids
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
    UNKNOWN_ENCODING = "UNKNOWN_ENCODING"
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


ENCODINGS = {"UTF-8": "utf-8-sig", "WINDOWS-1252": "cp1252"}  # the name a job's result gives → codec
EXAMPLE_MARKER = "#"  # a line whose first cell starts with it is skipped (the template's example row)
EXAMPLE_EMAIL = "eksempel@example.invalid"  # a reserved domain: the example never passes as a real row


def template(operation: BulkOperation) -> bytes:
    """The downloadable template: BOM, header, one example row the import skips (its first cell
    starts with '#'; its e-mail is on a reserved domain, so even with the mark removed it is refused)."""
    examples = {
        BulkOperation.CREATE: ["", "Anne", "Eksempel", "", "04-03-1979", EXAMPLE_EMAIL, "12345678",
                               "EMP-1", "", "", "Nej", "Ja", "", "Nej", "Nej"],
        BulkOperation.UPDATE: ["<uuid>", "", "", "", "", EXAMPLE_EMAIL, "87654321", "EMP-2",
                               "", "", "", "", "", "", ""],
        BulkOperation.DELETE: ["<uuid>", "", "", "", "", EXAMPLE_EMAIL, "", "", "", "", "", "", "",
                               "", ""],
    }[operation]
    example = list(examples)
    note = {
        BulkOperation.CREATE: "CPR-nummer eller Fødselsdato (DD-MM-ÅÅÅÅ eller ÅÅÅÅ-MM-DD)",
        BulkOperation.UPDATE: "mindst to af Bruger-UUID, CPR-nummer og E-mail",
        BulkOperation.DELETE: "mindst to af Bruger-UUID, CPR-nummer og E-mail",
    }[operation]
    example[0] = f"{EXAMPLE_MARKER} Eksempel, ignoreres ved import ({note}): " + example[0]
    return csv_document([COLUMNS, example])


_CHUNK = 1 << 16
# A UTF-8 sequence for a letter (2 bytes, lead C2-DF): in a file that is not UTF-8 it means the file
# mixes encodings (e.g. UTF-8 rows pasted into a Windows-1252 file); read as Windows-1252 it would
# silently turn "ø" into "Ã¸". Windows-1252 text almost never has these pairs (a letter À-ß before
# a symbol such as € ‚ … ° ½).
_UTF8_PAIR = re.compile(rb"[\xc2-\xdf][\x80-\xbf]")


def detect_encoding(stream: BinaryIO) -> str:
    """UTF-8 when the whole file is valid UTF-8 (BOM optional), else WINDOWS-1252 when it decodes as
    that cleanly (0x81 0x8D 0x8F 0x90 0x9D are undefined there) and holds no UTF-8 letters; otherwise
    UNKNOWN_ENCODING. Reads the file in chunks (at most twice) and rewinds it."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, mixed, carry = True, False, b""
    try:
        while chunk := stream.read(_CHUNK):
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
            mixed = mixed or _UTF8_PAIR.search(carry + chunk) is not None
            carry = chunk[-1:]
        if is_utf8:
            try:
                utf8.decode(b"", final=True)
                return "UTF-8"
            except UnicodeDecodeError:
                pass
        stream.seek(0)
        if mixed or not _decodes_as_cp1252(stream):
            raise _unknown_encoding()
        return "WINDOWS-1252"
    finally:
        stream.seek(0)


def _decodes_as_cp1252(stream: BinaryIO) -> bool:
    try:
        while chunk := stream.read(_CHUNK):
            chunk.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _unknown_encoding() -> CsvFileError:
    return CsvFileError(
        FileErrorCode.UNKNOWN_ENCODING,
        "The file is neither UTF-8 nor Windows-1252 (or mixes them). In your spreadsheet program choose "
        "'Save as' → 'CSV UTF-8 (semicolon separated)' or 'CSV (semicolon separated)' and upload again.",
    )


def _text_lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    decoder = io.TextIOWrapper(stream, encoding=ENCODINGS[encoding], newline="")
    try:
        yield from decoder
    except UnicodeDecodeError as exc:  # the file changed after `detect_encoding` looked at it
        raise _unknown_encoding() from exc
    finally:
        # Leave the caller's stream open (it is read twice: validation, then writing).
        with contextlib.suppress(ValueError):
            decoder.detach()


def read_rows(stream: BinaryIO, *, max_rows: int, encoding: str | None = None) -> Iterator[Row]:
    """Check the header, then yield data rows with their line numbers (1 = the header). Blank lines
    and lines starting with '#' (the template's example) are skipped. `encoding` as `detect_encoding`
    answers it (detected here when not given)."""
    if encoding is None:
        encoding = detect_encoding(stream)
    reader = csv.reader(_text_lines(stream, encoding), dialect=Dialect, strict=True)
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
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith(EXAMPLE_MARKER):
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


_DAY_FIRST = re.compile(r"([0-9]{1,2})([-.])([0-9]{1,2})\2([0-9]{4})")


def birth_date(value: str) -> dt.date:
    """A date cell as spreadsheets write it: ISO `YYYY-MM-DD`, or day first `DD-MM-YYYY` / `DD.MM.YYYY`
    (leading zeros optional: `4-3-1979`). Never a two-digit year, never `/` (month-first in some
    locales). Raises IdentifierError(INVALID_DATE)."""
    text = value.strip()
    match = _DAY_FIRST.fullmatch(text)
    if match is None:
        return ids.parse_iso_date(text)
    day, _, month, year = match.groups()
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ids.IdentifierError(ids.INVALID_DATE, f"'{text}' is not a date") from None


def rights_list(row: Row) -> list[str] | None:
    value = row.get("Rettigheder")
    if value is None:
        return None
    return [r.strip() for r in value.split(",") if r.strip()]
