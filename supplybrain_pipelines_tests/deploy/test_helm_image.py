"""Everything deploy/helm names exists in the image built from the Dockerfiles (issue 15): the
commands the chart and the migration Job run, the files and folders they point at, and the
environment variables they set, which the code (or Dagster) reads. As in test_compose.py, no
Docker engine: the files are parsed as data and the commands are resolved against this venv,
which holds what the image's `uv sync --extra k8s` installs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from supplybrain_pipelines import config as app_config
from supplybrain_pipelines.resources import notifier
from supplybrain_pipelines_tests.deploy.chart import (
    DEFAULT_DAGSTER_HOME,
    HELM_DIR,
    REPO,
    image_name,
    load_values,
    postgresql_secret_name,
    user_deployment,
)
from supplybrain_pipelines_tests.test_compose import (
    DAGSTER_HOME,
    _dockerfile_instructions,
    _dockerignore_patterns,
    _ignored,
)

VENV_BIN = Path(sys.executable).parent
APP_DIR = "/opt/dagster/app"  # the Dockerfile's WORKDIR
#: The application Secret's keys: each one a variable the code reads.
APP_SECRET_KEYS = {app_config.DATABASE_URL_ENV, app_config.TOKEN_KEY_ENV,
                   notifier.WEBHOOK_URL_ENV, notifier.WEBHOOK_FORMAT_ENV,
                   notifier.TELEGRAM_CHAT_ID_ENV}


@pytest.fixture(scope="module")
def values() -> dict:
    return load_values()


@pytest.fixture(scope="module")
def migrate_job() -> dict:
    return yaml.safe_load((HELM_DIR / "migrate-job.yaml").read_text())


#: The deployment guide's `kubectl create secret generic` commands: the one place that names
#: the Secrets and their keys (no example Secret file: nothing secret-looking is tracked).
DEPLOY_DOC = HELM_DIR.parent.parent / "docs" / "deploy_kubernetes.md"


@pytest.fixture(scope="module")
def secrets() -> dict[str, dict[str, str | None]]:
    """Secret name -> {key: literal value, or None for a key read from a file}."""
    text = DEPLOY_DOC.read_text().replace("\\\n", " ")
    found: dict[str, dict[str, str | None]] = {}
    for line in text.splitlines():
        match = re.search(r"create secret generic (\S+)(.*)", line)
        if match:
            found[match[1]] = {key: (None if kind == "file" else value) for kind, key, value
                               in re.findall(r"--from-(file|literal)=([^=\s]+)=(\S*)",
                                             match[2])}
    return found


def _run(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / cmd[0]), *cmd[1:]], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_one_image_for_every_pod_and_the_migration(values: dict, migrate_job: dict) -> None:
    images = {image_name(values["dagsterWebserver"]["image"]),
              image_name(values["dagsterDaemon"]["image"]),
              image_name(user_deployment(values)["image"])}
    (container,) = migrate_job["spec"]["template"]["spec"]["containers"]
    images.add(container["image"])
    assert images == {"registry.example.com/supplybrain/supplybrain-pipelines:k8s-0.1.0"}


def test_the_k8s_image_adds_only_the_k8s_extra_to_the_project_image() -> None:
    lines = [ln.strip() for ln in (HELM_DIR / "Dockerfile").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines[:2] == ["ARG BASE_IMAGE=supplybrain-pipelines:local", "FROM ${BASE_IMAGE}"]
    assert "RUN uv sync --frozen --no-dev --extra k8s --compile-bytecode" in lines
    assert lines[-1] == "USER dagster"  # back to the base image's non-root user
    assert not any(ln.split()[0] in ("COPY", "ADD") for ln in lines)  # no build context needed
    # the base image (docker-compose's) has uv, the lock and the project where uv sync runs
    base = _dockerfile_instructions()
    assert ("WORKDIR", APP_DIR) in base
    assert any(i == "RUN" and "pip install" in a and "uv==" in a for i, a in base)
    assert ("COPY", "pyproject.toml uv.lock README.md ./") in base
    assert 'k8s = ["dagster-k8s==0.29.27"]' in (REPO / "pyproject.toml").read_text()
    assert 'name = "dagster-k8s"' in (REPO / "uv.lock").read_text()


def test_dagster_home_is_the_images(values: dict) -> None:
    assert values.get("global", {}).get("dagsterHome", DEFAULT_DAGSTER_HOME) == DAGSTER_HOME


def test_the_code_location_module_exists_and_loads() -> None:
    args = user_deployment(load_values())["dagsterApiGrpcArgs"]
    assert args == ["-m", "supplybrain_pipelines.definitions"]
    proc = subprocess.run(
        [sys.executable, "-c", "import supplybrain_pipelines.definitions as d; "
         "import dagster as dg; assert isinstance(d.defs, dg.Definitions)"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # copied into the image, not excluded by .dockerignore
    copies = [a for i, a in _dockerfile_instructions() if i == "COPY"]
    assert "supplybrain_pipelines/ ./supplybrain_pipelines/" in copies
    assert not _ignored("supplybrain_pipelines/definitions.py", _dockerignore_patterns())


#: The chart's commands: `dagster api grpc -h 0.0.0.0 -p <port> <dagsterApiGrpcArgs>`, its probes
#: `dagster api grpc-health-check -p <port>`, the webserver and the daemon (and their probe), the
#: chart's optional `dagster instance migrate`; the run Jobs' `dagster api execute_run`
#: (test_helm_run_job.py); the migration Job's command.
CHART_COMMANDS = {
    ("dagster", "api", "grpc"): ("-h", "-p", "-m"),
    ("dagster", "api", "grpc-health-check"): ("-p",),
    ("dagster", "api", "execute_run"): (),
    ("dagster-webserver",): ("-h", "-p", "-w"),
    ("dagster-daemon", "run"): (),
    ("dagster-daemon", "liveness-check"): (),
    ("dagster", "instance", "migrate"): (),
    ("supplybrain", "db", "upgrade"): (),
}


@pytest.fixture(scope="module")
def help_results() -> dict[tuple[str, ...], subprocess.CompletedProcess]:
    """`<cmd> --help` for each command, run concurrently (each imports dagster)."""
    procs = {cmd: subprocess.Popen([str(VENV_BIN / cmd[0]), *cmd[1:], "--help"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for cmd in CHART_COMMANDS}
    results = {}
    for cmd, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[cmd] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return results


@pytest.mark.parametrize("cmd", list(CHART_COMMANDS), ids=" ".join)
def test_commands_the_chart_runs_exist(cmd: tuple[str, ...], help_results: dict) -> None:
    proc = help_results[cmd]
    assert proc.returncode == 0, proc.stderr[-1000:]
    for flag in CHART_COMMANDS[cmd]:
        assert f"{flag}," in proc.stdout or f"{flag} " in proc.stdout, f"{cmd}: {flag}"


def test_the_migration_job_runs_the_migration_command(migrate_job: dict, values: dict,
                                                     help_results: dict) -> None:
    spec = migrate_job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    command = container["command"]
    assert command[:3] == ["supplybrain", "db", "upgrade"]
    assert (VENV_BIN / "supplybrain").is_file()  # the console script of pyproject.toml
    assert 'supplybrain = "supplybrain_pipelines.cli:main"' in (REPO / "pyproject.toml").read_text()
    proc = help_results[("supplybrain", "db", "upgrade")]
    assert proc.returncode == 0, proc.stderr
    for flag in (w for w in command if w.startswith("-")):
        assert flag in proc.stdout, flag
    assert spec["restartPolicy"] == "Never"
    # the namespace's default account: the Job needs no Kubernetes API, and runs before the
    # chart has created its own account
    assert "serviceAccountName" not in spec
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {app_config.DAGSTER_DB_ENV: values["postgresql"]["postgresqlDatabase"]}
    assert container["envFrom"] == [{"secretRef": {"name": "supplybrain-env"}}]


def test_every_secret_the_values_name_is_created_in_the_guide(
        values: dict, migrate_job: dict, secrets: dict[str, dict[str, str | None]]) -> None:
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    named = {s["name"] for s in launcher["envSecrets"]}
    named |= {s["name"] for s in user_deployment(values)["envSecrets"]}
    named.add(postgresql_secret_name(values))
    assert named == set(secrets) == {"supplybrain-env", "supplybrain-dagster-postgresql"}
    assert set(secrets["supplybrain-dagster-postgresql"]) == {"postgresql-password"}
    assert set(secrets["supplybrain-env"]) == APP_SECRET_KEYS
    # credentials come from files; a literal is empty, nothing that could be a real credential
    for keys in secrets.values():
        for key, value in keys.items():
            assert value is None or value == "", key


def test_every_variable_set_is_read_by_the_code_or_dagster(values: dict) -> None:
    launcher_vars = [v.split("=", 1) for v in
                     values["runLauncher"]["config"]["k8sRunLauncher"]["envVars"]]
    set_vars = {**dict(launcher_vars), **user_deployment(values)["env"]}
    assert set(set_vars) == {"PYTHONPATH", "DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT"}
    # read by Dagster's multiprocess executor when a job sets no max_concurrent of its own
    import inspect

    from dagster._core.executor import multiprocess

    source = inspect.getsource(multiprocess.MultiprocessExecutor.__init__)
    assert 'os.getenv("DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT")' in source
    assert int(set_vars["DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT"]) == 2
    pystartup = set_vars["PYTHONPATH"]
    assert pystartup == dict(launcher_vars)["PYTHONPATH"] == user_deployment(values)["env"][
        "PYTHONPATH"]
    assert pystartup.startswith(f"{APP_DIR}/")
    local = REPO / pystartup.removeprefix(f"{APP_DIR}/")
    assert (local / "sitecustomize.py").is_file()
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert compose["x-dagster-env"]["PYTHONPATH"] == pystartup


def test_the_webserver_reads_its_pool_recycle_variable(values: dict) -> None:
    """DAGSTER_WEBSERVER_DB_POOL_RECYCLE is --db-pool-recycle (click's envvar prefix): a bad value
    is refused by that option, which shows the variable is read."""
    assert values["dagsterWebserver"]["env"] == {"DAGSTER_WEBSERVER_DB_POOL_RECYCLE": "0"}
    proc = _run("dagster-webserver", env={"DAGSTER_WEBSERVER_DB_POOL_RECYCLE": "not-a-number"})
    assert proc.returncode != 0
    assert "--db-pool-recycle" in proc.stderr, proc.stderr[-1000:]


def test_the_code_server_reads_the_charts_instance_file(values: dict) -> None:
    """Not the image's own deploy/dagster.yaml (compose's variables and run launcher)."""
    from supplybrain_pipelines_tests.deploy.chart import fullname

    deployment = user_deployment(values)
    (volume,) = deployment["volumes"]
    assert volume["configMap"]["name"] == f"{fullname(values)}-instance"
    (mount,) = deployment["volumeMounts"]
    assert mount == {"name": volume["name"], "mountPath": f"{DAGSTER_HOME}/dagster.yaml",
                     "subPath": "dagster.yaml"}
