"""What serving.py and rollback.py share: a private setup, a real model, servers, wrk.

Everything lives in one temporary directory and dies with the bench: the VAR_DIR, an MLflow
tracking store and artifact root, a Redis of its own (a private redis-server on a free
port, so no key or queue of anyone else is touched), and a PostgreSQL database of its own
(created and dropped here) unless DATABASE_URL is given. Servers run as gunicorn process
groups bound to 127.0.0.1 only, and are killed as groups on the way out, error or not.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/{name}"
HOST = "127.0.0.1"  # the only address any bench ever sends load to
MODEL_NAME = "churn-bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited:\n{tail(log)}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not listen within {timeout:.0f} s:\n{tail(log)}")


def wait_workers(count: int, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    """Until `count` workers said they loaded the application (bench/gunicorn_ready.py)."""
    sys.path.insert(0, str(BENCH))
    from gunicorn_ready import READY

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited while booting:\n{tail(log)}")
        if log.read_text(errors="replace").count(READY) >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"{log.stem}: not every worker loaded the app in {timeout:g} s:\n{tail(log)}"
    )


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_group(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group we started (gunicorn master and workers), then SIGKILL."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError):  # workers may outlive a dead master
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


def _postgres_answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(_maintenance_url(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def _recreate_database(url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_maintenance_url(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@dataclass
class Setup:
    """The temporary world of one bench run. Use as a context manager."""

    name: str
    tmp: Path = field(init=False)
    database: str = field(init=False, default="")
    cache: str = field(init=False, default="")
    env: dict[str, str] = field(init=False, default_factory=dict)
    redis: subprocess.Popen | None = field(init=False, default=None)
    _own_database: str = field(init=False, default="")
    _processes: list[subprocess.Popen] = field(init=False, default_factory=list)

    def __enter__(self) -> Setup:
        # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the servers still get stopped.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        try:
            self._configure()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        for process in reversed(self._processes):
            stop_group(process)
        self._processes.clear()
        if self._own_database:
            with contextlib.suppress(Exception):  # Django may not be set up yet
                from django.db import connections

                connections.close_all()
            try:
                _recreate_database(self._own_database, drop_only=True)
            except Exception as error:  # report, keep cleaning up
                print(f"(could not drop the bench database: {error})", file=sys.stderr)
        if os.getenv("BENCH_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _configure(self) -> None:
        env = {
            "DJANGO_SETTINGS_MODULE": "governance.settings",
            "VAR_DIR": str(self.tmp / "var"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{self.tmp / 'mlflow.db'}",
            "MLFLOW_ARTIFACT_ROOT": (self.tmp / "artifacts").as_uri(),
            "LOG_LEVEL": "WARNING",
            "MLFLOW_LOGGING_LEVEL": "WARNING",
            "PRODUCTION": "False",
            "DEBUG": "False",
            "PYTHONUNBUFFERED": "1",
        }
        given = os.getenv("DATABASE_URL", "")
        if given:
            env["DATABASE_URL"] = given
            engine = "PostgreSQL" if given.startswith("postgres") else given.split(":", 1)[0]
            self.database = f"{engine} (DATABASE_URL as given)"
        else:
            url = DEFAULT_POSTGRES.format(name=f"bench_{self.name}")
            if _postgres_answers(url):
                _recreate_database(url)
                self._own_database = url
                env["DATABASE_URL"] = url
                self.database = f"PostgreSQL ({url.rsplit('@', 1)[-1]}, created for this run)"
            else:
                self.database = (
                    "SQLite in the temporary directory (PostgreSQL did not answer; SQLite "
                    "serializes writes, so the durable record is measured pessimistically)"
                )
        given_redis = os.getenv("REDIS_URL", "")
        if given_redis:
            env["REDIS_URL"] = given_redis
            env["CELERY_QUEUE"] = f"bench-{self.name}-{os.getpid()}"
            self.cache = f"Redis (REDIS_URL as given), tasks queued to {env['CELERY_QUEUE']}"
        elif os.getenv("BENCH_REDIS", "private") != "none" and shutil.which("redis-server"):
            port = free_port()
            log = self.tmp / "redis.log"
            self.redis = self.start(
                [
                    "redis-server",
                    "--bind",
                    HOST,
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.tmp),
                ],
                log=log,
                port=port,
                env=dict(os.environ),
            )
            env["REDIS_URL"] = f"redis://{HOST}:{port}/0"
            self.cache = f"Redis (a private redis-server on {HOST}:{port}; tasks queue there)"
        else:
            self.cache = "process memory (LocMemCache; tasks run in-process)"
        for key in ("ROUTING_STATE_SECONDS", "SERVING_CACHE_SECONDS", "DB_CONN_MAX_AGE"):
            if os.getenv(key):
                env[key] = os.environ[key]
        self.env = env
        os.environ.update(env)
        (self.tmp / "var").mkdir()

    def start(
        self,
        argv: list[str],
        *,
        log: Path,
        port: int,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
        timeout: float = 90,
        wait: bool = True,
    ) -> subprocess.Popen:
        """Start a server in its own process group; wait until it listens on `port`."""
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env if env is not None else self.server_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._processes.append(process)
        if wait:
            wait_port(port, process, log, timeout)
        return process

    def server_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(self.env)
        env.update(extra)
        return env

    def gunicorn(
        self,
        app: str,
        *,
        label: str,
        workers: int,
        threads: int,
        env: dict[str, str] | None = None,
        chdir: Path = ROOT,
        wait: bool = True,
    ) -> tuple[subprocess.Popen, int]:
        port = free_port()
        argv = [
            str(BIN / "gunicorn"),
            app,
            "--chdir",
            str(chdir),
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--config",
            str(BENCH / "gunicorn_ready.py"),
        ]
        log = self.tmp / f"{label}.log"
        process = self.start(argv, log=log, port=port, env=env, wait=wait)
        if wait:
            wait_workers(workers, process, log)
        return process, port


# CPU time, read from /proc: what a request costs, whatever else the machine is doing.

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(*, groups: set[int] = frozenset(), pids: set[int] = frozenset()) -> dict[int, int]:
    """user+system clock ticks of every live process in the process groups, or listed."""
    found: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3, the state
        pid = int(entry)
        if int(fields[2]) in groups or pid in pids:
            found[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    return found


def cpu_seconds_between(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU used between two readings (processes that started meanwhile count from zero)."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / TICKS


def database_backends() -> set[int]:
    """PostgreSQL backends of the bench database, other than this process's own."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


# The model: trained once, logged to MLflow, registered from its run, promoted.


@dataclass
class Registered:
    model: Any
    versions: list[Any]
    data_scientist: Any
    service_token: str
    data_scientist_token: str
    fitted: list[Any]  # the fitted scikit-learn pipelines, version 1 first


def django_setup() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def register_churn(trees: list[int]) -> Registered:
    """Train one churn model per entry of `trees`, log, register; promote them in order."""
    from governance.audit_context import Origin, acting_as
    from governance.services import user_set_roles, user_token
    from models_registry import demo_model, mlflow_adapter
    from models_registry.services import deployment_promote, model_create, version_register

    # MLflow's hint about integer columns in the input example, once per logged model.
    warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column")
    with acting_as(origin=Origin.COMMAND):
        scientist, _ = user_set_roles(username="bench-scientist", roles=["data_scientist"])
        service, _ = user_set_roles(username="bench-service", roles=["service"])
        model = model_create(
            actor=scientist,
            name=MODEL_NAME,
            risk_tier="high",
            description="Benchmark copy of the demo churn classifier.",
        )
        versions, fitted = [], []
        for n_estimators in trees:
            trained = demo_model.train_churn_model(n_estimators=n_estimators)
            run_id = mlflow_adapter.run_log_sklearn(
                model=trained.model,
                experiment=MODEL_NAME,
                params=trained.params,
                metrics=trained.metrics,
                input_example=trained.train[demo_model.FEATURES].head(5),
            )
            version = version_register(actor=scientist, model=model, mlflow_run_id=run_id)
            deployment_promote(version=version, actor=scientist, reason="bench")
            versions.append(version)
            fitted.append(trained.model)
        return Registered(
            model=model,
            versions=versions,
            data_scientist=scientist,
            service_token=user_token(user=service),
            data_scientist_token=user_token(user=scientist),
            fitted=fitted,
        )


def sample_features() -> dict[str, Any]:
    return {
        "tenure_months": 12,
        "monthly_charges": 70.5,
        "support_calls": 2,
        "age": 40,
        "contract": "month-to-month",
        "payment_method": "card",
    }


# wrk


@dataclass
class WrkResult:
    requests: int  # completed responses, any status
    ok: int  # 2xx
    other: int  # non-2xx
    errors: int  # socket errors and timeouts
    seconds: float
    p50_ms: float
    p99_ms: float
    request_ids: list[str]

    @property
    def rps(self) -> float:
        """Successful responses per second."""
        return self.ok / self.seconds if self.seconds else 0.0


def wrk(
    url: str,
    *,
    mode: str,
    token: str,
    seconds: float,
    connections: int,
    threads: int,
    workdir: Path,
    label: str,
    salt: int = 0,
) -> WrkResult:
    """Drive `url` (127.0.0.1 only) with bench/wrk_post.lua; results from its done()."""
    if urlsplit(url).hostname != HOST:
        raise ValueError(f"load only ever goes to {HOST}, not {url}")
    out = workdir / f"wrk-{label}.json"
    ids = workdir / f"wrk-{label}.ids"
    env = dict(os.environ)
    env.update(
        BENCH_TOKEN=token,
        BENCH_MODE=mode,
        BENCH_OUT=str(out),
        BENCH_IDS=str(ids),
        BENCH_SALT=str(salt),
    )
    argv = [
        "wrk",
        "--latency",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "wrk_post.lua"),
        url,
    ]
    completed = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    (workdir / f"wrk-{label}.txt").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    found = json.loads(out.read_text())
    request_ids = ids.read_text().split() if ids.exists() else []
    return WrkResult(
        requests=found["requests"],
        ok=found["ok"],
        other=found["other"],
        errors=found["errors"],
        seconds=found["duration_us"] / 1e6,
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        request_ids=request_ids,
    )


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
