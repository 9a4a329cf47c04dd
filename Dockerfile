# syntax=docker/dockerfile:1
# scraper: the daemon (scheduler + web/API on one port) or a queue worker, from one image.
#   docker build -t scraper .        docker run -p 8000:8000 -v scraper-data:/data -v ./sources.yaml:/config/sources.yaml:ro scraper
# The install is the project's own: `pip install -e .` from pyproject.toml, as the Makefile and CI do.
# Editable because scraper/store/db.py finds the alembic/ migrations beside the package (/app/alembic).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Only what the install and the runtime need (see .dockerignore): no tests, bench, data or .env.
COPY pyproject.toml setup.py README.md alembic.ini ./
COPY alembic ./alembic
COPY scraper ./scraper
COPY docker/entrypoint.sh ./docker/entrypoint.sh
COPY scripts/build_selectolax.py ./scripts/build_selectolax.py
# gcc builds the extractor's C walk (scraper/extract/_lexwalk.c) and selectolax with link-time optimisation
# and lexbor's faster scans (see the Makefile and scripts/build_selectolax.py); only this stage has it.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
RUN pip install --upgrade pip setuptools \
    && LTO="-O3 -flto=auto -fno-semantic-interposition" \
    && CFLAGS="$LTO" LDFLAGS="$LTO" python scripts/build_selectolax.py --pip pip \
    && CFLAGS="$LTO" LDFLAGS="$LTO" pip install --no-binary selectolax -e . \
    && python -c "import importlib.metadata as m; v = m.version('selectolax'); assert '+scraper' in v, v" \
    && python -c "from scraper.extract import generic; assert generic._native, 'C walk not built'" \
    && python -m compileall -q /app/scraper \
    && chmod 0755 /app/docker/entrypoint.sh

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="scraper" \
      org.opencontainers.image.description="Watches Arabic news sources, stores every article, alerts on tracked topics"
# Same paths as the build stage: the venv's scripts and the editable install point at /opt/venv and /app.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
RUN groupadd --system --gid 10001 scraper \
    && useradd --system --uid 10001 --gid scraper --home-dir /data --no-create-home --shell /usr/sbin/nologin scraper \
    && mkdir -p /data /config \
    && chown scraper:scraper /data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/scraper.db \
    SCRAPER_CONFIG=/config/sources.yaml \
    SCRAPER_WEB_HOST=0.0.0.0 \
    SCRAPER_WEB_PORT=8000 \
    SCRAPER_LOG_FORMAT=json
WORKDIR /data
VOLUME ["/data"]
USER scraper
EXPOSE 8000
# The daemon finishes in-flight work on SIGTERM and exits 0 (give it `stop_grace_period: 40s`).
STOPSIGNAL SIGTERM
# Python, not curl: the slim image has no curl. urlopen raises on 503, so an unhealthy answer fails too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SCRAPER_WEB_PORT', '8000') + '/healthz', timeout=4)"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["run"]
