"""decode_html / repair_mojibake: Arabic code pages without declarations, lying headers, mojibake."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from scraper.extract.article import _parse_input, extract_article
from scraper.extract.decode import (
    DecodedPage,
    _meta_charset,
    _meta_charset_in_head,
    decode_for_parse,
    decode_html,
    decode_page,
    has_mojibake,
    repair_mojibake,
    settle_fix,
    utf8_has_mojibake,
)

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


# --- fast paths: undeclared ASCII, and parsing a plain UTF-8 page from its own bytes ----------------------

ASCII_PAGE = b"<html><head><title>Plain</title></head><body><p>Nothing but ASCII here.</p></body></html>"


def test_undeclared_ascii_is_windows_1252_with_nothing_to_repair() -> None:
    page = decode_page(ASCII_PAGE)
    assert page == DecodedPage(ASCII_PAGE.decode(), "windows-1252", None, False)
    assert decode_for_parse(ASCII_PAGE) == (ASCII_PAGE, ASCII_PAGE.count(b"<"))
    # The detector's "ascii" used to come back as the repair "charset:windows-1252", which then
    # outvoted a source's real repair.
    assert settle_fix("charset:windows-1256", [page]) == "charset:windows-1256"


def test_ascii_with_nul_bytes_is_still_detected_as_utf16() -> None:
    body = ASCII_PAGE.decode().encode("utf-16-le")  # no BOM: every other byte is NUL
    page = decode_page(body)
    assert (page.text, page.encoding, page.fix) == (ASCII_PAGE.decode(), "utf-16-le", "charset:utf-16-le")
    assert decode_for_parse(body) == (ASCII_PAGE.decode(), None)  # the text, not the bytes


def test_declared_latin1_ascii_page_is_parsed_from_its_bytes() -> None:
    assert decode_for_parse(ASCII_PAGE, "text/html; charset=ISO-8859-1")[0] is ASCII_PAGE


def test_utf8_page_with_bom_is_parsed_from_its_bytes_without_the_bom() -> None:
    body = b"\xef\xbb\xbf" + ARABIC.encode("utf-8")
    assert decode_for_parse(body) == (ARABIC.encode("utf-8"), None)  # the bytes after the BOM, not counted
    assert decode_page(body) == DecodedPage(ARABIC, "utf-8", None, True)
    from_bytes, from_text = extract_article(body, "https://example.com/a"), extract_article(ARABIC, "https://example.com/a")
    assert (from_bytes.title, from_bytes.paragraphs) == (from_text.title, from_text.paragraphs) == (
        "الأخبار", ["مرحبا بالعالم العربي، أخبار اليوم"])


@pytest.mark.parametrize("repeat", [1, 3])  # 3: few enough bad bytes for the "mostly UTF-8" rule
def test_invalid_utf8_page_is_parsed_from_its_text(repeat: int) -> None:
    para = "<p>مرحبا بالعالم العربي، أخبار اليوم</p>"
    body = f"<html><head><title>الأخبار</title></head><body>{para * repeat}</body></html>".encode()
    body = body.replace("العربي".encode(), "العربي".encode() + b"\xff", 1)
    text = body.decode("utf-8", errors="replace")
    assert decode_for_parse(body) == (text, None)
    assert decode_page(body) == DecodedPage(text, "utf-8", None, True)
    assert extract_article(body, "https://example.com/a").paragraphs[0] == "مرحبا بالعالم العربي\ufffd، أخبار اليوم"


def test_clean_is_read_from_the_utf8_bytes() -> None:
    english = "<html><body><p>Café – “quoted” ©</p></body></html>".encode()
    assert decode_page(english) == DecodedPage(english.decode(), "utf-8", None, False)
    assert decode_for_parse(english)[0] is english
    mojibake = ARABIC.encode("utf-8").decode("latin-1").encode("utf-8")
    assert decode_for_parse(mojibake) == (ARABIC, None)  # repaired: not the bytes' own decoding


def test_decoded_page_hands_its_utf8_bytes_to_the_parser() -> None:
    # The daemon decodes first (decode_page) and passes the bytes on, so lexbor need not re-encode the text.
    from scraper.extract.article import extract_article

    html = ("<html><head><title>محادثات طهران وموسكو</title></head><body><article><p>قال المتحدث إن الوفدين "
            "اتفقا، بعد يومين من المحادثات، على خطة عمل مشتركة.</p></article></body></html>").encode()
    page = decode_page(html, "text/html; charset=utf-8")
    assert page.utf8 == html
    assert page.utf8 is html  # the parser takes the bytes (the text is built only if read)
    via_bytes = extract_article(page, "https://example.com/a")
    via_text = extract_article(page.text, "https://example.com/a")
    assert (via_bytes.title, via_bytes.paragraphs) == (via_text.title, via_text.paragraphs)
    assert via_bytes.paragraphs == ["قال المتحدث إن الوفدين اتفقا، بعد يومين من المحادثات، على خطة عمل مشتركة."]
    mojibake = decode_page("<p>Ø§Ù„Ù…ØªØ­Ø¯Ø«</p>".encode(), "text/html; charset=utf-8")
    assert mojibake.fix == "mojibake:cp1252" and mojibake.utf8 is None  # repaired text is not those bytes


def test_declared_utf8_with_one_stray_byte_stays_utf8() -> None:
    # Was handed to the detector, which called such Arabic pages ptcp154 or iso8859-10: Latin garbage.
    body = ("<html><head><meta charset=utf-8></head><body><p>" + "مرحبا بالعالم العربي، أخبار اليوم " * 20
            + "</p></body></html>").encode().replace("اليوم".encode(), "اليوم".encode() + b"\xff", 1)
    page = decode_page(body, "text/html; charset=utf-8")
    assert page.encoding == "utf-8" and page.fix is None
    assert page.text.count("\ufffd") == 1
    assert "مرحبا بالعالم العربي، أخبار اليوم\ufffd" in page.text


# --- cheaper paths with the same results: <meta> scan, UTF-8 before labels, mojibake hint from bytes ------

HEAD_PAD = "<script>var a = '<b>x</b>';</script>" * 40  # '<' that is neither a head end nor a <meta>


@pytest.mark.parametrize(
    ("page", "label"),
    [
        (b'<html><head><meta charset="UTF-8"></head><body>', "UTF-8"),
        (b"<HTML><HEAD><META HTTP-EQUIV=Content-Type CONTENT='text/html; CHARSET=Windows-1256'></HEAD>",
         "Windows-1256"),
        (b"<head><title>t</title></HEAD ><meta charset=iso-8859-6>", None),  # after the head: not trusted
        (b"<head><title>t</title><BODY class=x><meta charset=iso-8859-6>", None),
        (b"<head><bodyguard><meta charset=iso-8859-6>", "iso-8859-6"),  # <bodyguard> is no <body
        (b"<head></head  \n><meta charset=cp1256>", None),
        (b"<head></head  x><meta charset=cp1256>", "cp1256"),  # not a head end: "\s*>" fails
        (f"<head>{HEAD_PAD}<meta name=x><Meta Charset = 'utf-8'>".encode(), "utf-8"),  # no head end at all
        (b"<meta charset=utf-8</head>", "utf-8"),  # the head ends right after the label
        (b"<meta content='<body' charset=cp1256>", None),  # a head end inside the declaration cuts it short
        (b"<meta content='</HEAD>' charset=cp1256><meta charset=utf-8>", None),  # ... and the next one too
        (b"<meta x='</head' charset=cp1256>", "cp1256"),  # "</head" alone (no '>') is no head end
        (b"<meta x=<bodyx charset=cp1256>", "cp1256"),
        (b"<p>" * (600 * 1024 // 3) + b"<meta charset=cp1256>", None),  # past the 512 kB scanned without a head end
        (b"<p>" * (500 * 1024 // 3) + b"<meta charset=cp1256>", "cp1256"),
        (b"<p>" * (512 * 1024 // 3) + b"<meta charset=cp1256>", None),  # crosses the limit
        (b"no markup", None),
    ],
)
def test_meta_charset_is_the_first_declaration_before_the_head_end(page: bytes, label: str | None) -> None:
    assert _meta_charset(page) == label
    assert _meta_charset_in_head(page) == label  # its definition: search the head's end, then before it


def test_valid_utf8_is_decoded_before_labels_are_read() -> None:
    # Non-ASCII UTF-8 is UTF-8 whatever the header or <meta> say: the <meta> scan is skipped, same result.
    body = ARABIC.replace("<head>", '<head><meta charset="windows-1256">').encode()
    for content_type in (None, "text/html; charset=iso-8859-6", "text/html; charset=utf-16"):
        assert decode_page(body, content_type) == DecodedPage(body.decode(), "utf-8", None, True)
        assert decode_for_parse(body, content_type)[0] is body


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [(None, "windows-1252"), ("text/html; charset=utf-8", "utf-8"), ("text/html; charset=windows-1256", "windows-1256"),
     ("text/html; charset=utf-16", "windows-1252")],
)
def test_ascii_page_is_decoded_as_declared(content_type: str | None, encoding: str) -> None:
    page = decode_page(ASCII_PAGE, content_type)
    assert page == DecodedPage(ASCII_PAGE.decode(), encoding, None, False)
    assert page.utf8 is ASCII_PAGE
    meta = ASCII_PAGE.replace(b"<head>", b"<head><meta charset=windows-1256>")
    assert decode_page(meta) == DecodedPage(meta.decode(), "windows-1256", None, False)


MOJIBAKE = ARABIC.encode("utf-8").decode("latin-1").encode("utf-8")


@pytest.mark.parametrize(
    ("body", "text", "fix"),
    [
        (MOJIBAKE, ARABIC, "mojibake:cp1252"),
        ("é".encode() * 40 + MOJIBAKE, "é" * 40 + ARABIC, "mojibake:cp1252"),  # more Latin letters than are checked
        ("<p>Øresund, Ù, Ø!</p>".encode(), "<p>Øresund, Ù, Ø!</p>", None),  # Ø not before a continuation char
        # the hint, but no repair: the run "Ø§à\x80\x80" is no UTF-8 (E0 80 80 is overlong)
        ("<p>Ø§à\u0080\u0080</p>".encode(), "<p>Ø§à\u0080\u0080</p>", None),
        ("<p>café crème à Genève</p>".encode() * 20, "<p>café crème à Genève</p>" * 20, None),
        ("<p>Ā ā – “x”</p>".encode(), "<p>Ā ā – “x”</p>", None),  # other lead bytes, no C3
    ],
)
def test_mojibake_hint_read_from_utf8_bytes(body: bytes, text: str, fix: str | None) -> None:
    assert utf8_has_mojibake(body) == has_mojibake(body.decode())
    assert _parse_input(body.decode(), None)[0] == text.encode()  # a str page: repaired, then encoded
    page = decode_page(body)
    assert (page.text, page.encoding, page.fix) == (text, "utf-8", fix)
    assert page.utf8 == (None if fix else body)
    assert decode_for_parse(body)[0] == (text if fix else body)


@pytest.mark.parametrize("body", [
    b"", ASCII_PAGE, ARABIC.encode("utf-8"), b"\xef\xbb\xbf" + ARABIC.encode("utf-8"), MOJIBAKE,
    ARABIC.encode("cp1256"), ASCII_PAGE.decode().encode("utf-16-le"), ARABIC.encode("utf-8") + b"\xff",
])
def test_decoding_without_the_extension_gives_the_same(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the C scan (no compiler, or SCRAPER_PURE_PYTHON_EXTRACT=1) the strict decoder decides instead.
    from scraper.extract import article, decode

    with_scan = (decode_page(body), decode_for_parse(body)[0], extract_article(body, "https://e.com/a").body
                 if body else None)
    monkeypatch.setattr(decode, "_scan_utf8", None)
    monkeypatch.setattr(article, "_scan_utf8", None)
    monkeypatch.setattr(article, "_encode_utf8", None)
    assert not body or decode_for_parse(body)[1] is None  # no count without the scan (an empty body: 0)
    assert (decode_page(body), decode_for_parse(body)[0], extract_article(body, "https://e.com/a").body
            if body else None) == with_scan
