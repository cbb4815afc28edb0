"""The instance file (dagster.yaml) that Dagster's Helm chart renders from deploy/helm/values.yaml.

The `helm` CLI cannot be installed from this machine's package registries (no Debian or PyPI
package ships it) and the chart's repository is not reachable, so the tests cannot run
`helm template`. This module is a port of the part of the chart that becomes the instance
ConfigMap: `templates/configmap-instance.yaml` and its helpers `helpers/instance/_postgresql.tpl`,
`_run-launcher.tpl` (K8sRunLauncher), `_run-coordinator.tpl` (QueuedRunCoordinator) and
`_concurrency.tpl`, as read in the dagster-io/dagster sources. Only the branches our values take
are ported; any other choice (another run launcher, compute log manager, scheduler...) raises
``Unported`` instead of guessing, so the port cannot silently drift from the values.

One deliberate difference from the older template sources: the coordinator's, scheduler's and
compute log manager's module is ``dagster._core...`` (``dagster.core`` no longer exists in
Dagster 1.13, so a chart rendering it could not load; the test that builds the instance would
show it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
HELM_DIR = REPO / "deploy" / "helm"
VALUES_FILE = HELM_DIR / "values.yaml"
#: The chart release the values are written for: the one of the pinned Dagster set.
CHART_VERSION = "1.13.27"
#: What the docs install: `helm upgrade --install supplybrain-dagster ... -n supplybrain`.
RELEASE = "supplybrain-dagster"
NAMESPACE = "supplybrain"
#: The chart's default for global.dagsterHome (our image's DAGSTER_HOME too).
DEFAULT_DAGSTER_HOME = "/opt/dagster/dagster_home"


class Unported(ValueError):
    """The values take a branch of the chart that this port does not render."""


def load_values(path: Path = VALUES_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def fullname(values: dict[str, Any], release: str = RELEASE) -> str:
    """`dagster.fullname`: the override, else the release name (+ "-dagster" unless it
    already contains the chart name). Chart sources differ on where the override lives (top
    level or under global), so the values set none and the tests refuse one."""
    if values.get("fullnameOverride") or values.get("global", {}).get("fullnameOverride"):
        raise Unported("fullnameOverride")
    name = values.get("nameOverride") or "dagster"
    return release if name in release else f"{release}-{name}"


def _postgres_config(values: dict[str, Any]) -> dict[str, Any]:
    pg = values["postgresql"]
    if pg.get("enabled", True):
        raise Unported("postgresql.enabled: the bundled PostgreSQL is not ported")
    config = {
        "postgres_db": {
            "username": pg["postgresqlUsername"],
            "password": {"env": "DAGSTER_PG_PASSWORD"},
            "hostname": pg["postgresqlHost"],
            "db_name": pg["postgresqlDatabase"],
            "port": pg["service"]["port"],
            "params": pg.get("postgresqlParams") or {},
        }
    }
    if pg.get("postgresqlScheme"):
        config["postgres_db"]["scheme"] = pg["postgresqlScheme"]
    return {"config": config}


def postgresql_secret_name(values: dict[str, Any]) -> str:
    return values.get("global", {}).get("postgresqlSecretName", "dagster-postgresql-secret")


def service_account_name(values: dict[str, Any]) -> str:
    return (values.get("global", {}).get("serviceAccountName")
            or values.get("serviceAccount", {}).get("name") or fullname(values))


def _names(entries: list[dict[str, Any]] | None) -> list[str]:
    return [e["name"] for e in entries or [] if "name" in e]


def _k8s_run_launcher(values: dict[str, Any], namespace: str) -> dict[str, Any]:
    launcher = values["runLauncher"]
    if launcher["type"] != "K8sRunLauncher":
        raise Unported(f"runLauncher.type {launcher['type']}")
    c = launcher["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {"load_incluster_config": c["loadInclusterConfig"]}
    if c.get("kubeconfigFile"):
        config["kubeconfig_file"] = c["kubeconfigFile"]
    config["job_namespace"] = c.get("jobNamespace") or namespace
    config["image_pull_policy"] = c["imagePullPolicy"]
    if values.get("imagePullSecrets"):
        config["image_pull_secrets"] = values["imagePullSecrets"]
    config["service_account_name"] = service_account_name(values)
    if "image" in c:
        raise Unported("runLauncher...k8sRunLauncher.image: runs take the code location's image")
    config["dagster_home"] = values.get("global", {}).get("dagsterHome", DEFAULT_DAGSTER_HOME)
    config["instance_config_map"] = f"{fullname(values)}-instance"
    config["postgres_password_secret"] = postgresql_secret_name(values)
    for key, out in (("envConfigMaps", "env_config_maps"), ("envSecrets", "env_secrets")):
        if c.get(key):
            config[out] = _names(c[key])
    for key, out in (("envVars", "env_vars"), ("volumeMounts", "volume_mounts"),
                     ("volumes", "volumes"), ("labels", "labels"), ("resources", "resources"),
                     ("securityContext", "security_context")):
        if c.get(key):
            config[out] = c[key]
    if c.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    if c.get("schedulerName"):
        config["scheduler_name"] = c["schedulerName"]
    if c.get("runK8sConfig"):
        r = c["runK8sConfig"]
        config["run_k8s_config"] = {
            out: r[key]
            for key, out in (("containerConfig", "container_config"),
                             ("podSpecConfig", "pod_spec_config"),
                             ("podTemplateSpecMetadata", "pod_template_spec_metadata"),
                             ("jobSpecConfig", "job_spec_config"),
                             ("jobMetadata", "job_metadata"))
            if r.get(key)
        }
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _queued_run_coordinator(values: dict[str, Any]) -> dict[str, Any] | None:
    daemon = values["dagsterDaemon"]
    coordinator = daemon.get("runCoordinator", {})
    if not (daemon.get("enabled") and coordinator.get("enabled")):
        return None
    if coordinator["type"] != "QueuedRunCoordinator":
        raise Unported(f"runCoordinator.type {coordinator['type']}")
    q = coordinator.get("config", {}).get("queuedRunCoordinator") or {}
    concurrency_enabled = values.get("concurrency", {}).get("enabled", False)
    out: dict[str, Any] = {"module": "dagster._core.run_coordinator",
                           "class": "QueuedRunCoordinator"}
    if not any(v is not None for v in q.values()):  # `compact (values ...)` is empty
        return out
    config: dict[str, Any] = {}
    if not concurrency_enabled or q.get("maxConcurrentRuns") is not None:
        mcr = q.get("maxConcurrentRuns")
        config["max_concurrent_runs"] = -1 if mcr is None else mcr
    if q.get("tagConcurrencyLimits"):
        config["tag_concurrency_limits"] = q["tagConcurrencyLimits"]
    for key, field in (("dequeueIntervalSeconds", "dequeue_interval_seconds"),
                       ("dequeueUseThreads", "dequeue_use_threads"),
                       ("dequeueNumWorkers", "dequeue_num_workers")):
        if q.get(key):
            config[field] = q[key]
    if q.get("blockOpConcurrencyLimitedRuns"):
        raise Unported("blockOpConcurrencyLimitedRuns")
    out["config"] = config
    return out


def _concurrency(values: dict[str, Any]) -> dict[str, Any] | None:
    """`dagsterYaml.concurrency`, with its check that the limit is not set twice."""
    concurrency = values.get("concurrency", {})
    if not concurrency.get("enabled"):
        return None
    runs = concurrency.get("runs", {})
    coordinator = values["dagsterDaemon"].get("runCoordinator", {})
    q = (coordinator.get("config", {}).get("queuedRunCoordinator") or {}) \
        if coordinator.get("enabled") and coordinator.get("type") == "QueuedRunCoordinator" else {}
    if runs.get("maxConcurrentRuns") is not None and q.get("maxConcurrentRuns") is not None:
        raise ValueError("Cannot set both concurrency.runs.maxConcurrentRuns and "
                         "dagsterDaemon.runCoordinator.config.queuedRunCoordinator.maxConcurrentRuns")
    if concurrency.get("pools"):
        raise Unported("concurrency.pools")
    out: dict[str, Any] = {}
    rendered_runs: dict[str, Any] = {}
    if runs.get("maxConcurrentRuns") is not None:
        rendered_runs["max_concurrent_runs"] = runs["maxConcurrentRuns"]
    if runs.get("tagConcurrencyLimits"):
        rendered_runs["tag_concurrency_limits"] = runs["tagConcurrencyLimits"]
    if rendered_runs:
        out["runs"] = rendered_runs
    return out


def render_instance(values: dict[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """The parsed dagster.yaml of the ConfigMap `<fullname>-instance`."""
    if values.get("scheduler", {}).get("type", "DagsterDaemonScheduler") != \
            "DagsterDaemonScheduler":
        raise Unported("scheduler.type")
    storage = _postgres_config(values)
    instance: dict[str, Any] = {
        "scheduler": {"module": "dagster._core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage",
                             "class": "PostgresScheduleStorage", **storage},
        "run_launcher": _k8s_run_launcher(values, namespace),
        "run_storage": {"module": "dagster_postgres.run_storage",
                        "class": "PostgresRunStorage", **storage},
        "event_log_storage": {"module": "dagster_postgres.event_log",
                              "class": "PostgresEventLogStorage", **storage},
    }
    coordinator = _queued_run_coordinator(values)
    if coordinator is not None:
        instance["run_coordinator"] = coordinator
    if values.get("computeLogManager", {}).get("type") != "NoOpComputeLogManager":
        # (the older template sources write an empty key for LocalComputeLogManager, which
        # Dagster 1.13 refuses: "compute_logs must not be None")
        raise Unported("computeLogManager.type")
    instance["compute_logs"] = {"module": "dagster._core.storage.noop_compute_log_manager",
                                "class": "NoOpComputeLogManager"}
    if values.get("pythonLogs"):
        raise Unported("pythonLogs")
    daemon = values["dagsterDaemon"]
    for key in ("runMonitoring", "runRetries"):
        if daemon.get("enabled") and daemon.get(key, {}).get("enabled"):
            raise Unported(f"dagsterDaemon.{key} (we set them through additionalInstanceConfig)")
    for key in ("sensors", "schedules"):
        if daemon.get(key, {}).get("useThreads"):
            raise Unported(f"dagsterDaemon.{key}.useThreads")
    instance["telemetry"] = {"enabled": values["telemetry"]["enabled"]}
    retention = values.get("retention", {})
    if retention.get("enabled"):
        instance["retention"] = {
            kind: {"purge_after_days": retention[kind]["purgeAfterDays"]}
            for kind in ("sensor", "schedule") if retention.get(kind)
        }
    concurrency = _concurrency(values)
    if concurrency is not None:
        instance["concurrency"] = concurrency
    for key, value in (values.get("additionalInstanceConfig") or {}).items():
        if key in instance:  # a duplicate YAML key: which one wins is the parser's choice
            raise ValueError(f"additionalInstanceConfig repeats the rendered key {key!r}")
        instance[key] = value
    return instance


def user_deployment(values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def image_name(image: dict[str, Any]) -> str:
    return f"{image['repository']}:{image['tag']}"
