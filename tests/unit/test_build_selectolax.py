"""scripts/build_selectolax.py's edits, applied to the pinned sdist's own files (tests/fixtures/build): each seek
lands in its state's body, not in the prototype; the SSE2 blocks and the version label go in; sources that
are not the pristine ones are refused with the file named, so the Makefile falls back to the unpatched
build instead of compiling something half-edited."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "tests/fixtures/build/selectolax-1.0.2-tokenizer-sources.tar.gz"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_selectolax", ROOT / "scripts/build_selectolax.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _script()


@pytest.fixture
def sdist(tmp_path: Path) -> Path:
    with tarfile.open(SOURCES) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "selectolax-1.0.2"


def _body(text: str, function: str) -> str:
    start = text.rindex(f"\n{function}(lxb_html_tokenizer_t *tkz,\n")
    return text[start:text.index("\n}\n", start)]


def test_each_seek_goes_in_front_of_its_states_loop(sdist: Path) -> None:
    build.patch_sources(sdist, "1.0.2")
    lexbor = sdist / build.LEXBOR
    for relative, function, chars in build.SEEKS:
        text = (lexbor / relative).read_text()
        seek = f"data = lexbor_swar_seek{len(chars)}(data, end, {', '.join(chars)});"
        body = _body(text, function)
        assert body.index(seek) < body.index("while (data != end)")
        assert text.count(seek) == 1, relative
        assert text.count(build.SWAR_INCLUDE) == 1, relative
    # state.c had two seeks of its own (text, double-quoted values); they stay as they were.
    assert (lexbor / "html/tokenizer/state.c").read_text().count("lexbor_swar_seek4(") == 3


def test_the_swar_seeks_get_sse2_blocks_and_the_version_its_label(sdist: Path) -> None:
    build.patch_sources(sdist, "1.0.2")
    swar = (sdist / build.LEXBOR / "core/swar.h").read_text()
    assert swar.count("#include <emmintrin.h>") == 1
    blocks = re.findall(r"lexbor_swar_seek(\d)\(.*?_mm_movemask_epi8\((.*?)\);", swar, re.S)
    assert [(n, body.count("_mm_cmpeq_epi8")) for n, body in blocks] == [("4", 4), ("3", 3)]
    assert "version = '1.0.2+scraper1'" in (sdist / "pyproject.toml").read_text()
    assert 'version="1.0.2+scraper1"' in (sdist / "setup.py").read_text()


def test_sources_already_edited_or_missing_are_refused(sdist: Path, tmp_path: Path) -> None:
    build.patch_sources(sdist, "1.0.2")
    edited = {path: path.read_bytes() for path in sdist.rglob("*") if path.is_file()}
    with pytest.raises(build.PatchError, match=r"pyproject.toml: expected text found 0 times"):
        build.patch_sources(sdist, "1.0.2")
    assert {path: path.read_bytes() for path in sdist.rglob("*") if path.is_file()} == edited  # untouched
    with pytest.raises(build.PatchError, match=r"pyproject.toml: expected text found 0 times"):
        build.patch_sources(sdist, "1.0.3")
    (tmp_path / "other").mkdir()
    (tmp_path / "other/pyproject.toml").write_text("version = '1.0.2'\n")
    (tmp_path / "other/setup.py").write_text('version="1.0.2",\n')
    with pytest.raises(build.PatchError, match=r"swar.h: expected text found 0 times"):
        build.patch_sources(tmp_path / "other", "1.0.2")


def test_the_version_pinned_is_the_one_installed() -> None:
    assert build.pinned_version() == importlib.metadata.version("selectolax").split("+")[0]
