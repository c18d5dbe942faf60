"""The certificate PDF (fpdf2), in bundled Unicode fonts.

DejaVu Sans covers Latin, Greek, Cyrillic and Arabic; Droid Sans Fallback supplies CJK
glyphs DejaVu lacks. Text shaping (HarfBuzz) joins Arabic letters and orders right-to-left
runs. Licences of both fonts are shipped beside them in `fonts/`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import segno
from fpdf import FPDF

FONTS_DIR = Path(__file__).parent / "fonts"
_FONT = "DejaVu"
_FALLBACK = "DroidFallback"
_INK = (33, 37, 41)
_ACCENT = (27, 94, 133)


@dataclass(frozen=True)
class CertificateContent:
    student_name: str
    course_title: str
    instructor_name: str
    completion_date: datetime
    certificate_number: str
    verify_url: str
    issuer: str


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def render_certificate(content: CertificateContent) -> bytes:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"Certificate {content.certificate_number}")
    pdf.set_author(content.issuer)
    pdf.set_subject(f"{content.course_title} - {content.student_name}")
    pdf.set_creator(content.issuer)
    pdf.add_font(_FONT, "", FONTS_DIR / "DejaVuSans.ttf")
    pdf.add_font(_FONT, "B", FONTS_DIR / "DejaVuSans-Bold.ttf")
    pdf.add_font(_FALLBACK, "", FONTS_DIR / "DroidSansFallback.ttf")
    # exact_match=False: bold CJK text falls back to the regular fallback face.
    pdf.set_fallback_fonts([_FALLBACK], exact_match=False)
    pdf.set_text_shaping(True)
    pdf.set_auto_page_break(False)
    pdf.add_page()

    width, height = pdf.w, pdf.h
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(1.5)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, width - 28, height - 28)

    def line(
        text: str,
        *,
        size: float,
        style: str = "",
        gap: float = 4,
        color: tuple[int, int, int] = _INK,
    ) -> None:
        pdf.set_font(_FONT, style, size)
        pdf.set_text_color(*color)
        pdf.set_x(25)
        pdf.multi_cell(width - 50, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    pdf.set_y(32)
    line(content.issuer.upper(), size=12, color=_ACCENT, gap=6)
    line("Certificate of Completion", size=32, style="B", color=_ACCENT, gap=10)
    line("This certifies that", size=14, gap=6)
    line(content.student_name, size=28, style="B", gap=6)
    line("has successfully completed the course", size=14, gap=6)
    line(content.course_title, size=20, style="B", gap=10)
    line(f"Instructor: {content.instructor_name}", size=12, gap=2)
    line(f"Completed on {content.completion_date:%d %B %Y}", size=12, gap=2)

    qr_size = 34
    pdf.image(
        _qr_png(content.verify_url), x=width - 25 - qr_size, y=height - 25 - qr_size, w=qr_size
    )
    pdf.set_font(_FONT, "", 10)
    pdf.set_text_color(*_INK)
    pdf.set_xy(25, height - 40)
    pdf.cell(0, 6, f"Certificate No. {content.certificate_number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(25)
    pdf.set_font(_FONT, "", 8)
    pdf.cell(0, 5, f"Verify at {content.verify_url}")
    return bytes(pdf.output())
