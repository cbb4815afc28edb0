"""The Kubernetes Job that dagster-k8s builds for a run of each of the project's jobs (issue 15).

No cluster: the instance is the one the chart renders from deploy/helm/values.yaml (chart.py),
loaded by Dagster with its storage on the tests' PostgreSQL, so its run launcher is the real
``K8sRunLauncher`` built from that config. The launcher's ``launch_run`` runs unchanged: it builds
the Job with ``construct_dagster_k8s_job`` and hands it to the Kubernetes API client, whose one
call we replace with a recorder (the Kubernetes client is not ours; there is no API server here).
In-cluster config loading is skipped the same way.

The run's origin is what the chart's code server reports: the code location's module and its
image (the chart sets DAGSTER_CURRENT_IMAGE from the deployment's image). The values switch
includeConfigInLaunchedRuns off, so the origin carries no container context of the deployment's
(the test checks that setting); everything else comes from the run launcher's config.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes
import pytest
import yaml
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster_k8s import K8sRunLauncher

from supplybrain_pipelines import config as app_config
from supplybrain_pipelines.resources import notifier
from supplybrain_pipelines_tests.deploy.chart import (
    NAMESPACE,
    image_name,
    load_values,
    render_instance,
    user_deployment,
)

#: Secret values put in this process's environment: none may reach a rendered Job.
SENTINELS = {
    app_config.DATABASE_URL_ENV: "postgresql+psycopg://u:sentinel-db-pw-5c1d@db:5432/x",
    app_config.TOKEN_KEY_ENV: "sentinel-token-key-9e2b",
    notifier.WEBHOOK_URL_ENV: "https://api.example.org/botsentinel-bot-token-77aa/sendMessage",
    notifier.TELEGRAM_CHAT_ID_ENV: "sentinel-chat-4411",
    "DAGSTER_PG_PASSWORD": "sentinel-pg-password-31f0",
}
#: Environment entries a run container may carry as literal values: none of them is a secret.
LITERAL_ENV_ALLOWED = {"DAGSTER_HOME", "DAGSTER_RUN_JOB_NAME", "PYTHONPATH",
                       "DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT"}


class RecordingBatchApi:
    """Stands in for the Kubernetes API's ``create_namespaced_job_with_retries``."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, Any]] = []

    def create_namespaced_job_with_retries(self, body: Any, namespace: str) -> None:
        self.jobs.append((namespace, body))


def _project_jobs() -> list[dg.JobDefinition]:
    from supplybrain_pipelines.definitions import defs

    return list(defs.get_repository_def().get_all_jobs())


def _origin(values: dict, job_name: str) -> JobPythonOrigin:
    deployment = user_deployment(values)
    # with it on, the chart would hand the code server's env, Secrets and resources to each run
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": False}
    grpc_args = deployment["dagsterApiGrpcArgs"]
    module = grpc_args[grpc_args.index("-m") + 1]
    return JobPythonOrigin(job_name, RepositoryPythonOrigin(
        executable_path="/opt/dagster/app/.venv/bin/python",
        code_pointer=ModuleCodePointer(module, "defs", working_directory="/opt/dagster/app"),
        container_image=image_name(deployment["image"]),
        entry_point=["dagster"],
    ))


@pytest.fixture
def launched(dagster_storage_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """{job name: the Job dict} for a run of every project job, plus the values."""
    values = load_values()
    instance_yaml = render_instance(values)
    # Only where Dagster's storage is: the tests' PostgreSQL instead of the placeholder host.
    import os

    db = {"hostname": os.environ["DAGSTER_PG_HOST"], "port": int(os.environ["DAGSTER_PG_PORT"]),
          "username": os.environ["DAGSTER_PG_USER"], "db_name": os.environ["DAGSTER_PG_DB"]}
    for key in ("run_storage", "event_log_storage", "schedule_storage"):
        instance_yaml[key]["config"]["postgres_db"].update(db)
    for name, value in SENTINELS.items():
        monkeypatch.setenv(name, value)  # the tests' server trusts local connections
    monkeypatch.setattr(kubernetes.config, "load_incluster_config", lambda: None)
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml, sort_keys=False))

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        launcher = instance.run_launcher
        assert isinstance(launcher, K8sRunLauncher)
        api = RecordingBatchApi()
        launcher._api_client = api  # noqa: SLF001 - the one call that would reach a cluster
        jobs = {}
        for job in _project_jobs():
            run = instance.add_run(DagsterRun(
                job_name=job.name, run_id=str(uuid.uuid4()), tags=dict(job.run_tags),
                status=DagsterRunStatus.STARTING, job_code_origin=_origin(values, job.name)))
            launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
            namespace, body = api.jobs[-1]
            assert namespace == NAMESPACE
            jobs[job.name] = kubernetes.client.ApiClient().sanitize_for_serialization(body)
        yield values, jobs
    finally:
        instance.dispose()


def _containers(job: dict) -> list[dict]:
    spec = job["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_a_job_per_project_job_with_the_code_locations_image(launched) -> None:
    values, jobs = launched
    assert {"ingest", "planning", "monitoring", "monitoring_retention",
            "observe_sources"} <= set(jobs)
    image = image_name(user_deployment(values)["image"])
    assert image == "registry.example.com/supplybrain/supplybrain-pipelines:k8s-0.1.0"
    for name, job in jobs.items():
        (container,) = _containers(job)
        assert container["image"] == image, name
        assert container["imagePullPolicy"] == "IfNotPresent", name
        assert container["args"][:3] == ["dagster", "api", "execute_run"], name
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["DAGSTER_RUN_JOB_NAME"] == name
        assert job["spec"]["template"]["spec"]["serviceAccountName"] == "supplybrain-dagster"
        assert job["spec"]["ttlSecondsAfterFinished"] == 86400, name


def test_every_secret_comes_from_a_secret_reference(launched) -> None:
    _values, jobs = launched
    for name, job in jobs.items():
        text = json.dumps(job)
        for env_name, secret in SENTINELS.items():
            assert secret not in text, f"{name}: the value of {env_name} is in the Job"
        (container,) = _containers(job)
        env = {e["name"]: e for e in container.get("env", [])}
        assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "supplybrain-dagster-postgresql", "key": "postgresql-password"}, name
        literal = {n for n, e in env.items() if "value" in e}
        assert literal <= LITERAL_ENV_ALLOWED, f"{name}: literal {literal - LITERAL_ENV_ALLOWED}"
        secret_refs = {s["secretRef"]["name"] for s in container.get("envFrom", [])
                       if "secretRef" in s}
        assert secret_refs == {"supplybrain-env"}, name
        config_maps = {s["configMapRef"]["name"] for s in container.get("envFrom", [])
                       if "configMapRef" in s}
        assert not config_maps, f"{name}: env from ConfigMaps {config_maps}"


def test_every_run_carries_the_chosen_resources(launched) -> None:
    values, jobs = launched
    chosen = values["runLauncher"]["config"]["k8sRunLauncher"]["resources"]
    assert chosen == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    for name, job in jobs.items():
        (container,) = _containers(job)
        assert container["resources"] == chosen, name
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT"] == "2", name


def test_jobs_are_labelled_for_kubectl(launched) -> None:
    """`kubectl logs -l dagster/job=monitoring` (docs/deploy_kubernetes.md) finds the run pods;
    the label is the job name, sanitized for Kubernetes."""
    _values, jobs = launched
    assert jobs["monitoring"]["metadata"]["labels"]["dagster/job"] == "monitoring"
    pod_labels = jobs["monitoring"]["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["dagster/job"] == "monitoring"
    assert "dagster/run-id" in pod_labels
    assert jobs["__ASSET_JOB"]["metadata"]["labels"]["dagster/job"] == "ASSET_JOB"
