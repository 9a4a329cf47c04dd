"""Build selectolax (the version pinned in pyproject.toml) from its source with a speed patch to the lexbor it
bundles, and install it into the venv whose pip is given.

    .venv/bin/python scripts/build_selectolax.py [--pip .venv/bin/pip]

Why: lexbor's tokenizer scans the bodies of <script> and <style>, comments, <title>/<textarea> and
single-quoted attribute values one byte at a time. The patch finds the next byte that matters 16 bytes at a
time (SSE2), as lexbor already does, 8 at a time, for text and double-quoted values: the English benchmark's
parse is ~18% faster, with the same tree (bench/RESULTS.extraction.md). The version gets the local label
`+scraper1`, which still satisfies the `==` pin and shows which build is installed.

CFLAGS/LDFLAGS are taken from the environment (the Makefile passes link-time optimisation). The wheel is
cached under $XDG_CACHE_HOME/scraper (~/.cache/scraper), keyed by this file, the flags and the Python. Exit 0:
installed. Otherwise a one-line reason on stderr and nothing installed: the Makefile then installs selectolax
unpatched, which parses the same, only slower.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL_LABEL = "scraper1"  # bump with any change to the edits below
LEXBOR = Path("lexbor/source/lexbor")
# Each state's loop starts right after this line; the seek goes in front of the loop.
LOOP_START = "    lxb_html_tokenizer_state_begin_set(tkz, data);\n\n    while (data != end) {"
# (file, the state function, the bytes the state's loop stops at): the loop's own switch cases.
SEEKS = (
    ("html/tokenizer/state_script.c", "lxb_html_tokenizer_state_script_data", ("0x3C", "0x0D", "0x00")),
    ("html/tokenizer/state_rawtext.c", "lxb_html_tokenizer_state_rawtext", ("0x3C", "0x0D", "0x00")),
    ("html/tokenizer/state_comment.c", "lxb_html_tokenizer_state_comment", ("0x3C", "0x2D", "0x0D", "0x00")),
    ("html/tokenizer/state_rcdata.c", "lxb_html_tokenizer_state_rcdata", ("0x3C", "0x26", "0x0D", "0x00")),
    ("html/tokenizer/state.c", "lxb_html_tokenizer_state_attribute_value_single_quoted",
     ("0x27", "0x26", "0x0D", "0x00")),
)
SWAR_INCLUDE = '#include "lexbor/core/swar.h"\n'


class PatchError(Exception):
    """The sources are not the ones the edits were written for."""


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if text.count(old) != 1:
        raise PatchError(f"{path}: expected text found {text.count(old)} times, not once: {old[:60]!r}")
    path.write_text(text.replace(old, new), encoding="utf-8")


def sse2_block(chars: tuple[str, ...]) -> str:
    """16 bytes a step until one of ``chars``; the SWAR loop after it takes the tail (< 16 bytes)."""
    found = f"_mm_cmpeq_epi8(v, _mm_set1_epi8((char) {chars[0]}))"
    for char in chars[1:]:
        found = f"_mm_or_si128({found},\n                   _mm_cmpeq_epi8(v, _mm_set1_epi8((char) {char})))"
    return f"""#if defined(__SSE2__)
    /* Patched for scraper: 16 bytes a step; the SWAR loop below takes the tail. */
    __m128i v;
    int mask;

    while (end - data >= 16) {{
        v = _mm_loadu_si128((const __m128i *) data);
        mask = _mm_movemask_epi8({found});

        if (mask != 0) {{
            return data + __builtin_ctz((unsigned) mask);
        }}

        data += 16;
    }}
#endif

"""


def patch_swar(lexbor: Path) -> None:
    swar = lexbor / "core/swar.h"
    replace_once(swar, '#include "lexbor/core/base.h"\n',
                 '#include "lexbor/core/base.h"\n\n#if defined(__SSE2__)\n#include <emmintrin.h>\n#endif\n')
    for params in (("c1", "c2", "c3", "c4"), ("c1", "c2", "c3")):
        name = f"lexbor_swar_seek{len(params)}(const lxb_char_t *data"
        text = swar.read_text(encoding="utf-8")
        start = text.find(name)
        loop = text.find("    if (LEXBOR_SWAR_IS_LITTLE_ENDIAN) {", start)
        if start < 0 or loop < 0:
            raise PatchError(f"{swar}: no {name} with a SWAR loop")
        swar.write_text(text[:loop] + sse2_block(params) + text[loop:], encoding="utf-8")


def add_seek(path: Path, function: str, chars: tuple[str, ...]) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    definition = text.rfind(f"\n{function}(lxb_html_tokenizer_t *tkz,\n")  # the last one: not the prototype
    loop = text.find(LOOP_START, definition)
    if definition < 0 or loop < 0 or text.find("\n}\n", definition) < loop:
        raise PatchError(f"{path}: no {function} whose body starts with its scanning loop")
    seek = f"    data = lexbor_swar_seek{len(chars)}(data, end, {', '.join(chars)});\n\n"
    head, loop_line = LOOP_START.split("\n\n")
    path.write_text(text[:loop] + head + "\n\n" + seek + loop_line + text[loop + len(LOOP_START):],
                    encoding="utf-8")
    if SWAR_INCLUDE not in text:
        replace_once(path, '#include "lexbor/html/tokenizer/state.h"\n',
                     '#include "lexbor/html/tokenizer/state.h"\n' + SWAR_INCLUDE)


def patch_sources(source: Path, version: str) -> None:
    """The edits, on an unpacked selectolax sdist; PatchError if any does not apply exactly. The version goes
    first: sources of another version, or already edited, are refused before anything else is touched."""
    labelled = f"{version}+{LOCAL_LABEL}"
    replace_once(source / "pyproject.toml", f"version = '{version}'", f"version = '{labelled}'")
    replace_once(source / "setup.py", f'version="{version}"', f'version="{labelled}"')
    lexbor = source / LEXBOR
    patch_swar(lexbor)
    for relative, function, chars in SEEKS:
        add_seek(lexbor / relative, function, chars)


def pinned_version() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for requirement in pyproject["project"]["dependencies"]:
        name, _, version = requirement.partition("==")
        if name.strip() == "selectolax" and version:
            return version.strip()
    raise PatchError("pyproject.toml does not pin selectolax with ==")


def cache_dir(version: str) -> Path:
    key = hashlib.sha256()
    for part in (Path(__file__).read_bytes(), os.environ.get("CFLAGS", "").encode(),
                 os.environ.get("LDFLAGS", "").encode(), sys.version.encode(), sys.platform.encode()):
        key.update(part + b"\0")
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "scraper" / f"selectolax-{version}+{LOCAL_LABEL}-{key.hexdigest()[:16]}"


def build(pip: str, version: str, wheels: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="selectolax-build-") as tmp:
        work = Path(tmp)
        subprocess.run([pip, "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                        f"selectolax=={version}", "-d", str(work)], check=True)
        (archive,) = work.glob("selectolax-*.tar.gz")
        with tarfile.open(archive) as tar:  # the "data" filter where this Python has it (3.11.4+ and backports)
            tar.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        source = work / f"selectolax-{version}"
        patch_sources(source, version)
        subprocess.run([pip, "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pip", default=str(ROOT / ".venv/bin/pip"))
    args = ap.parse_args()
    try:
        version = pinned_version()
        wheels = cache_dir(version)
        if not list(wheels.glob("selectolax-*.whl")):
            build(args.pip, version, wheels)
            for stale in wheels.parent.glob("selectolax-*"):  # builds of an earlier script or other flags
                if stale != wheels:
                    shutil.rmtree(stale, ignore_errors=True)
        (wheel,) = wheels.glob("selectolax-*.whl")
        subprocess.run([args.pip, "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)], check=True)
    except (PatchError, subprocess.CalledProcessError, OSError, ValueError) as exc:
        print(f"build_selectolax: patched selectolax not installed: {exc}", file=sys.stderr)
        return 1
    print(f"build_selectolax: installed {wheel.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
