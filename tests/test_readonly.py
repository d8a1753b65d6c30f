"""The read-only guard (pipeline/readonly.py) behind ``sampledex query``: user SQL reads the catalog and
writes nothing, however a write is nested.

Every test here runs against one catalog shared by the module; an autouse fixture asserts after each
test that no file of it changed (bytes, mtime, names; LOCK included) and that it still answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sampledex.pipeline import catalog, readonly, schema

from conftest import run_cli

T0 = dt.datetime(2024, 1, 1, 12, 0, 0)
KEYS = {"/lib/0.wav": "A minor", "/lib/1.wav": "D major", "/lib/2.wav": "E minor"}
LOCK_TEXT = '{"pid": 1, "host": "elsewhere", "started_at": "2024-01-01T12:00:00"}'


def _build(root) -> catalog.Catalog:
    cat = catalog.Catalog(root)
    cat.create()
    rows = [
        {"path": p, "source": "/lib", "size_bytes": 100, "mtime": T0, "format": "wav", "sample_rate": 44100,
         "channels": 2, "duration_s": 1.0, "kind": "loop", "analysis_version": "test-1", "indexed_at": T0, "key": k}
        for p, k in KEYS.items()
    ]  # fmt: skip
    cat.write("samples", pa.Table.from_pylist(rows, schema=schema.SAMPLES), "part-a")
    run = {"run_id": "r1", "started_at": T0, "finished_at": T0, "seen": 3, "analysed": 3, "skipped": 0,
           "failed": 0, "removed": 0, "files_per_s": 1.5}  # fmt: skip
    cat.write("runs", pa.Table.from_pylist([run], schema=schema.RUNS), "run-r1")
    (cat.root / "LOCK").write_text(LOCK_TEXT)
    return cat


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("readonly") / "catalog")


@pytest.fixture(scope="module")
def con(cat):
    return cat.connect(read_only=True)


def snapshot(root) -> dict[str, tuple]:
    """Every file and folder under ``root``: size, mtime and content hash."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(folder, d), root) + "/"] = ()
        for f in files:
            path = os.path.join(folder, f)
            st_ = os.stat(path)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root)] = (st_.st_size, st_.st_mtime_ns, hashlib.sha256(fh.read()).hexdigest())
    return out


def assert_intact(cat, con, before) -> None:
    assert snapshot(cat.root) == before
    assert (cat.root / "LOCK").read_text() == LOCK_TEXT
    assert dict(cat.query("SELECT path, key FROM samples", con).fetchall()) == KEYS


@pytest.fixture(autouse=True)
def intact(cat, con):
    """Whatever a test ran, the catalog is byte-identical afterwards and still answers."""
    before = snapshot(cat.root)
    yield before
    assert_intact(cat, con, before)


def refused(cat, con, sql: str) -> readonly.ReadOnlyViolation:
    with pytest.raises(readonly.ReadOnlyViolation) as info:
        cat.query(sql, con).fetchall()
    message = str(info.value)
    assert "\n" not in message and message.startswith("read-only catalog: ")
    return info.value


# -- the reported vectors -------------------------------------------------------

COPY_KEY = ("WITH x AS (COPY (SELECT * REPLACE ('C major' AS key, now()::TIMESTAMP AS indexed_at) FROM samples) "
            "TO '{root}/samples/part-zz.parquet' (FORMAT parquet)) SELECT 'ok'")  # fmt: skip
REPORTED = {
    "cte_copy_rewrites_every_key": COPY_KEY,
    "cte_copy_partition_overwrite_deletes_parts": "WITH x AS (COPY (SELECT path, 1 AS k FROM samples) "
    "TO '{root}/samples' (FORMAT parquet, PARTITION_BY (k), OVERWRITE)) SELECT 'ok'",
    "cte_copy_csv_over_a_part": "WITH x AS (COPY (SELECT 1 AS k) TO '{root}/samples/part-a.parquet' (FORMAT csv)) "
    "SELECT 'ok'",
    "cte_copy_over_lock": "WITH x AS (COPY (SELECT 1 AS k) TO '{root}/LOCK' (FORMAT csv)) SELECT 'ok'",
    "materialized_cte_copy": "WITH x AS MATERIALIZED (COPY (SELECT 1 AS k) TO '{root}/samples/part-m.parquet') "
    "SELECT 1",
    "cte_copy_in_a_recursive_cte": "WITH RECURSIVE r(n) AS ((WITH x AS (COPY (SELECT 1 AS k) "
    "TO '{root}/samples/part-r.parquet') SELECT 1) UNION ALL SELECT n + 1 FROM r WHERE n < 2) SELECT * FROM r",
    "copy_in_a_subquery_cte": "SELECT * FROM (WITH x AS (COPY (SELECT 1) TO '{root}/LOCK') SELECT 1) s",
    "explain_analyze_copy": "EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{root}/samples/evil.parquet'",
    "explain_analyze_cte_copy": "EXPLAIN ANALYZE WITH x AS (COPY (SELECT 1) TO '{root}/LOCK') SELECT 1",
    "query_function_runs_cte_copy": "SELECT * FROM query('WITH x AS (COPY (SELECT 1) TO ''{root}/LOCK'') SELECT 1')",
    "json_execute_serialized_sql_runs_cte_copy": "SELECT * FROM json_execute_serialized_sql(json_serialize_sql("
    "'WITH x AS (COPY (SELECT 1) TO ''{root}/LOCK'') SELECT 1'))",
    "cte_delete": "WITH x AS (DELETE FROM key_wheel RETURNING *) SELECT 1",
    "cte_copy_to_the_temp_directory": "WITH x AS (COPY (SELECT 1) TO '.tmp/x.csv') SELECT 1",
}


@pytest.mark.parametrize("sql", REPORTED.values(), ids=REPORTED.keys())
def test_reported_vector_is_refused(cat, con, sql):
    refused(cat, con, sql.format(root=cat.root))
    refused(cat, None, sql.format(root=cat.root))  # on a connection of its own


def test_the_cte_copy_vector_is_live_in_this_duckdb(cat, tmp_path):
    """Why the guard is needed: without it, DuckDB runs a COPY nested in a CTE (on a copy of the catalog)."""
    scratch = catalog.Catalog(tmp_path / "scratch")
    shutil.copytree(cat.root, scratch.root)
    raw = scratch.connect(read_only=True)
    try:
        raw.sql(COPY_KEY.format(root=scratch.root)).fetchall()
    except duckdb.Error:
        pytest.skip("this DuckDB no longer runs COPY inside a CTE")
    assert (scratch.root / "samples" / "part-zz.parquet").exists()  # written inside the catalog
    # only the catalog's verification (a part's name carries its checksum) keeps the file from being read
    assert {k for _, k in scratch.query("SELECT path, key FROM samples").fetchall()} == set(KEYS.values())
    assert any("part-zz" in str(path) and reason.startswith("foreign") for path, reason in scratch.snapshot().problems)


def test_cli_refuses_the_cte_copy_in_one_line(cat):
    proc = run_cli("query", COPY_KEY.format(root=cat.root), "--catalog", str(cat.root), expect=1)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sampledex: read-only catalog: COPY"), proc.stderr


# -- the connection: no temp directory, nothing outside the catalog -----------------


@pytest.fixture
def elsewhere(cat, tmp_path, monkeypatch):
    """A read-only connection opened from a working directory whose ``.tmp/`` (DuckDB's default temp
    directory) holds a secret."""
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.csv").write_text("secret\n")
    monkeypatch.chdir(tmp_path)
    return cat.connect(read_only=True), tmp_path


def test_the_connection_has_no_temp_directory_and_allows_only_the_catalog(cat, elsewhere):
    con, _ = elsewhere
    [(allowed, temp)] = cat.query(
        "SELECT current_setting('allowed_directories'), current_setting('temp_directory')", con
    ).fetchall()
    assert allowed == [f"{cat.root}/"]
    assert temp == ""


OUTSIDE_READS = [
    "SELECT * FROM glob('{cwd}/.tmp/*')",
    "SELECT * FROM read_text('{cwd}/.tmp/secret.csv')",
    "SELECT * FROM read_blob('.tmp/secret.csv')",
    "SELECT * FROM read_csv('{cwd}/.tmp/secret.csv')",
    "SELECT * FROM '{cwd}/.tmp/secret.csv'",
    "SELECT * FROM read_csv('/etc/hostname')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_text('{root}/../../../../../../etc/hostname')",
    "SELECT * FROM read_parquet('{root}/../*/samples/*.parquet')",
    "SELECT * FROM read_text('https://example.com/')",
]


@pytest.mark.parametrize("sql", OUTSIDE_READS)
def test_reads_outside_the_catalog_are_stopped_by_duckdb(cat, elsewhere, sql):
    """These pass the statement check (they only read) and DuckDB's allowed_directories stops them."""
    con, cwd = elsewhere
    with pytest.raises(duckdb.Error, match="(?i)permission|disabled|not allowed"):
        cat.query(sql.format(root=cat.root, cwd=cwd), con).fetchall()


def test_a_big_sort_still_runs_in_memory(cat, con):
    assert cat.query("SELECT count(*) FROM (SELECT range FROM range(3000000) ORDER BY random())",
                     con).fetchall() == [(3000000,)]  # fmt: skip


# -- every statement type, in every nesting ---------------------------------------------

#: sample statements of each type DuckDB's parser gives (``UNKNOWN``: a type the Python package cannot name)
STATEMENTS: dict[str, list[str]] = {
    "INSERT": ["INSERT INTO key_wheel SELECT * FROM key_wheel RETURNING *"],
    "UPDATE": ["UPDATE key_wheel SET mode = 'x' RETURNING *"],
    "DELETE": ["DELETE FROM key_wheel RETURNING *", "TRUNCATE key_wheel"],
    "CREATE": [
        "CREATE TABLE t AS SELECT 1 AS a",
        "CREATE OR REPLACE VIEW samples AS SELECT 1 AS x",
        "CREATE OR REPLACE MACRO camelot(k) AS 'x'",
        "CREATE SECRET s (TYPE s3)",
        "CREATE TYPE e AS ENUM ('a')",
        "CREATE SEQUENCE s",
    ],  # fmt: skip
    "PREPARE": ["PREPARE p AS SELECT 1"],
    "EXECUTE": ["EXECUTE p"],
    "ALTER": ["ALTER VIEW samples RENAME TO s2", "COMMENT ON VIEW samples IS 'x'"],
    "TRANSACTION": ["BEGIN TRANSACTION", "COMMIT", "ROLLBACK"],
    "COPY": [
        "COPY (SELECT 1 AS a) TO '{root}/samples/part-zz.parquet' (FORMAT parquet)",
        "COPY (SELECT 1 AS a) TO '{root}/LOCK' (FORMAT csv)",
        "COPY key_wheel FROM '{root}/LOCK'",
    ],  # fmt: skip
    "VACUUM": ["VACUUM", "ANALYZE"],
    "SET": [
        "SET VARIABLE sampledex_catalog = '/'",
        "RESET VARIABLE sampledex_catalog",
        "SET threads = 1",
        "RESET threads",
        "PRAGMA threads = 1",
        "USE memory",
        "SET allowed_directories = ['/']",
    ],  # fmt: skip
    "DROP": ["DROP VIEW samples", "DEALLOCATE p", "DROP MACRO camelot"],
    "EXPORT": ["EXPORT DATABASE '{root}/export'"],
    "PRAGMA": [
        "PRAGMA version",
        "PRAGMA enable_profiling",
        "IMPORT DATABASE '{root}'",
        "COPY FROM DATABASE memory TO other",
    ],  # fmt: skip
    "CALL": ["CALL checkpoint()", "CHECKPOINT", "CALL pragma_version()"],
    "LOAD": ["LOAD parquet", "INSTALL httpfs", "FORCE INSTALL httpfs"],
    "ATTACH": ["ATTACH '{root}/x.db' AS x"],
    "DETACH": ["DETACH memory"],
    "MERGE_INTO": ["MERGE INTO key_wheel USING (SELECT 1 AS k) s ON false WHEN MATCHED THEN DELETE"],
    "MULTI": ["PIVOT samples ON key USING count(*)"],
    "EXPLAIN": ["EXPLAIN COPY (SELECT 1) TO '{root}/x.csv'", "EXPLAIN ANALYZE COPY (SELECT 1) TO '{root}/x.csv'"],
    "UNKNOWN": ["UPDATE EXTENSIONS"],
}
#: types no SQL text parses to, and why
NOT_FROM_TEXT = {
    "INVALID": "never a parsed statement",
    "RELATION": "made by the Python relational API, not by SQL text",
    "LOGICAL_PLAN": "made from a plan, not by SQL text",
    "EXTENSION": "statements of parser extensions; none is loaded, and add_grammar_extension() is refused",
    "VARIABLE_SET": "SET VARIABLE parses as SET",
    "CREATE_FUNC": "CREATE MACRO / FUNCTION parse as CREATE",
    "ANALYZE": "ANALYZE parses as VACUUM",
    "COPY_DATABASE": "COPY FROM DATABASE parses as PRAGMA",
}
#: where a statement can hide; ``{s}`` is the statement, ``{q}`` the statement quoted for a string literal
NESTINGS = {
    "top_level": "{s}",
    "cte": "WITH x AS ({s}) SELECT 1",
    "cte_materialized": "WITH x AS MATERIALIZED ({s}) SELECT 1",
    "cte_recursive": "WITH RECURSIVE x AS ({s}) SELECT 1",
    "subquery_in_from": "SELECT * FROM ({s}) AS sub",
    "cte_in_subquery_in_from": "SELECT * FROM (WITH x AS ({s}) SELECT 1) AS sub",
    "subquery_in_where": "SELECT 1 WHERE EXISTS ({s})",
    "cte_in_subquery_in_where": "SELECT 1 WHERE 1 IN (WITH x AS ({s}) SELECT 1)",
    "cte_in_scalar_subquery": "SELECT (WITH x AS ({s}) SELECT 1) AS v",
    "explain": "EXPLAIN {s}",
    "explain_analyze": "EXPLAIN ANALYZE {s}",
    "explain_with_options": "EXPLAIN (FORMAT json) {s}",
    "explain_analyze_cte": "EXPLAIN ANALYZE WITH x AS ({s}) SELECT 1",
    "pivot_source": "PIVOT ({s}) ON a IN (1) USING count(*)",
    "cte_in_pivot_source": "PIVOT (WITH x AS ({s}) SELECT 1 AS a) ON a IN (1) USING count(*)",
    "cte_in_unpivot_source": "UNPIVOT (WITH x AS ({s}) SELECT 1 AS a) ON a INTO NAME n VALUE v",
    "union_arm": "SELECT 1 UNION ALL ({s})",
    "cte_in_union_arm": "SELECT 1 UNION ALL (WITH x AS ({s}) SELECT 1)",
    "cte_in_lateral": "SELECT * FROM range(1) r, LATERAL (WITH x AS ({s}) SELECT 1)",
    "cte_in_describe": "DESCRIBE (WITH x AS ({s}) SELECT 1)",
    "cte_in_table_function_argument": "SELECT * FROM range((WITH x AS ({s}) SELECT 1))",
    "query_function": "SELECT * FROM query('{q}')",
    "cte_in_query_function": "SELECT * FROM query('WITH x AS ({q}) SELECT 1')",
}
SAMPLES = [
    pytest.param(kind, stmt, id=f"{kind}-{i}") for kind, stmts in STATEMENTS.items() for i, stmt in enumerate(stmts)
]


def test_the_statement_samples_cover_every_statement_type(con):
    assert readonly.READ_STATEMENTS == {"SELECT", "EXPLAIN"}
    members = set(duckdb.StatementType.__members__)
    assert members == (set(STATEMENTS) - {"UNKNOWN"}) | set(NOT_FROM_TEXT) | {"SELECT"}
    for kind, stmts in STATEMENTS.items():
        for stmt in stmts:
            statements = con.extract_statements(stmt)
            assert len(statements) == 1
            if kind == "UNKNOWN":
                with pytest.raises(ValueError):
                    statements[0].type  # noqa: B018
            else:
                assert statements[0].type.name == kind, stmt


@pytest.mark.parametrize(("kind", "stmt"), SAMPLES)
def test_a_statement_is_refused_in_every_nesting(cat, con, kind, stmt):
    """Each nesting is refused by the guard, or is no SQL DuckDB parses (so nothing can run)."""
    stmt = stmt.format(root=cat.root)
    let_through = []
    for name, template in NESTINGS.items():
        sql = template.format(s=stmt, q=stmt.replace("'", "''"))
        try:
            con.extract_statements(sql)[0].type  # noqa: B018
        except duckdb.ParserException:
            with pytest.raises(duckdb.ParserException):
                cat.query(sql, con)
            continue
        except ValueError:
            pass  # a type without a name: the guard refuses it
        try:
            refused(cat, con, sql)
        except BaseException as exc:  # noqa: B036 - pytest.fail is a BaseException; report every nesting at once
            let_through.append(f"{name}: {type(exc).__name__}: {exc}")
    assert not let_through, "\n".join(let_through)


def test_writes_in_a_cte_are_refused_not_merely_unparsable(cat, con):
    """The nestings that DuckDB accepts for INSERT/UPDATE/DELETE/COPY are refused by the guard itself."""
    for kind in ("INSERT", "UPDATE", "DELETE", "COPY"):
        stmt = STATEMENTS[kind][0].format(root=cat.root)
        for name, template in NESTINGS.items():
            if "cte" in name and not name.startswith("cte_recursive"):  # DuckDB's parser refuses those
                error = refused(cat, con, template.format(s=stmt, q=stmt.replace("'", "''")))
                assert kind in str(error) or "query()" in str(error), (name, str(error))


# -- functions reachable from a SELECT ----------------------------------------------

#: volatile scalar functions this module lets through, and why
ALLOWED_SIDE_EFFECTS = {
    "random": "a random number",
    "uuid": "a random UUID",
    "uuidv4": "a random UUID",
    "uuidv7": "a random UUID",
    "gen_random_uuid": "a random UUID",
    "error": "raises an error",
    "sleep_ms": "waits",
    "current_query": "this query's text",
    "current_query_id": "this query's id",
    "current_connection_id": "this connection's id",
    "current_transaction_id": "this transaction's id",
    "stats": "the statistics of an expression",
    "vector_type": "the vector type of an expression",
}


def test_every_scalar_function_with_side_effects_is_decided(con):
    volatile = {name for (name,) in con.sql(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE has_side_effects "
        "AND function_type IN ('scalar', 'aggregate')").fetchall()}  # fmt: skip
    assert volatile - set(readonly.REFUSED_FUNCTIONS) - set(ALLOWED_SIDE_EFFECTS) == set()


def test_the_allowed_table_functions_exist(con):
    table = {name for (name,) in con.sql(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table'").fetchall()}  # fmt: skip
    assert readonly.READ_TABLE_FUNCTIONS - table == set()


def _table_functions() -> list[str]:
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    return sorted({n for (n,) in con.sql(
        "SELECT function_name FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro')"
    ).fetchall()})  # fmt: skip


@pytest.mark.parametrize("name", [n for n in _table_functions() if n not in readonly.READ_TABLE_FUNCTIONS])
def test_a_table_function_off_the_list_is_refused(cat, con, name):
    """checkpoint, enable_logging, add_grammar_extension, register_external_resource, query, … ."""
    error = refused(cat, con, f"SELECT * FROM {name}()")
    assert f"{name}()" in str(error)


@pytest.mark.parametrize("name", sorted(readonly.READ_TABLE_FUNCTIONS))
def test_a_table_function_on_the_list_passes_the_check(con, name):
    readonly.check(f'SELECT * FROM "{name}"()', con)  # the check only: arguments are not checked


REFUSED_CALLS = [
    "SELECT setseed(0.5)",
    "SELECT write_log('x')",
    "SELECT nextval('s')",
    "SELECT setval('s', 1)",
    "SELECT currval('s')",
    "SELECT getenv('HOME')",
    "SELECT json_serialize_plan('SELECT 1')",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM query_table('samples')",
    "SELECT * FROM main.query('SELECT 1')",
    "SELECT * FROM system.main.checkpoint()",
    "SELECT * FROM \"QUERY\"('SELECT 1')",
    "SELECT * FROM Force_Checkpoint()",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM enable_logging(storage := 'file', storage_path := '{root}/logs')",
    "SELECT * FROM truncate_duckdb_logs()",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    "SELECT [x FOR x IN (SELECT setseed(0.1))]",
    "SELECT 1 WHERE EXISTS (SELECT * FROM checkpoint())",
    "SELECT 'x'.write_log()",
    "SELECT list_transform([1], x -> write_log('x'))",
    "SELECT * FROM range(1) ORDER BY (SELECT setseed(0.1))",
]


@pytest.mark.parametrize("sql", REFUSED_CALLS)
def test_a_function_with_side_effects_is_refused(cat, con, sql):
    refused(cat, con, sql.format(root=cat.root))


def test_refusal_is_a_catalog_error_with_exit_status_1():
    assert issubclass(readonly.ReadOnlyViolation, catalog.CatalogError)
    assert readonly.ReadOnlyViolation("x").exit_code == 1


@pytest.mark.parametrize("sql", ["", "   ", "-- nothing\n", "SELECT 1; SELECT 2", "SELECT 1; COPY (SELECT 1) TO 'x'"])
def test_anything_but_one_statement_is_refused(cat, con, sql):
    error = refused(cat, con, sql)
    assert "expected one SQL statement" in str(error)


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("ATTACH 'other.db' AS other", "an ATTACH statement"),
        ("INSTALL httpfs", "an INSTALL or LOAD statement"),
        ("SET threads = 1", "a SET statement"),
        ("EXPLAIN CREATE TABLE t AS SELECT 1", "EXPLAIN of a CREATE statement"),
    ],
)
def test_a_refusal_names_the_statement_as_written(cat, con, sql, named):
    assert named in str(refused(cat, con, sql))


def test_the_check_needs_no_download(con):
    """json_serialize_sql is built in: the catalog's connection (autoinstall and autoload off) has it."""
    settings_ = "SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
    assert con.sql(settings_).fetchall() == [(False, False)]
    found = "SELECT DISTINCT extension_name FROM duckdb_functions() WHERE function_name = 'json_serialize_sql'"
    assert con.sql(found).fetchall() == [("json",)]
    readonly.check("SELECT 1", con)


def test_check_works_without_a_connection():
    readonly.check("SELECT 1")
    with pytest.raises(readonly.ReadOnlyViolation):
        readonly.check("WITH x AS (COPY (SELECT 1) TO 'x.csv') SELECT 1")


# -- composed nestings ---------------------------------------------------------------

#: a SELECT with column ``a`` that hides a write or a side effect (``{root}``: the catalog)
DANGEROUS_CORES = [
    "WITH c AS {m}(COPY (SELECT * REPLACE ('C major' AS key) FROM samples) TO '{root}/samples/part-h.parquet') "
    "SELECT 1 AS a",
    "WITH c AS {m}(COPY (SELECT 1 AS k) TO '{root}/samples/part-a.parquet' (FORMAT csv)) SELECT 1 AS a",
    "WITH c AS {m}(COPY (SELECT path, 1 AS k FROM samples) TO '{root}/samples' "
    "(FORMAT parquet, PARTITION_BY (k), OVERWRITE)) SELECT 1 AS a",
    "WITH c AS {m}(COPY (SELECT 1) TO '{root}/LOCK') SELECT 1 AS a",
    "WITH c AS {m}(DELETE FROM key_wheel RETURNING *) SELECT 1 AS a",
    "WITH c AS {m}(INSERT INTO key_wheel SELECT * FROM key_wheel RETURNING *) SELECT 1 AS a",
    "WITH c AS {m}(UPDATE key_wheel SET mode = 'x' RETURNING *) SELECT 1 AS a",
    "SELECT 1 AS a FROM checkpoint()",
    "SELECT 1 AS a FROM query('SELECT 1')",
    "SELECT 1 AS a FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    "SELECT setseed(0.5) AS a",
    "SELECT write_log('x') AS a",
]
SAFE_CORES = ["SELECT 1 AS a", "SELECT count(*) AS a FROM samples", "WITH c AS {m}(SELECT 1 AS a) SELECT * FROM c"]
#: ways to wrap a SELECT that yields column ``a`` in another that does
WRAPPERS = [
    "SELECT * FROM ({q}) AS s",
    "SELECT 1 AS a WHERE EXISTS ({q})",
    "SELECT 1 AS a WHERE 1 IN ({q})",
    "SELECT ({q} LIMIT 1) AS a",
    "SELECT 1 AS a UNION ALL ({q})",
    "({q}) EXCEPT SELECT 2",
    "SELECT 1 AS a INTERSECT ({q})",
    "WITH w AS ({q}) SELECT * FROM w",
    "WITH w AS MATERIALIZED ({q}) SELECT * FROM w",
    "WITH RECURSIVE r(a) AS (({q}) UNION ALL SELECT a + 1 FROM r WHERE a < 2) SELECT * FROM r",
    "SELECT 1 AS a FROM (PIVOT ({q}) ON a IN (1) USING count(*))",
    "SELECT 1 AS a FROM (UNPIVOT ({q}) ON a INTO NAME n VALUE v)",
    "SELECT l.a FROM range(1) r, LATERAL ({q}) l",
    "SELECT CASE WHEN EXISTS ({q}) THEN 1 END AS a",
    "SELECT list(a) OVER () AS a FROM ({q}) s",
    "SELECT count(*) FILTER (WHERE EXISTS ({q})) AS a",
    "SELECT 1 AS a FROM range(1) x JOIN ({q}) y ON true",
    "SELECT 1 AS a ORDER BY (SELECT count(*) FROM ({q}))",
    "FROM ({q}) SELECT a",
    "SELECT 1 AS a LIMIT (SELECT count(*) FROM ({q}) s)",
    "SELECT DISTINCT ON ((SELECT count(*) FROM ({q}) s)) 1 AS a",
    "SELECT 1 AS a GROUP BY (SELECT count(*) FROM ({q}) s)",
    "SELECT row_number() OVER w AS a FROM range(1) WINDOW w AS (ORDER BY (SELECT count(*) FROM ({q}) s))",
    "SELECT col0 AS a FROM (VALUES ((SELECT count(*) FROM ({q}) s)))",
    "SELECT 1 AS a FROM range(1) x JOIN range(1) y ON EXISTS ({q})",
]
PREFIXES = ["", "EXPLAIN ", "EXPLAIN ANALYZE ", "EXPLAIN (FORMAT json) ", "EXPLAIN (ANALYZE, FORMAT json) ",
            "/* comment */ ", "-- line\n", "explain analyse "]  # fmt: skip


@st.composite
def nested(draw, cores):
    core = draw(st.sampled_from(cores)).format(root="{root}", m=draw(st.sampled_from(["", "MATERIALIZED "])))
    for wrapper in draw(st.lists(st.sampled_from(WRAPPERS), max_size=4)):
        core = wrapper.format(q=core)
    return draw(st.sampled_from(PREFIXES)) + core


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sql=nested(DANGEROUS_CORES))
def test_composed_nestings_of_a_write_are_refused(cat, con, sql):
    before = snapshot(cat.root)
    for text in (
        sql.format(root=cat.root),
        "SELECT * FROM query('{}')".format(sql.format(root=cat.root).replace("'", "''")),
    ):
        try:
            refused(cat, con, text)
        except duckdb.ParserException:
            pass  # some compositions are not valid SQL (a window function inside a window definition): nothing runs
    assert snapshot(cat.root) == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sql=nested(SAFE_CORES))
def test_the_same_nestings_of_a_read_pass(con, sql):
    """The control: the composed text is valid SQL, refused above for the write it hides and nothing else."""
    try:
        readonly.check(sql, con)
    except duckdb.ParserException:
        assume(False)  # a composition DuckDB cannot parse (a window function inside a window definition)


def test_an_unused_named_window_never_runs(cat, con):
    """DuckDB's parser drops a WINDOW definition no OVER uses, so it is absent from the tree the guard walks
    and from the statement DuckDB binds: it passes, runs, and writes nothing (the autouse check). A window
    that is used is inlined into its OVER, where the guard sees it."""
    hidden = f"(WITH c AS (COPY (SELECT 1) TO '{cat.root}/samples/part-w.parquet') SELECT 1)"
    assert cat.query(f"SELECT 1 AS a WINDOW w AS (ORDER BY {hidden})", con).fetchall() == [(1,)]
    refused(cat, con, f"SELECT row_number() OVER w FROM range(2) WINDOW w AS (ORDER BY {hidden})")


# -- what still works -------------------------------------------------------------

READS = {
    "SELECT path, key FROM samples ORDER BY path": list(KEYS.items()),
    "SELECT key FROM samples WHERE list_contains(compatible_keys('A minor'), key) ORDER BY key": [
        ("A minor",),
        ("E minor",),
    ],
    "SELECT camelot(key) FROM samples ORDER BY path": [("8A",), ("10B",), ("9A",)],
    "WITH k AS (SELECT key, count(*) AS n FROM samples GROUP BY key) "
    "SELECT key, rank() OVER (ORDER BY key) FROM k ORDER BY key": [("A minor", 1), ("D major", 2), ("E minor", 3)],
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT sum(n) FROM r": [(6,)],
    "WITH m AS MATERIALIZED (SELECT 2 AS x) SELECT x FROM m": [(2,)],
    "SELECT run_id, analysed FROM runs": [("r1", 3)],
    "FROM samples SELECT count(*)": [(3,)],
    "SELECT count(*) FROM samples WHERE path IN (SELECT path FROM sample_history) "
    "AND EXISTS (SELECT 1 FROM removals UNION ALL SELECT 1)": [(3,)],
    "PIVOT samples ON key IN ('A minor', 'D major') USING count(*) GROUP BY kind": [("loop", 1, 1)],
    "SELECT key FROM (UNPIVOT (SELECT 'x' AS p, 'y' AS q) ON p, q INTO NAME key VALUE v) ORDER BY key": [
        ("p",),
        ("q",),
    ],
    "SELECT count(*) FROM read_parquet(getvariable('sampledex_catalog') || '/samples/*.parquet')": [(3,)],
    "SELECT count(*) FROM glob('{root}/samples/*.parquet')": [(1,)],
    "SELECT content FROM read_text('{root}/LOCK')": [(LOCK_TEXT,)],
    "SELECT json_serialize_sql('COPY (SELECT 1) TO ''x''') LIKE '%\"error\":true%'": [(True,)],
    "SELECT current_setting('lock_configuration')": [(True,)],
    "SELECT random() < 2": [(True,)],
    "-- a comment\nSELECT 1;": [(1,)],
    "/* EXPLAIN ANALYZE COPY */ SELECT 'COPY (SELECT 1) TO ''x''' AS text": [("COPY (SELECT 1) TO 'x'",)],
}


@pytest.mark.parametrize("sql", READS, ids=range(len(READS)))
def test_ordinary_reads_work(cat, con, sql):
    assert cat.query(sql.format(root=cat.root), con).fetchall() == READS[sql]


@pytest.mark.parametrize("sql", [
    "EXPLAIN SELECT * FROM samples",
    "EXPLAIN ANALYZE SELECT count(*) FROM samples",
    "EXPLAIN (FORMAT json) SELECT 1",
    "explain analyse select 1",
    "EXPLAIN (SELECT 1)",
    "EXPLAIN -- why\nSELECT 1",
    "DESCRIBE samples",
    "SUMMARIZE samples",
    "SHOW TABLES",
    "SELECT * FROM duckdb_settings() WHERE name = 'threads'",
    "SELECT * FROM parquet_schema('{root}/samples/part-a.*.parquet')",
])  # fmt: skip
def test_explain_describe_summarize_and_metadata_work(cat, con, sql):
    assert cat.query(sql.format(root=cat.root), con).fetchall()
