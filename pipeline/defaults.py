"""Defaults shared by the CLI and the modules behind it.

Importing this module costs nothing (no numpy, pyarrow or duckdb), so the CLI
can build its help from it and start in a fraction of a second.
"""

from __future__ import annotations

import os

#: the catalog folder when neither ``--catalog`` nor :data:`CATALOG_ENV` names one
DEFAULT_CATALOG = "catalog"
CATALOG_ENV = "SAMPLEDEX_CATALOG"
#: key estimators by name; the CNN is the default
KEY_METHODS = ("cnn", "classic")
DEFAULT_KEY_METHOD = "cnn"
#: how commands that print rows print them
OUTPUT_FORMATS = ("table", "csv", "json")
DEFAULT_SEARCH_LIMIT = 50
#: the ``compatible_keys`` macro's rules (``sql/macros.sql``)
COMPATIBLE_RULES = ("exact", "adjacent", "relative", "camelot", "extended")
DEFAULT_COMPATIBLE_RULE = "camelot"
#: set to 1 to see a traceback behind every error (as ``--debug`` does)
DEBUG_ENV = "SAMPLEDEX_DEBUG"


def catalog_location() -> str:
    """``$SAMPLEDEX_CATALOG``, else ``./catalog``."""
    return os.environ.get(CATALOG_ENV) or DEFAULT_CATALOG
