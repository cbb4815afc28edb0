"""``supplybrain dev``: the local default, from an empty folder to the Dagster UI.

1. PostgreSQL: ``SUPPLYBRAIN_DATABASE_URL`` if set, else the embedded server with its data in
   ``.local/pgdata`` (kept across restarts).
2. The application and Dagster databases exist, the token key exists (``.local/token.key``,
   created once unless ``SUPPLYBRAIN_TOKEN_KEY(_FILE)`` is set), and the migrations are applied.
3. Without a real marketplace account, the sandbox serves WB and MoySklad on loopback and its
   business fills the master data (``devstack/sandbox.py``).
4. ``dg dev`` (Dagster's CLI; ``dagster dev`` says it is superseded by it) runs on 127.0.0.1
   with the repository's ``workspace.yaml`` and DAGSTER_HOME in ``.local/dagster_home``: the
   environment ``supplybrain env`` prints.
5. Ctrl-C (or SIGTERM) stops ``dg dev``, every process it started, the sandbox, then the
   embedded server.
"""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from sqlalchemy.exc import ArgumentError

from supplybrain_pipelines.config import (
    APP_SCHEMA,
    DATABASE_URL_ENV,
    DEFAULT_DAGSTER_DB,
    EMBEDDED_PORT_ENV,
    LOCAL_STATE_DIR,
    PROJECT_ROOT,
    WB_MIN_INTERVAL_ENV,
    database_url_from_env,
    embedded_port,
    redact,
)
from supplybrain_pipelines.db.migrate import upgrade
from supplybrain_pipelines.devstack.embedded import EmbeddedPostgres, create_missing_databases
from supplybrain_pipelines.devstack.environment import dagster_env, prepare_dagster_home
from supplybrain_pipelines.devstack.sandbox import (
    SANDBOX_PORT_ENV,
    sandbox_port,
    start_if_no_real_accounts,
)
from supplybrain_pipelines.devstack.startup import (
    StartupError,
    check_port_free,
    explain,
    first_line,
    port_taken,
)
from supplybrain_pipelines.token_crypto import ensure_local_key

STOP_GRACE_SECONDS = 30


def say(message: str) -> None:
    print(f"supplybrain dev: {message}", flush=True)


def stop_process_tree(proc: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop ``proc`` with SIGINT (what Ctrl-C sends), then every descendant that outlived it.

    Descendants are listed before the stop: ``dagster api grpc`` grandchildren are reparented
    when their parent exits and would otherwise linger for their heartbeat timeout.
    """
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    survivors = [p for p in family if p.is_running()]
    for child in survivors:
        child.terminate()
    _, still_alive = psutil.wait_procs(survivors, timeout=10)
    for child in still_alive:
        child.kill()


def run_dev(host: str = "127.0.0.1", port: int = 3000) -> int:
    """Run the local default until Ctrl-C; a known start-up failure is one sentence on stderr
    and exit status 1 (``devstack/startup.py``)."""
    server: EmbeddedPostgres | None = None
    sandbox = None
    app_url = None
    stopping = False

    def _request_stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _request_stop)
    # Ctrl-C must work even when SIGINT arrived ignored (a shell starts background jobs that
    # way): Python then installs no handler, and `dg dev` would inherit the ignore too.
    # A handler set here is reset to the default in every child at exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        try:
            app_url = database_url_from_env()
            pg_port = embedded_port()
            sandbox_port()
        except (ValueError, ArgumentError) as exc:
            raise StartupError(f"a setting is not valid ({first_line(str(exc))}); check "
                               f"{DATABASE_URL_ENV}, {EMBEDDED_PORT_ENV} and "
                               f"{SANDBOX_PORT_ENV}.") from None
        check_port_free(host, port, "the Dagster UI", "./scripts/dev --port <port>")
        if app_url is None:
            server = EmbeddedPostgres(LOCAL_STATE_DIR / "pgdata", pg_port)
            say(f"starting embedded PostgreSQL (data in {server.data_dir}, "
                f"port {server.port}) ...")
            started = time.monotonic()
            server.start()
            say(f"PostgreSQL ready in {time.monotonic() - started:.1f}s")
            app_url = server.url(APP_SCHEMA)
        else:
            say(f"using PostgreSQL at {redact(app_url)}")
        for name in create_missing_databases(app_url, DEFAULT_DAGSTER_DB):
            say(f"created database {name}")
        key_file = ensure_local_key()  # before the migrations: 0015 encrypts with it
        if key_file is not None:
            say(f"created the token key {key_file} (stored tokens open only with it)")
        applied = upgrade(app_url)
        say(f"migrations applied: {', '.join(applied)}" if applied
            else "schema is up to date")

        try:
            sandbox = start_if_no_real_accounts(app_url)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise port_taken(sandbox_port(), "127.0.0.1", "the marketplace sandbox",
                             f"{SANDBOX_PORT_ENV}=<port>") from None
        if sandbox is not None:
            say(f"no real marketplace account: serving the sandbox on {sandbox.url} "
                "with its WB and MoySklad accounts registered")
        home = prepare_dagster_home(LOCAL_STATE_DIR / "dagster_home")
        env = dagster_env(app_url, home)
        if sandbox is not None:
            env.setdefault(WB_MIN_INTERVAL_ENV, "0")
        dg = Path(sys.executable).parent / "dg"
        say(f"starting Dagster UI on http://{host}:{port} (Ctrl-C stops everything)")
        proc = subprocess.Popen(
            # -w: the workspace file, so dg starts Dagster's dev server at once (no project
            # lookup in the working directory).
            [str(dg), "dev", "-h", host, "-p", str(port), "-w",
             str(PROJECT_ROOT / "workspace.yaml")],
            # cwd = DAGSTER_HOME: dagster would warn about a dagster.yaml in the cwd.
            cwd=home, env=env, start_new_session=True,
        )
        try:
            while proc.poll() is None and not stopping:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        say("stopping Dagster ...")
        stop_process_tree(proc)
        return proc.returncode if proc.returncode and proc.returncode > 0 else 0
    except Exception as exc:
        sentence = explain(exc, app_url, embedded=server is not None,
                           state_dir=LOCAL_STATE_DIR)
        if sentence is None:
            raise
        print(f"supplybrain dev: {sentence}", file=sys.stderr, flush=True)
        return 1
    finally:
        if sandbox is not None:
            sandbox.stop()
        if server is not None and server.started_here:
            say("stopping embedded PostgreSQL ...")
            server.stop()
