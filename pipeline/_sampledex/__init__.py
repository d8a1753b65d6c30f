"""sampledex: a sample library indexed by key, tempo and sound, in a Parquet catalog that DuckDB queries.

The package's own root holds nothing but ``python -m sampledex``; the code lives in
``sampledex.pipeline`` (the data flow and its interfaces), ``sampledex.models``
(the estimators) and ``sampledex.sql`` (the catalog's views and macros). It
imports nothing, so every command starts fast.
"""
