"""Static checks of the docker-compose deployment (docker-compose.yml, Dockerfile, workspace).

No Docker engine is needed: the compose file and Dockerfile are parsed as data, and every
command they name is resolved against this project's venv. The only test that needs the
`docker compose` CLI plugin skips itself when it is not installed.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
WORKSPACE_FILE = REPO / "deploy" / "workspace.docker.yaml"
VENV_BIN = Path(sys.executable).parent

DAGSTER_SERVICES = ("migrate", "user_code", "webserver", "daemon")
ALL_SERVICES = ("postgres", *DAGSTER_SERVICES)
# Executables that live in other images, not in ours.
EXEMPT_EXECUTABLES = {"pg_isready"}
DAGSTER_HOME = "/opt/dagster/dagster_home"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _words(cmd: str | list[str]) -> list[str]:
    return shlex.split(cmd) if isinstance(cmd, str) else [str(w) for w in cmd]


def _healthcheck_words(service: dict) -> list[str]:
    """The command of a healthcheck `test`, without the CMD / CMD-SHELL marker."""
    test = service["healthcheck"]["test"]
    if isinstance(test, str):  # plain string = CMD-SHELL
        return shlex.split(test)
    kind, *rest = test
    if kind == "CMD-SHELL":
        return shlex.split(" ".join(rest))
    assert kind == "CMD", f"unexpected healthcheck form {test!r}"
    return [str(w) for w in rest]


def _depends_on(service: dict) -> dict:
    dep = service.get("depends_on", {})
    assert isinstance(dep, dict), "depends_on must use the long form with conditions"
    return dep


# --------------------------------------------------------------------------- compose shape


def test_all_services_present(services: dict) -> None:
    assert set(ALL_SERVICES) <= set(services), sorted(services)


def test_dagster_services_share_one_image_and_network(compose: dict, services: dict) -> None:
    networks = set(compose.get("networks", {}))
    assert len(networks) == 1, networks
    for name in ALL_SERVICES:
        assert set(services[name].get("networks", [])) == networks, name
    images = {services[name]["image"] for name in DAGSTER_SERVICES}
    assert images == {"supplybrain-pipelines:local"}
    for name in DAGSTER_SERVICES:
        assert services[name]["build"] == ".", name


def test_dagster_services_share_environment(services: dict) -> None:
    base = {k: v for k, v in services["migrate"]["environment"].items()
            if k != "SUPPLYBRAIN_TOKEN_KEY_FILE"}
    for key in (
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_PORT",
        "DAGSTER_PG_USER",
        "DAGSTER_PG_PASSWORD",
        "DAGSTER_PG_DB",
        "SUPPLYBRAIN_DATABASE_URL",
    ):
        assert key in base, key
    assert base["DAGSTER_PG_HOST"] == "postgres"
    assert "@postgres:5432/supplybrain" in base["SUPPLYBRAIN_DATABASE_URL"]
    # No committed password: it must come from interpolation.
    assert base["DAGSTER_PG_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    for name in DAGSTER_SERVICES:
        env = services[name]["environment"]
        assert {k: env[k] for k in base} == base, name


#: The services that run our code and so decrypt marketplace tokens.
TOKEN_KEY_SERVICES = ("migrate", "user_code")


def test_the_token_key_is_a_compose_secret_given_only_to_our_code(compose: dict,
                                                                   services: dict) -> None:
    """The key that encrypts tokens at rest comes from a compose secret (a file outside the
    repository, git- and docker-ignored), never from a committed value or the database."""
    secret = compose["secrets"]["token_key"]
    assert set(secret) == {"file"}
    assert secret["file"] == "${SUPPLYBRAIN_TOKEN_KEY_SECRET_FILE:-./secrets/token.key}"
    for name in TOKEN_KEY_SERVICES:
        assert services[name]["secrets"] == ["token_key"], name
        env = services[name]["environment"]
        assert env["SUPPLYBRAIN_TOKEN_KEY_FILE"] == "/run/secrets/token_key", name
        assert "SUPPLYBRAIN_TOKEN_KEY" not in env, name
    for name in set(ALL_SERVICES) - set(TOKEN_KEY_SERVICES):
        assert "secrets" not in services[name], name
        assert not any(k.startswith("SUPPLYBRAIN_TOKEN_KEY")
                       for k in services[name].get("environment", {})), name
    for ignore_file in (REPO / ".gitignore", DOCKERIGNORE):
        patterns = [ln.strip() for ln in ignore_file.read_text().splitlines()]
        assert "secrets/" in patterns or "secrets" in patterns, ignore_file.name
    assert _ignored("secrets/token.key", _dockerignore_patterns())


def test_postgres_healthcheck_uses_pg_isready(services: dict) -> None:
    pg = services["postgres"]
    assert pg["image"].startswith("postgres:")
    assert _healthcheck_words(pg)[0] == "pg_isready"
    for key in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert key in pg["environment"], key
    assert pg.get("volumes"), "postgres data must live in a named volume"


def test_user_code_healthcheck_uses_grpc_health_check(services: dict) -> None:
    words = _healthcheck_words(services["user_code"])
    assert words[:3] == ["dagster", "api", "grpc-health-check"]
    assert "4000" in words


def test_webserver_healthcheck_hits_server_info(services: dict) -> None:
    web = services["webserver"]
    assert any("/server_info" in w for w in _healthcheck_words(web))
    assert "127.0.0.1:3000:3000" in web["ports"]


def test_daemon_healthcheck_uses_liveness_check_with_tolerance(services: dict) -> None:
    daemon = services["daemon"]
    assert _healthcheck_words(daemon)[:2] == ["dagster-daemon", "liveness-check"]
    assert str(daemon["environment"]["DAGSTER_DAEMON_HEARTBEAT_TOLERANCE"]) == "120"
    assert daemon["restart"] == "on-failure"


def test_dagster_services_wait_for_healthy_postgres(services: dict) -> None:
    for name in DAGSTER_SERVICES:
        dep = _depends_on(services[name])
        assert dep.get("postgres", {}).get("condition") == "service_healthy", name


def test_migrate_is_one_shot_and_gates_user_code(services: dict) -> None:
    migrate = services["migrate"]
    assert str(migrate["restart"]) == "no"
    assert "healthcheck" not in migrate
    assert _words(migrate["command"])[:3] == ["supplybrain", "db", "upgrade"]
    dep = _depends_on(services["user_code"])
    assert dep.get("migrate", {}).get("condition") == "service_completed_successfully"


def test_webserver_and_daemon_wait_for_healthy_user_code(services: dict) -> None:
    for name in ("webserver", "daemon"):
        dep = _depends_on(services[name])
        assert dep.get("user_code", {}).get("condition") == "service_healthy", name


def test_workspace_points_at_user_code_service(services: dict) -> None:
    workspace = yaml.safe_load(WORKSPACE_FILE.read_text())
    (entry,) = workspace["load_from"]
    grpc = entry["grpc_server"]
    assert grpc["host"] == "user_code"
    assert grpc["host"] in services
    assert int(grpc["port"]) == 4000
    assert grpc["location_name"] == "supplybrain_pipelines"
    assert "4000" in _words(services["user_code"]["command"])
    for name in ("webserver", "daemon"):
        assert f"{DAGSTER_HOME}/workspace.yaml" in _words(services[name]["command"]), name


# --------------------------------------------------------------------------- executables


def _named_executables(services: dict) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name, svc in services.items():
        for key in ("command", "entrypoint"):
            if svc.get(key):
                found.append((f"{name}.{key}", _words(svc[key])[0]))
        if "healthcheck" in svc:
            found.append((f"{name}.healthcheck", _healthcheck_words(svc)[0]))
    return found


def test_named_executables_exist_in_venv(services: dict) -> None:
    named = _named_executables(services)
    assert {exe for _, exe in named} >= {"supplybrain", "dagster", "dagster-daemon"}
    missing = [
        f"{where}: {exe}"
        for where, exe in named
        if exe not in EXEMPT_EXECUTABLES
        and not ((VENV_BIN / exe).is_file() and os.access(VENV_BIN / exe, os.X_OK))
    ]
    assert not missing, f"not executables in {VENV_BIN}: {missing}"


def test_supplybrain_console_script_is_importable() -> None:
    """The `supplybrain` script in bin/ is only a shim; the module behind it must exist."""
    proc = subprocess.run(
        [sys.executable, "-c", "from supplybrain_pipelines.cli import main; assert callable(main)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


HELP_COMMANDS = (
    ("dagster", "code-server", "start"),
    ("dagster", "api", "grpc-health-check"),
    ("dagster-daemon", "liveness-check"),
    ("dagster-daemon", "run"),
    ("dagster-webserver",),
)


@pytest.fixture(scope="module")
def help_results() -> dict[tuple[str, ...], subprocess.CompletedProcess]:
    """`<cmd> --help` for every Dagster command the deployment uses, run concurrently
    (each one imports dagster, ~1-2 s apiece)."""
    procs = {
        cmd: subprocess.Popen(
            [str(VENV_BIN / cmd[0]), *cmd[1:], "--help"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cmd in HELP_COMMANDS
    }
    results = {}
    for cmd, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        results[cmd] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return results


@pytest.mark.parametrize("cmd", HELP_COMMANDS, ids=" ".join)
def test_dagster_subcommands_exist(
    cmd: tuple[str, ...], help_results: dict[tuple[str, ...], subprocess.CompletedProcess]
) -> None:
    proc = help_results[cmd]
    assert proc.returncode == 0, proc.stdout[-1000:] + proc.stderr[-1000:]


def test_compose_options_are_accepted_by_dagster_cli(
    services: dict, help_results: dict[tuple[str, ...], subprocess.CompletedProcess]
) -> None:
    """The flags used in compose commands and healthchecks appear in the matching --help."""
    used = [
        _words(services["user_code"]["command"]),
        _words(services["webserver"]["command"]),
        _words(services["daemon"]["command"]),
        _healthcheck_words(services["user_code"]),
        _healthcheck_words(services["daemon"]),
    ]
    for words in used:
        prefix = next(c for c in HELP_COMMANDS if tuple(words[: len(c)]) == c)
        for flag in (w for w in words if w.startswith("-")):
            assert flag in help_results[prefix].stdout, f"{' '.join(prefix)}: {flag} not in --help"


# --------------------------------------------------------------------------- docker CLI


def _docker_compose_available() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        proc = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def test_docker_compose_config_is_valid() -> None:
    if not _docker_compose_available():
        pytest.skip("`docker compose` CLI plugin not available on this machine")
    env = {**os.environ, "POSTGRES_PASSWORD": "x"}
    proc = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    logical: list[str] = []
    buf = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    if buf:
        logical.append(buf)
    out = []
    for line in logical:
        instr, _, args = line.partition(" ")
        out.append((instr.upper(), args.strip()))
    return out


def _copy_sources_and_dest(args: str) -> tuple[list[str], str]:
    if args.lstrip().startswith("["):
        import json

        words = json.loads(args)
    else:
        words = shlex.split(args)
    words = [w for w in words if not w.startswith("--")]
    assert len(words) >= 2, args
    return words[:-1], words[-1]


def _dockerignore_patterns() -> list[str]:
    if not DOCKERIGNORE.exists():
        return []
    return [
        ln.strip()
        for ln in DOCKERIGNORE.read_text().splitlines()
        if ln.strip() and not ln.strip().startswith("#")
    ]


def _ignored(rel: str, patterns: list[str]) -> bool:
    rel = rel.rstrip("/")
    parts = Path(rel).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pat in patterns:
        if pat.startswith("!"):
            continue
        pat = pat.rstrip("/")
        for p in prefixes:
            if fnmatch.fnmatchcase(p, pat):
                return True
            # "**/name" matches at any depth; a plain pattern only from the context root.
            if pat.startswith("**/") and fnmatch.fnmatchcase(Path(p).name, pat[3:]):
                return True
    return False


def test_dockerfile_copies_only_existing_files() -> None:
    instructions = _dockerfile_instructions()
    copies = [args for instr, args in instructions if instr in ("COPY", "ADD")]
    assert copies, "Dockerfile has no COPY"
    ignore = _dockerignore_patterns()
    missing, excluded = [], []
    for args in copies:
        if "--from=" in args:
            continue
        sources, _ = _copy_sources_and_dest(args)
        for src in sources:
            if not (REPO / src).exists():
                missing.append(src)
            elif _ignored(src, ignore):
                excluded.append(src)
    assert not missing, f"Dockerfile COPYs files missing from the repo: {missing}"
    assert not excluded, f"Dockerfile COPYs files that .dockerignore excludes: {excluded}"


def test_dockerfile_installs_dagster_home() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    env_text = " ".join(args for instr, args in instructions if instr == "ENV")
    assert f"DAGSTER_HOME={DAGSTER_HOME}" in env_text
    assert "/opt/dagster/app/.venv/bin" in env_text

    dests: dict[str, str] = {}
    for instr, args in instructions:
        if instr == "COPY":
            sources, dest = _copy_sources_and_dest(args)
            for src in sources:
                dests[src] = dest.replace("${DAGSTER_HOME}", DAGSTER_HOME).replace(
                    "$DAGSTER_HOME", DAGSTER_HOME
                )
    assert dests.get("deploy/dagster.yaml") == f"{DAGSTER_HOME}/dagster.yaml"
    assert dests.get("deploy/workspace.docker.yaml") == f"{DAGSTER_HOME}/workspace.yaml"


def test_dockerfile_runs_as_non_root() -> None:
    users = [args for instr, args in _dockerfile_instructions() if instr == "USER"]
    assert users, "Dockerfile never switches USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerignore_keeps_venv_and_tests_out() -> None:
    ignore = _dockerignore_patterns()
    for rel in (".venv", ".git", "supplybrain_pipelines_tests", "bench", "a/__pycache__", "x.pyc"):
        assert _ignored(rel, ignore), rel
    for rel in ("supplybrain_pipelines", "deploy/dagster.yaml", "deploy/workspace.docker.yaml",
                "uv.lock"):
        assert not _ignored(rel, ignore), rel
