# One image for every process of the service: the default command serves the API;
# docker-compose.yml runs the same image as `workflow migrate`, `workflow worker` and
# `workflow beat`.
#
# Two stages: the first installs the package (with its templates, catalogues and
# migrations, all package data) into a virtual environment; the image keeps only that
# environment, so it holds one copy of the code, the installed one.

FROM python:3.11-slim AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src

# Only what the install needs. The globs let the build go on when README.md or
# requirements.lock is absent (a wildcard that matches nothing is not an error).
COPY pyproject.toml README.md* requirements.lock* ./
COPY workflow/ ./workflow/

# requirements.lock is a pip-freeze file used as constraints. pip refuses editable and
# URL entries as constraints, and a freeze taken in a development checkout lists the
# project itself as `-e <path>`, so those lines and the project's own pin are dropped.
# The last check: the templates came with the package, whatever the working directory.
RUN set -eux; \
    python -m venv /opt/workflow; \
    if [ -f requirements.lock ]; then \
        grep -vE '^[[:space:]]*(-e|--editable)([[:space:]]|=)|^[[:space:]]*forum[-_.]workflow([^A-Za-z0-9_.-]|$)| @ ' \
            requirements.lock > /tmp/constraints.txt || true; \
        /opt/workflow/bin/pip install --no-cache-dir -c /tmp/constraints.txt . ; \
    else \
        /opt/workflow/bin/pip install --no-cache-dir . ; \
    fi; \
    /opt/workflow/bin/workflow --help > /dev/null; \
    cd / && /opt/workflow/bin/python -c \
        "from workflow.i18n import TEMPLATES_DIR; assert (TEMPLATES_DIR / 'email' / 'session.txt').is_file(), TEMPLATES_DIR"

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/workflow/bin:$PATH

RUN groupadd --system --gid 10001 workflow \
 && useradd --system --uid 10001 --gid workflow --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin workflow

COPY --from=build /opt/workflow /opt/workflow

WORKDIR /app

# WORKFLOW_DATA_DIR holds beat's schedule file. Created here, owned by the service user,
# so a named volume mounted on it starts out with the right ownership.
RUN mkdir -p /app/data && chown workflow:workflow /app/data
ENV WORKFLOW_DATA_DIR=/app/data

USER workflow

EXPOSE 8000

# Liveness of the API process only (no curl in the slim image). Containers that run the
# worker, beat or migrate disable this check in docker-compose.yml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["workflow", "api", "--host", "0.0.0.0", "--port", "8000"]
