# Logoff's container image: docs/deploy.md. Build with `docker build -t logoff .` (or podman).
#
# BASE is any Debian-based image with Python 3.11+ at /usr/local/bin or /usr/bin (the official
# python:*-slim images, or Debian's own python3); both stages use it, because the virtual
# environment built in the first links to its interpreter.
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS build
# Extras of the logoff package to install: e2e for encrypted Matrix rooms, metrics for
# Prometheus on /metrics; "" for none.
ARG EXTRAS=e2e,metrics
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
# The bot is built as a wheel and installed from it, so the image holds what a release holds.
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/logoff \
    && /opt/logoff/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && wheel="$(ls /wheels/logoff-*.whl)" \
    && /opt/logoff/bin/pip install "logoff${EXTRAS:+[$EXTRAS]} @ file://${wheel}" \
    && /opt/logoff/bin/python -m compileall -q /opt/logoff/lib \
    && /opt/logoff/bin/python -P -m bot.app.dataclass_cache --write \
    && /opt/logoff/bin/logoff --help > /dev/null

FROM ${BASE}
ARG VERSION=0.1.0
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.title="Logoff" \
      org.opencontainers.image.description="A self-hosted commitment bot for Discord and Matrix: log on only to the degree that it helps you log off." \
      org.opencontainers.image.licenses="AGPL-3.0-or-later" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.documentation="docs/deploy.md in the source"

# DejaVu is the font of the weekly summary picture (bot/messages/picture_canvas.py); without
# it the picture falls back to Pillow's built-in font, which lacks many letters.
# A fixed uid/gid, so a bind-mounted /data can be prepared with `chown 10001:10001`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 logoff \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin logoff \
    && mkdir -m 0700 /data && chown 10001:10001 /data
COPY --from=build /opt/logoff /opt/logoff
COPY --chmod=0755 deploy/container/entrypoint.sh /usr/local/bin/logoff-entrypoint
COPY --chmod=0755 deploy/container/healthcheck.py /usr/local/bin/logoff-healthcheck
COPY --chmod=0644 config.example.toml /usr/share/logoff/config.example.toml

# /data holds everything that lasts: the SQLite database, Matrix sync token and keys, Discord
# state, backups you make, and /data/config.toml if you use a file (read from the working
# directory; LOGOFF_* variables otherwise, and they win over the file). Nothing else is written, so the image runs with a read-only root (and /tmp on
# a tmpfs).
# The HTTP listener (/health, /ready, /metrics) on every interface of the container's own
# network; publish it only where your monitoring runs (`-p 127.0.0.1:8080:8080`), or set
# LOGOFF_HTTP_ADDRESS="" to turn it off (the health check then only says so).
ENV PATH=/opt/logoff/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOGOFF_BOT_DATA_DIR=/data \
    LOGOFF_HTTP_ADDRESS=0.0.0.0:8080
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001

EXPOSE 8080
# GET /health on LOGOFF_HTTP_ADDRESS (a wildcard host is probed on the loopback address):
# healthy while the process answers and its loop turns. Readiness (database, platforms,
# scheduler) is GET /ready, for an orchestrator or your monitoring (docs/deploy.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["logoff-healthcheck"]

# The bot stops cleanly on SIGINT (it finishes what it is sending and closes the database).
STOPSIGNAL SIGINT
ENTRYPOINT ["logoff-entrypoint"]
CMD ["run"]
