"""The read-only guard: whether a piece of user SQL may run against the catalog.

``sampledex query`` (through :meth:`Catalog.query`) and any other place that
runs SQL a user typed call :func:`check` first; it raises
:class:`ReadOnlyViolation` (a :class:`CatalogError`, exit status 1, one line)
for anything that is not a plain read.

What passes:

* exactly one statement, of type ``SELECT`` (which includes ``FROM …``,
  ``VALUES``, ``DESCRIBE``, ``SUMMARIZE``, ``SHOW``, ``PIVOT … IN (…)``,
  ``UNPIVOT``), or ``EXPLAIN [ANALYZE] [(options)]`` of such a statement;
* whose parse tree, as DuckDB serialises it (``json_serialize_sql``), holds
  only SELECT / set-operation / recursive-CTE query nodes — DuckDB 2.0 accepts
  ``INSERT``, ``UPDATE``, ``DELETE`` and ``COPY … TO`` as CTE bodies, at any
  depth, and runs them: those nodes are refused wherever they sit;
* only known kinds of table reference, only table functions from
  :data:`READ_TABLE_FUNCTIONS` (files, generators, catalog metadata), and no
  function from :data:`REFUSED_FUNCTIONS`.

Anything DuckDB cannot serialise, or that the check does not recognise, is
refused: the check fails closed. It is a structural check on the parse tree,
not a pattern match on the text, so comments, case, quoting and nesting do not
matter. Reads are further confined by the connection (:meth:`Catalog.connect`):
``allowed_directories`` is the catalog folder alone, no temp directory, no
external access, locked configuration.

Decisions on functions reachable from a SELECT:

* ``query()`` / ``query_table()`` run SQL (or resolve names) from a string the
  check cannot see, and ``json_execute_serialized_sql`` runs a serialised
  statement (a COPY inside a CTE included): refused.
* ``json_serialize_plan`` binds and plans a statement given as text: refused.
  ``json_serialize_sql`` / ``json_deserialize_sql`` only parse and print: allowed.
* ``setseed``, ``nextval``, ``setval`` change session state (``currval`` reads it);
  ``write_log`` writes to DuckDB's log: refused. ``getenv`` (absent from
  DuckDB's Python package, present in its shell) reads the process
  environment: refused should it ever be there.
* ``current_setting``, ``getvariable`` and the ``duckdb_*`` metadata functions
  read this connection's own settings and catalog and nothing outside it:
  allowed — but not ``duckdb_extensions`` (lists the extension folder on disk),
  ``duckdb_secrets`` / ``which_secret``, or the log functions.
* ``histogram()`` / ``histogram_values()`` are table macros over ``query_table``: refused with it.
* ``read_parquet``, ``read_csv``, ``read_json``, ``read_text``, ``read_blob``,
  ``glob``, … are allowed: DuckDB itself stops them outside the catalog folder.
* ``EXPLAIN ANALYZE`` runs its statement, which passed the same check: allowed.
  ``PRAGMA`` is refused, read-only ones too: ``SELECT * FROM pragma_version()`` and
  the other ``pragma_*`` table functions read the same.

The check alone does not confine reads: run the SQL on a connection from
``Catalog.connect(read_only=True)`` (as :meth:`Catalog.query` does), never on
an unconfined one.

Import cost matters (``sampledex query`` must start fast): this module needs
duckdb and the standard library only.
"""

from __future__ import annotations

import json

import duckdb

from .catalog import CatalogError


class ReadOnlyViolation(CatalogError):
    """User SQL that could write, configure, or run SQL the check cannot see."""


#: top-level statement types a read may be
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN"})

#: query nodes a read may contain; DuckDB 2.0 also has INSERT_QUERY_NODE, UPDATE_QUERY_NODE,
#: DELETE_QUERY_NODE and COPY_QUERY_NODE (CTE bodies that write), and may add more
READ_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})

#: table references a read may contain (SHOW_REF: DESCRIBE, SUMMARIZE, SHOW)
READ_TABLE_REFS = frozenset(
    {"BASE_TABLE", "JOIN", "SUBQUERY", "TABLE_FUNCTION", "EXPRESSION_LIST", "PIVOT", "SHOW_REF", "EMPTY"}
)

#: table functions a read may call; any other is refused (``checkpoint``, ``enable_logging``,
#: ``add_grammar_extension``, ``register_external_resource``, ``query``, the Python scans, …)
READ_TABLE_FUNCTIONS = frozenset(
    # files: DuckDB's allowed_directories keeps them inside the catalog folder
    """read_parquet parquet_scan parquet_metadata parquet_schema parquet_file_metadata parquet_kv_metadata
    parquet_full_metadata parquet_bloom_probe parquet_page_index read_csv read_csv_auto sniff_csv read_json
    read_json_auto read_json_objects read_json_objects_auto read_ndjson read_ndjson_auto read_ndjson_objects
    read_text read_blob read_duckdb glob"""
    # generators and helpers
    """ range generate_series unnest repeat repeat_row json_each json_tree summary
    test_all_types test_vector_types icu_calendar_names pg_timezone_names"""
    # this connection's own catalog and settings
    """ duckdb_columns duckdb_constraints duckdb_databases duckdb_dependencies duckdb_functions duckdb_indexes
    duckdb_keywords duckdb_memory duckdb_optimizers duckdb_schemas duckdb_sequences duckdb_settings duckdb_tables
    duckdb_types duckdb_variables duckdb_views duckdb_temporary_files pragma_table_info pragma_show
    pragma_version pragma_platform pragma_database_size pragma_storage_info pragma_metadata_info
    pragma_collations pragma_user_agent""".split()
)

#: functions refused wherever they are called, with the reason a user sees
REFUSED_FUNCTIONS = {
    "query": "runs SQL given as a string",
    "query_table": "reads tables named by a string",  # also behind the table macros histogram()
    "json_execute_serialized_sql": "runs a serialised statement",
    "json_serialize_plan": "binds and plans a statement given as a string",
    "setseed": "changes the session's random state",
    "nextval": "changes a sequence",
    "setval": "changes a sequence",
    "currval": "reads a sequence's session state",
    "write_log": "writes to DuckDB's log",
    "getenv": "reads the process environment",
}


def _refuse(what: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(
        f"read-only catalog: {what} is refused "
        "(query runs one SELECT, DESCRIBE, SUMMARIZE or EXPLAIN of one, and nothing else)"
    )


def _one_line(text: object, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _statement_types(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    """The type of each statement of ``sql``; parser errors propagate as :class:`duckdb.Error`."""
    statements = con.extract_statements(sql)
    try:
        return [s.type.name for s in statements]
    except ValueError as exc:  # a type the Python package has no name for (UPDATE EXTENSIONS in 2.0)
        raise _refuse(f"a statement of unknown type ({_one_line(exc)})") from None


def check(sql: str, con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Raise :class:`ReadOnlyViolation` unless ``sql`` is one statement that only reads.

    ``con`` is the connection that will run it (its parser is the one that
    matters); a bare in-memory one is used without it. SQL that does not parse
    raises DuckDB's own :class:`duckdb.ParserException`.
    """
    con = con if con is not None else duckdb.connect()
    kinds = _statement_types(con, sql)
    if len(kinds) != 1:
        raise ReadOnlyViolation(f"read-only catalog: expected one SQL statement, got {len(kinds)}")
    kind = kinds[0]
    if kind == "SELECT":
        _check_select(con, sql)
    elif kind == "EXPLAIN":
        _check_explain(con, sql)
    elif kind == "MULTI":
        raise _refuse(
            "a statement that runs several (a PIVOT without an IN list creates a type first; "
            "name the values: PIVOT … ON col IN (…))"
        )
    else:
        raise _refuse(_statement(kind))


def _statement(kind: str) -> str:
    """``'an ATTACH statement'``: a statement type as the refusal names it (DuckDB types INSTALL as LOAD)."""
    name = "INSTALL or LOAD" if kind == "LOAD" else kind
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name} statement"


def _check_explain(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """``EXPLAIN [ANALYZE] [(options)] statement``: the explained statement must pass as a SELECT.

    EXPLAIN ANALYZE runs its statement, so the statement is checked as if it ran.
    Where it starts is found with DuckDB's tokenizer: after EXPLAIN and an
    optional ANALYZE, either at a parenthesis (``EXPLAIN (SELECT 1)``) or after
    a parenthesised group of options (``EXPLAIN (FORMAT json) SELECT 1``).
    Every reading of the text that parses must pass; one must parse.
    """
    every = duckdb.tokenize(sql)
    ends = [pos for pos, _ in every[1:]] + [len(sql)]
    # (start, kind, text) of each token but comments; a token's text runs to the next token of any kind
    tokens = [(pos, kind.name, sql[pos:end].strip()) for (pos, kind), end in zip(every, ends) if kind.name != "comment"]

    def word(i: int) -> str:
        return tokens[i][2]

    if not tokens or word(0).upper() != "EXPLAIN":
        raise _refuse("an EXPLAIN statement this check cannot read")
    i = 1
    if i < len(tokens) and word(i).upper() in ("ANALYZE", "ANALYSE"):
        i += 1
    if i >= len(tokens):
        raise _refuse("an EXPLAIN of nothing")
    starts = [tokens[i][0]]
    if word(i).startswith("("):  # options, or a parenthesised statement: try the text after the group too
        depth, j = 0, i
        while j < len(tokens):
            if tokens[j][1] == "operator":
                text = word(j)
                depth += text.count("(") - text.count(")")
            j += 1
            if depth <= 0:
                break
        if j < len(tokens):
            starts.append(tokens[j][0])
    checked = 0
    for start in starts:
        inner = sql[start:]
        try:
            kinds = _statement_types(con, inner)
        except duckdb.Error:
            continue  # this reading does not parse: the other one is the statement
        if len(kinds) != 1:
            continue
        if kinds[0] != "SELECT":
            raise _refuse(f"EXPLAIN of {_statement(kinds[0])}")
        _check_select(con, inner, context="EXPLAIN of ")
        checked += 1
    if not checked:
        raise _refuse("an EXPLAIN whose statement this check cannot find")


def _check_select(con: duckdb.DuckDBPyConnection, sql: str, context: str = "") -> None:
    try:
        # fetch the result whole: DuckDB 2.0 refuses the next statement while one is pending
        [(serialised,)] = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    except duckdb.Error as exc:
        raise _refuse(f"{context}a statement this check cannot read ({_one_line(exc)})") from None
    tree = json.loads(serialised)
    if tree.get("error", True):
        raise _refuse(
            f"{context}a statement DuckDB cannot serialise to check "
            f"({_one_line(tree.get('error_message', 'no reason given'))})"
        )
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise ReadOnlyViolation(f"read-only catalog: expected one SQL statement, got {len(statements)}")
    _walk(statements[0], context)


def _function_name(node: dict) -> str:
    path = (node.get("qualified_name") or {}).get("path") or []
    name = node.get("function_name") or (path[-1] if path else "")
    return str(name).lower()


def _walk(root, context: str) -> None:
    """Visit every node of the serialised tree (iteratively: a deep nesting cannot overflow the stack)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if "cte_map" in node or (isinstance(kind, str) and kind.endswith("_QUERY_NODE")):
            if kind not in READ_QUERY_NODES:
                what = str(kind).removesuffix("_QUERY_NODE").removesuffix("_NODE")
                raise _refuse(f"{context}{what} nested in the query")
        elif "class" in node:  # an expression
            if node.get("class") == "FUNCTION":
                name = _function_name(node)
                if name in REFUSED_FUNCTIONS:
                    raise _refuse(f"{context}function {name}() ({REFUSED_FUNCTIONS[name]})")
        elif "sample" in node and "alias" in node:  # a table reference
            if kind not in READ_TABLE_REFS:
                raise _refuse(f"{context}a table reference of kind {kind}")
            if kind == "TABLE_FUNCTION":
                function = node.get("function")
                name = _function_name(function) if isinstance(function, dict) else ""
                if name in REFUSED_FUNCTIONS:
                    raise _refuse(f"{context}table function {name}() ({REFUSED_FUNCTIONS[name]})")
                if name not in READ_TABLE_FUNCTIONS:
                    raise _refuse(f"{context}table function {name or '?'}() (not one that only reads)")
        stack.extend(node.values())
