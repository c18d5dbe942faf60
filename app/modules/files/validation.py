"""What an upload must satisfy before it is stored: a clean name, an allowed extension,
content whose signature agrees with that extension (so a renamed executable is refused), and
a body that agrees too: no Windows executable embedded after a harmless first signature, and
for a PDF the trailer that ends every PDF (`ContentInspector`, fed the whole stream)."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

import puremagic

from app.core.errors import BadRequest, UnsupportedMediaType

SNIFF_BYTES = 8192
MAX_FILENAME_LENGTH = 200

# Signatures of native executables and scripts, refused whatever the extension claims.
_EXECUTABLE_SIGNATURES = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",  # Linux, BSD
    b"\xfe\xed\xfa\xce",  # Mach-O 32-bit
    b"\xfe\xed\xfa\xcf",  # Mach-O 64-bit
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary / Java class
    b"#!",  # shell and interpreter scripts
)

# Which signatures puremagic may report for each extension. Container formats share
# signatures (a .docx is a zip, a .mov and an .mp4 are both ISO media files).
_ACCEPTED_SIGNATURES: dict[str, frozenset[str]] = {
    "pdf": frozenset({"pdf"}),
    "png": frozenset({"png"}),
    "jpg": frozenset({"jpg", "jpeg", "jfif", "jpe"}),
    "jpeg": frozenset({"jpg", "jpeg", "jfif", "jpe"}),
    "gif": frozenset({"gif"}),
    "webp": frozenset({"webp"}),
    "mp4": frozenset({"mp4", "m4v", "m4a", "mov", "3gp"}),
    "mov": frozenset({"mov", "mp4", "m4v", "3gp", "qt"}),
    "avi": frozenset({"avi"}),
    "zip": frozenset({"zip"}),
    "docx": frozenset({"docx", "zip"}),
    "xlsx": frozenset({"xlsx", "zip"}),
    "pptx": frozenset({"pptx", "zip"}),
    "doc": frozenset({"doc"}),
    "xls": frozenset({"xls"}),
    "ppt": frozenset({"ppt"}),
}

# Formats without a signature: accepted when the start is UTF-8 text without NUL bytes.
_TEXT_EXTENSIONS = frozenset({"txt", "csv", "md", "srt", "vtt", "json"})

_UNSAFE_CHARACTERS = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)
_FOLDER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def sanitize_filename(raw: str | None) -> str:
    """A display name safe for headers and logs: no directories, no control characters."""
    name = unicodedata.normalize("NFKC", raw or "")
    # Browsers and some clients send full paths; only the last component is a name.
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_CHARACTERS.sub("_", name).strip(" .")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME_LENGTH - len(ext) - 1] + dot + ext) if dot else name[:200]
    return name or "file"


def file_extension(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


def check_extension(extension: str, allowed: list[str]) -> None:
    if not extension or extension not in allowed:
        raise UnsupportedMediaType(
            f"Files of type '.{extension}' are not accepted"
            if extension
            else "A file extension is required",
            code="extension_not_allowed",
            extra={"allowed_extensions": sorted(allowed)},
        )


def normalize_folder(folder: str | None) -> str | None:
    """An optional one-level folder name (lower-case letters, digits, '-' and '_')."""
    if folder is None or not folder.strip():
        return None
    value = folder.strip().lower()
    if not _FOLDER_PATTERN.match(value):
        raise BadRequest(
            "Folder must be 1-64 characters of a-z, 0-9, '-' or '_'", code="invalid_folder"
        )
    return value


def sniff_mime_type(head: bytes, extension: str) -> str:
    """The content type to store; refuses content that does not match `extension`."""
    if not head:
        raise BadRequest("The file is empty", code="empty_file")
    if head.startswith(_EXECUTABLE_SIGNATURES):
        raise UnsupportedMediaType("Executable content is not accepted", code="executable_content")
    guessed = mimetypes.guess_type(f"file.{extension}")[0] or "application/octet-stream"
    if extension in _TEXT_EXTENSIONS:
        if b"\x00" in head or not _is_utf8_prefix(head):
            raise UnsupportedMediaType(
                f"The content is not text, so it cannot be a .{extension} file",
                code="content_mismatch",
            )
        return guessed
    try:
        found = {match.extension.lstrip(".").lower() for match in puremagic.magic_string(head)}
    except puremagic.PureError:
        found = set()
    accepted = _ACCEPTED_SIGNATURES.get(extension, frozenset({extension}))
    if not found & accepted:
        raise UnsupportedMediaType(
            f"The content does not look like a .{extension} file", code="content_mismatch"
        )
    return guessed


def _is_utf8_prefix(data: bytes) -> bool:
    # The sniffed prefix may end in the middle of a multi-byte character.
    for cut in range(4):
        try:
            data[: len(data) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


# A PE header: "MZ", the header's offset (e_lfanew) at 0x3C, and "PE\0\0" there. Linkers
# put it within the first few hundred bytes; the bound keeps the look-ahead (and memory) small.
_PE_OFFSET_FIELD = 0x3C
_MAX_PE_OFFSET = 4096
# PDF readers look for the end-of-file marker within the last 1024 bytes.
_PDF_TRAILER = b"%%EOF"
_PDF_TRAILER_WINDOW = 1024


def _executable_refused() -> UnsupportedMediaType:
    return UnsupportedMediaType("Executable content is not accepted", code="executable_content")


class ContentInspector:
    """Checks an upload's whole body as it streams past, chunk by chunk, in bounded memory:
    `feed` raises as soon as a Windows executable (an MZ header whose PE header is where it
    says) appears anywhere, and `finish` checks what only the end shows (a PDF's trailer)."""

    def __init__(self, extension: str) -> None:
        self._extension = extension
        self._pending = b""  # from the first "MZ" not yet decided (or the last byte)
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        position = data.find(b"MZ")
        while position != -1:
            field_end = position + _PE_OFFSET_FIELD + 4
            if field_end > len(data):
                break  # decided once more bytes arrive
            offset = int.from_bytes(data[field_end - 4 : field_end], "little")
            if offset <= _MAX_PE_OFFSET:
                header = position + offset
                if header + 4 > len(data):
                    break
                if data[header : header + 4] == b"PE\0\0":
                    raise _executable_refused()
            position = data.find(b"MZ", position + 1)
        # Keep the undecided candidate, or one byte in case "MZ" is split across chunks.
        self._pending = data[position:] if position != -1 else data[-1:]
        self._tail = (self._tail + chunk)[-_PDF_TRAILER_WINDOW:]

    def finish(self) -> None:
        if self._extension == "pdf" and _PDF_TRAILER not in self._tail:
            raise UnsupportedMediaType(
                "The file does not end like a PDF (no %%EOF trailer)", code="content_mismatch"
            )
