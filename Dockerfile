# One image for all Dagster services (user_code, webserver, daemon, migrate).
# Runs use the DefaultRunLauncher, so they execute as subprocesses of the user_code
# container; that is why the image carries both our code and the instance config.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /opt/dagster/app

# Dependencies first (cached layer), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --compile-bytecode

COPY supplybrain_pipelines/ ./supplybrain_pipelines/
RUN uv sync --frozen --no-dev --compile-bytecode

ENV PATH="/opt/dagster/app/.venv/bin:${PATH}" \
    DAGSTER_HOME=/opt/dagster/dagster_home

COPY deploy/dagster.yaml ${DAGSTER_HOME}/dagster.yaml
COPY deploy/workspace.docker.yaml ${DAGSTER_HOME}/workspace.yaml

# Non-root runtime user. Code and venv stay root-owned (read-only for the service);
# only DAGSTER_HOME is writable (dagster keeps local state such as .telemetry there).
# ${DAGSTER_HOME}/storage holds the compute logs (run stdout/stderr); compose mounts the named
# volume dagster_storage there, and a new named volume takes this folder's owner, so uid 10001
# can write into it.
RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --create-home --home-dir /home/dagster dagster \
    && mkdir -p "${DAGSTER_HOME}/storage" \
    && chown dagster:dagster "${DAGSTER_HOME}" "${DAGSTER_HOME}/storage"
USER dagster

EXPOSE 3000 4000

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "supplybrain_pipelines.definitions"]
