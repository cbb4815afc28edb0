"""The Kubernetes deployment's tests need dagster-k8s, an optional extra (pyproject.toml `k8s`):
`scripts/test` (make test, CI) installs it; a bare `make dev` / `make lint` sync removes it."""

try:
    import dagster_k8s  # noqa: F401
except ImportError as error:  # a clear failure, not a skip: CI must run these tests
    raise ImportError("supplybrain_pipelines_tests/deploy needs the `k8s` extra: run "
                      "./scripts/bootstrap.sh --extra k8s (scripts/test does)") from error
