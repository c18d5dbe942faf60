"""Small files whose first bytes carry the real signatures of their formats."""

from __future__ import annotations

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
TEXT = "Notes for week 1: café, 数学, مرحبا\n".encode()


def pdf_of_size(size: int) -> bytes:
    return PDF + b"0" * (size - len(PDF))
