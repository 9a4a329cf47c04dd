"""decode_html / repair_mojibake: Arabic code pages without declarations, lying headers, mojibake."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from scraper.extract.decode import decode_html, repair_mojibake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "encodings"
ARABIC = "<html><head><title>الأخبار</title></head><body><p>مرحبا بالعالم العربي، أخبار اليوم</p></body></html>"


@pytest.mark.parametrize(
    ("name", "encoding", "snippet"),
    [
        ("chromium-windows-1256-no-charset-declared.html", "windows-1256", "أعلنت كتائب الشهيد عز الدين القسام"),
        ("chromium-iso-8859-6-no-charset-declared.html", "iso-8859-6", "أعلنت كتائب الشهيد عز الدين القسام"),
        ("ude-arabic-wikipedia.windows-1256.txt", "windows-1256", "هي أكثر اللغات السامية تحدثاً"),
        ("ude-arabic-wikipedia.iso-8859-6.txt", "iso-8859-6", "هي أكثر اللغات السامية تحدثاً"),
    ],
)
def test_undeclared_legacy_arabic(name: str, encoding: str, snippet: str) -> None:
    text, used = decode_html(gzip.decompress((FIXTURES / f"{name}.gz").read_bytes()))
    assert used == encoding
    assert snippet in text


def test_header_charset_is_used() -> None:
    text, used = decode_html(ARABIC.encode("cp1256"), "text/html; charset=windows-1256")
    assert (text, used) == (ARABIC, "windows-1256")


def test_meta_charset_after_the_first_kilobyte() -> None:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-6">'
    head = "<html><head>" + "<!-- padding -->" * 200 + meta
    page = head + "</head><body><p>مرحبا بالعالم</p></body></html>"
    text, used = decode_html(page.encode("iso8859_6"))
    assert used == "iso-8859-6"
    assert "مرحبا بالعالم" in text


def test_lying_header_latin1_but_utf8() -> None:
    text, used = decode_html(ARABIC.encode("utf-8"), "text/html; charset=ISO-8859-1")
    assert (text, used) == (ARABIC, "utf-8")


def test_lying_meta_utf8_but_windows_1256() -> None:
    page = '<html><head><meta charset="utf-8"></head><body><p>مرحبا بالعالم العربي، أخبار اليوم</p></body></html>'
    text, used = decode_html(page.encode("cp1256"))
    assert used == "windows-1256"
    assert "أخبار اليوم" in text


def test_bom_wins() -> None:
    text, used = decode_html(b"\xef\xbb\xbf" + ARABIC.encode("utf-8"), "text/html; charset=windows-1256")
    assert (text, used) == (ARABIC, "utf-8")


@pytest.mark.parametrize("wrong", ["cp1252", "latin-1"])
def test_repair_mojibake(wrong: str) -> None:
    broken = ARABIC.encode("utf-8").decode(wrong, errors="replace")
    assert "Ø§Ù" in broken  # "ال" as cp1252 shows "Ø§Ù„", as latin-1 "Ø§Ù\x84"
    fixed, changed = repair_mojibake(broken)
    assert changed and fixed == ARABIC


def test_double_encoded_page_is_repaired() -> None:
    double = ARABIC.encode("utf-8").decode("latin-1").encode("utf-8")
    text, used = decode_html(double)
    assert used == "utf-8" and text == ARABIC


def test_latin_text_is_not_touched() -> None:
    assert repair_mojibake("Øresund, café, naïve, Ù") == ("Øresund, café, naïve, Ù", False)


@pytest.mark.parametrize("body", [b"", b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, b"plain ascii"])
def test_odd_input_gives_text(body: bytes) -> None:
    text, used = decode_html(body)
    assert isinstance(text, str) and used
