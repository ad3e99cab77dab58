"""SQL statements kept in `.sql` files beside the module that runs them (`graph/sql/*.sql`, ...).

A file names its tables as `{placeholders}`; the module passes each table's name from its model
(`task=Task._meta.db_table`), quoted with psycopg.sql.Identifier, so renaming a table renames it in
every statement. Query parameters stay `%(name)s`. A file is read and composed once, at import.
"""

from pathlib import Path

from psycopg import sql


def sql_file(beside: str, name: str, **tables: str) -> str:
    """The statement of `sql/<name>.sql` in the folder of the module file `beside` (`__file__`),
    with each `{placeholder}` replaced by the quoted table name given for it."""
    text = (Path(beside).parent / "sql" / f"{name}.sql").read_text(encoding="utf-8")
    identifiers = {key: sql.Identifier(table) for key, table in tables.items()}
    return sql.SQL(text).format(**identifiers).as_string(None)
