"""The Upload scalar, strict: a variable of type Upload holds a file part of a GraphQL multipart
request, nothing else. Strawberry's own passes any value on (text, a number), which then failed in
the resolver as our error (INTERNAL); here it is the client's: a variable of the wrong type."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types.scalar import scalar


def _file(value: Any) -> UploadFile:
    if isinstance(value, UploadFile):
        return value
    # A multipart part sent without a filename arrives as text, as a JSON string would.
    raise ValueError("Upload expects a file part of a multipart request (a part with a filename)")


StrictUpload = scalar(
    name="Upload",
    description="Represents a file upload.",
    serialize=lambda v: v,
    parse_value=_file,
)

SCALAR_OVERRIDES: dict[object, Any] = {Upload: StrictUpload}
