# syntax=docker/dockerfile:1.7
# Multi-stage image: the build stage resolves the locked dependencies with uv into /app/.venv;
# the runtime stage is slim, has no compiler or uv, and runs as an unprivileged user.
#   docker build -t lms-backend .
#   docker run -p 8000:8000 --env-file .env lms-backend                 # API (lms serve)
#   docker run --env-file .env lms-backend lms worker                   # Celery worker
#   docker run --env-file .env lms-backend lms migrate                  # one-shot migrations

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
RUN pip install "uv>=0.4"
WORKDIR /app
# Dependencies first: this layer is reused until pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python
COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN uv sync --frozen --no-dev --python /usr/local/bin/python

FROM python:${PYTHON_VERSION}-slim AS runtime
LABEL org.opencontainers.image.title="lms-backend" \
      org.opencontainers.image.description="LMS backend API, Celery worker and beat"
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=4 \
    VAR_DIR=/app/var \
    UPLOAD_DIR=/app/var/uploads \
    CERTIFICATES_DIR=/app/var/certificates \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN groupadd --system --gid 10001 lms \
    && useradd --system --uid 10001 --gid lms --home-dir /app --shell /usr/sbin/nologin lms
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# Only the runtime state folders are writable by the service user; the code is read-only.
RUN mkdir -p /app/var/uploads /app/var/certificates /tmp/prometheus \
    && chown -R lms:lms /app/var /tmp/prometheus
USER lms
EXPOSE 8000
# The probe sends Host: localhost, which TRUSTED_HOSTS must keep (the default does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; r = u.urlopen(u.Request('http://127.0.0.1:8000/api/v1/health', headers={'Host': 'localhost'}), timeout=4); sys.exit(0 if r.status == 200 else 1)"]
CMD ["lms", "serve"]
