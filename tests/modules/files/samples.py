"""Small files whose first bytes carry the real signatures of their formats."""

from __future__ import annotations

PDF_BODY = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
PDF_TRAILER = b"trailer\n<< >>\n%%EOF\n"
PDF = PDF_BODY + PDF_TRAILER
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
# A Windows executable's headers: DOS header whose e_lfanew (at 0x3C) points to "PE\0\0".
PE_HEADER = (
    b"MZ\x90\x00"
    + b"\x00" * 0x38
    + (0x80).to_bytes(4, "little")
    + b"\x00" * 0x40
    + (b"PE\x00\x00\x4c\x01")
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
TEXT = "Notes for week 1: café, 数学, مرحبا\n".encode()


def pdf_of_size(size: int) -> bytes:
    """A PDF of exactly `size` bytes (padding before the trailer, where readers look)."""
    return PDF_BODY + b"0" * (size - len(PDF)) + PDF_TRAILER
