"""The SQL written by hand names only tables and columns that exist: a renamed table or column
fails here, not in production.

Statements in `sql/*.sql` files take their table names from the models (linkdo.sqlfiles) and are
planned here against the migrated schema (EXPLAIN resolves every table and column without running
anything); every table name typed into SQL elsewhere (short statements, bench) must be a model's
table or one of the tables the migrations create without a model."""

import ast
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

import graph.map
import graph.services
import tasks.stats

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("linkdo", "workspaces", "tasks", "graph", "tags", "flows", "bench")
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|TRUNCATE)\b")
TABLE_NAME = re.compile(r"\b((?:tasks|graph|workspaces|tags|linkdo|procrastinate)_[a-z_]+)\b")
# Tables made by migrations' SQL (no model): the shared cache and rate counts, the job queue's.
WITHOUT_MODEL = {"linkdo_cache", "linkdo_rate", "procrastinate_jobs", "procrastinate_events"}
# Each statement kept in a file, as its module composed it (in each form it is run in).
FILE_STATEMENTS = {
    "graph/sql/link_by_tags.sql": graph.services._LINK_BY_TAGS_SQL,
    "graph/sql/link_by_tags.sql, Citus": graph.services._LINK_BY_TAGS_CITUS_SQL,
    "graph/sql/set_positions.sql": graph.map._SET_POSITIONS_SQL,
    "tasks/sql/stats.sql": tasks.stats.STATS_SQL,
}


def typed_sql() -> list[tuple[Path, str]]:
    """Every SQL text of the project: the `.sql` files and the string constants that hold SQL."""
    found = []
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if "migrations" in path.parts or "__pycache__" in path.parts:
                continue
            if path.suffix == ".sql":
                found.append((path, path.read_text(encoding="utf-8")))
            elif path.suffix == ".py":
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                    is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
                    if is_text and SQL_WORDS.search(node.value):
                        found.append((path, node.value))
    return found


def test_every_sql_file_is_loaded_by_its_module():
    files = {str(p.relative_to(ROOT)) for p in ROOT.glob("*/sql/*.sql")}
    assert files == {name.split(",")[0] for name in FILE_STATEMENTS}


def test_typed_table_names_are_model_tables():
    model_tables = {model._meta.db_table for model in apps.get_models()}
    unknown = {
        (str(path.relative_to(ROOT)), name)
        for path, text in typed_sql()
        for name in TABLE_NAME.findall(text)
        if name not in model_tables | WITHOUT_MODEL
    }
    assert not unknown, f"SQL names tables that no model has: {sorted(unknown)}"


@pytest.mark.django_db
def test_tables_without_a_model_exist():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s)", [list(WITHOUT_MODEL)]
        )
        assert {row[0] for row in cursor.fetchall()} == WITHOUT_MODEL


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(FILE_STATEMENTS))
def test_sql_files_plan_against_the_schema(name):
    """EXPLAIN names a missing table or column as an error; every parameter is NULL but the
    workspace (on Citus a statement naming no workspace has no shard to be planned on)."""
    statement = FILE_STATEMENTS[name]
    params = dict.fromkeys(re.findall(r"%\((\w+)\)s", statement))
    params["ws"] = "plan-check"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE incoming_positions (id int8, x float8, y float8, cluster int2)"
        )
        cursor.execute("EXPLAIN " + statement, params)
        assert cursor.fetchall()


@pytest.mark.django_db
def test_a_renamed_column_fails_the_plan():
    """The check can fail: the stats statement with a column that does not exist."""
    from django.db.utils import ProgrammingError

    broken = tasks.stats.STATS_SQL.replace("completed_at", "finished_at")
    params = dict.fromkeys(re.findall(r"%\((\w+)\)s", broken))
    with pytest.raises(ProgrammingError, match="finished_at"), connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + broken, params)
