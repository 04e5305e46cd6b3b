# archops: one image for every part; the command chooses it (bot, worker, web, monitor).
#   docker build -t archops:0.1.0 .
#   docker run --rm archops:0.1.0 web --host 0.0.0.0
# The build stage installs the application, the web app's browser modules, the provider
# plugin with its derived schemas and checkov's own environment; the final stage copies them
# onto a slim base and runs as an unprivileged user with a read-only root filesystem (the data
# folder and /tmp are volumes).

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    ARCHOPS_CACHE_DIR=/opt/archops/cache
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts/ scripts/
COPY core/ core/
COPY agents/ agents/
COPY bot/ bot/
COPY web/ web/
COPY scanner/ scanner/
COPY monitor/ monitor/
COPY cli/ cli/
COPY tfplugin/ tfplugin/
# the application, web/node_modules, the provider schemas and checkov (scripts/setup-validation)
RUN scripts/setup \
 && find /app/.venv /opt/archops/cache -name '__pycache__' -prune -exec rm -rf {} + \
 && rm -rf /opt/archops/cache/wheels

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="archops" \
      org.opencontainers.image.description="ChatOps for a Well-Architected AWS foundation"
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARCHOPS_CACHE_DIR=/opt/archops/cache \
    ARCHOPS_DATA_DIR=/var/lib/archops \
    ARCHOPS_LOG_FORMAT=json \
    HOME=/tmp \
    TMPDIR=/tmp
# Graphviz's dot lays the diagram out on the server for browsers without WebAssembly
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends graphviz \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 archops \
 && useradd --uid 10001 --gid archops --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin archops \
 && install -d -o archops -g archops -m 0700 /var/lib/archops
COPY --from=build /app /app
COPY --from=build /opt/archops /opt/archops
WORKDIR /app
USER 10001:10001
EXPOSE 8080 3000 9464
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ARCHOPS_PROBE_PORT', '9464') + '/healthz', timeout=2)"]
ENTRYPOINT ["archops"]
CMD ["web", "--host", "0.0.0.0"]
