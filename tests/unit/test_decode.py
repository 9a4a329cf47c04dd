"""decode_html / repair_mojibake: Arabic code pages without declarations, lying headers, mojibake."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from scraper.extract.decode import DecodedPage, decode_html, decode_page, repair_mojibake, settle_fix

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


# --- remembering a source's repair (decode_page, settle_fix) ------------------------------------------

SHORT = "<html><head><title>حرب غزة</title></head><body><h1>حرب غزة</h1></body></html>"


def test_latin1_label_on_windows_1256_is_arabic_and_a_fix_to_remember() -> None:
    # Apache's default "ISO-8859-1" stamped on a windows-1256 page: every Arabic byte is a Latin letter.
    page = decode_page(ARABIC.encode("cp1256"), "text/html; charset=ISO-8859-1")
    assert (page.text, page.encoding, page.fix) == (ARABIC, "windows-1256", "charset:windows-1256")


@pytest.mark.parametrize("french", ["Café crème à Genève, où l'été dure.", "Café crème à Genève"])
def test_latin1_label_on_latin1_text_is_kept(french: str) -> None:
    # The second has no byte ISO-8859-6 leaves unassigned: every accent reads as an Arabic letter there.
    page = decode_page(f"<p>{french}</p>".encode("latin-1"), "text/html; charset=ISO-8859-1")
    assert (page.encoding, page.fix, page.clean) == ("windows-1252", None, False)
    assert french in page.text


def test_a_remembered_charset_decodes_what_detection_gets_wrong() -> None:
    body = SHORT.encode("iso8859_6")
    alone = decode_page(body)
    assert "حرب عزة" in alone.text and alone.encoding == "windows-1256"  # the bytes fit both code pages
    page = decode_page(body, fix="charset:iso-8859-6")
    assert "حرب غزة" in page.text and (page.fix, page.refused) == ("charset:iso-8859-6", None)


def test_a_remembered_charset_is_refused_on_utf8_and_on_latin_text() -> None:
    page = decode_page(SHORT.encode("utf-8"), fix="charset:windows-1256")
    assert "حرب غزة" in page.text and (page.fix, page.clean, page.refused) == (None, True, "charset:windows-1256")
    latin = decode_page("<p>Café crème à Genève</p>".encode("latin-1"), "text/html; charset=iso-8859-1",
                        fix="charset:iso-8859-6")
    assert "Café crème" in latin.text and latin.refused == "charset:iso-8859-6"


def test_a_remembered_charset_the_page_now_declares_is_no_longer_needed() -> None:
    page = decode_page(ARABIC.encode("cp1256"), "text/html; charset=windows-1256", fix="charset:windows-1256")
    assert (page.text, page.fix, page.clean) == (ARABIC, None, True)


def test_mojibake_is_a_fix_to_remember() -> None:
    mojibake = ARABIC.encode("utf-8").decode("latin-1").encode("utf-8")
    page = decode_page(mojibake, "text/html; charset=utf-8")
    assert (page.text, page.fix) == (ARABIC, "mojibake:cp1252")
    assert decode_page(mojibake, fix="mojibake:cp1252").fix == "mojibake:cp1252"
    clean = decode_page(ARABIC.encode("utf-8"), fix="mojibake:cp1252")
    assert (clean.text, clean.fix, clean.clean, clean.refused) == (ARABIC, None, True, "mojibake:cp1252")


def test_settle_fix() -> None:
    needs = DecodedPage("", "windows-1256", "charset:windows-1256", False)
    clean = DecodedPage("", "utf-8", None, True)
    ascii_only = DecodedPage("", "utf-8", None, False)
    assert settle_fix(None, [needs, clean]) == "charset:windows-1256"
    assert settle_fix("charset:windows-1256", [clean]) is None
    assert settle_fix("charset:windows-1256", [ascii_only]) == "charset:windows-1256"  # no evidence either way
    assert settle_fix("charset:windows-1256", []) == "charset:windows-1256"
    empty = decode_page(b"", fix="charset:windows-1256")  # refused, but says nothing about the charset
    assert empty.refused and settle_fix("charset:windows-1256", [empty]) == "charset:windows-1256"
