"""Uploaded files on disk: copied in chunks to the upload folder, refused past the size cap."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.domain.bulk.jobs import readable_size
from app.domain.common.errors import DomainError


@dataclass(frozen=True)
class StoredUpload:
    path: Path
    size: int
    file_name: str | None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


async def store_upload(folder: Path, upload: Any, limit: int) -> StoredUpload:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := await upload.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise DomainError("FILE_TOO_LARGE", f"The file is larger than {readable_size(limit)}", ["file"])
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise DomainError("EMPTY_FILE", "The file is empty", ["file"])
    return StoredUpload(path, size, getattr(upload, "filename", None))
