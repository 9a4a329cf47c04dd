"""Only the C extension lives here; everything else is in pyproject.toml.

The generic extractor's walk (scraper/extract/_lexwalk.c) needs a C compiler. ``optional``: without
one the install still succeeds and the pure-Python walk runs (same output, about half the speed)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "scraper.extract._lexwalk",
            sources=["scraper/extract/_lexwalk.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall"],
            optional=True,
        )
    ]
)
