"""``sampledex serve``: a local web page to browse, filter and audition the catalog.

browser ──► /                 the page (``web/``: plain HTML, CSS and JavaScript, shipped in the package)
        ──► /api/samples      one page of rows for the filters (:mod:`search`), sorted, with the total
        ──► /api/keys         rows per key, for the Camelot wheel
        ──► /api/audio        a catalog file's bytes, streamed through fsspec with HTTP range requests
        ──► /api/waveform     a row's waveform outline (min and max per slice), computed once and cached
        ──► /api/similar      the rows most like one row (:mod:`similar`)
        ──► /api/query        one read-only SQL statement, through the same check as ``sampledex query``

Only files that are rows of the catalog are ever read: a request names a catalog path, and anything
else — a traversal, a path of the disk that was never indexed — is answered 404 before any file is
opened. The server binds to 127.0.0.1 unless told otherwise. Starlette (routing, responses) and uvicorn
(the HTTP server) do the web part; the rest is the catalog's own code.
"""

from __future__ import annotations

import io
import ipaddress
import json
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sampledex.models import keys
from sampledex.models.errors import SampledexError, UsageError

from . import catalog as catalog_mod
from . import decode, search, similar, sources

#: columns a page shows and may sort by
PAGE_COLUMNS = (
    "path",
    "kind",
    "key",
    "camelot",
    "key_confidence",
    "bpm",
    "root_note",
    "duration_s",
    "loudness_lufs",
    "declared_key",
    "declared_bpm",
)
#: most rows one page request returns
MAX_PAGE = 500
#: what a browser plays as it is; anything else (AIFF) is sent as 16-bit WAV
PLAYABLE = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg"}
#: bytes sent per chunk of a streamed file
CHUNK_BYTES = 256 * 1024
#: slices of a waveform outline, and outlines kept in memory
WAVEFORM_POINTS = 200
WAVEFORM_CACHE = 4096
WEB = resources.files("sampledex.pipeline").joinpath("web")
ASSETS = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}


class NotInCatalog(SampledexError):
    """A request named a file that is not a row of the catalog."""


class CatalogView:
    """One confined DuckDB connection over the catalog, renewed when the catalog's files change.

    DuckDB connections are not shared between threads, and the server answers on several: queries take
    turns behind a lock (a local page has one user; each query takes milliseconds).
    """

    def __init__(self, catalog: catalog_mod.Catalog):
        self.catalog = catalog
        self.lock = threading.Lock()
        self._files: Any = None
        self._con: Any = None

    def connection(self):
        """The connection, reconnected if an index run or a compaction changed the catalog's files."""
        files = self.catalog.snapshot().files
        if files != self._files:
            self._con, self._files = self.catalog.connect(read_only=True), files
        return self._con

    def rows(self, sql: str, params: list | None = None) -> tuple[list[str], list[tuple]]:
        with self.lock:
            rel = self.connection().execute(sql, params or [])
            return [d[0] for d in rel.description], rel.fetchall()

    def run(self, fn):
        """``fn(connection)`` under the lock."""
        with self.lock:
            return fn(self.connection())

    def require_row(self, path: str) -> dict[str, Any]:
        """The row of ``path`` (format and source), or :class:`NotInCatalog`."""
        _, rows = self.rows("SELECT format, size_bytes, mtime FROM samples WHERE path = ?", [path])
        if not rows:
            raise NotInCatalog(f"not a file of this catalog: {path!r}")
        fmt, size, mtime = rows[0]
        return {"format": fmt, "size_bytes": size, "mtime": mtime}


def _bpm(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    from .cli import parse_bpm_range

    try:
        return parse_bpm_range(text)
    except (ValueError, SampledexError) as exc:
        raise UsageError(f"bpm: {exc}") from None


def filters_from(query: dict[str, str]) -> search.Filters:
    """The page's query string as search filters (``bpm=120:128``, ``compatible=1``, ``declared=1``, …)."""
    compatible = query.get("compatible")
    return search.Filters(
        key=query.get("key") or None,
        compatible=(compatible if compatible not in ("1", "true", "on") else "camelot") if compatible else None,
        bpm=_bpm(query.get("bpm")),
        kind=query.get("kind") or None,
        root=query.get("root") or None,
        declared=query.get("declared") in ("1", "true", "on"),
        strict_bpm=query.get("strict_bpm") in ("1", "true", "on"),
        text=query.get("q") or None,
    )


def page_sql(where: str, *, sort: str, descending: bool) -> str:
    """One page of rows with the total that match, sorted by an allowed column."""
    if sort not in PAGE_COLUMNS:
        raise UsageError(f"sort: {sort!r} is not one of {', '.join(PAGE_COLUMNS)}")
    order = f"{sort} {'DESC' if descending else 'ASC'} NULLS LAST, path"
    return (
        f"SELECT {', '.join(PAGE_COLUMNS)}, count(*) OVER () AS total FROM samples WHERE {where} "
        f"ORDER BY {order} LIMIT ? OFFSET ?"
    )


def _int(query: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:
        raise UsageError(f"{name}: not a whole number") from None
    if not lo <= value <= hi:
        raise UsageError(f"{name}: {value} is not between {lo} and {hi}")
    return value


def create_app(catalog_dir: str | Path, *, storage_options: dict | None = None) -> Starlette:
    """The web application over the catalog at ``catalog_dir`` (which must exist)."""
    catalog = catalog_mod.Catalog(catalog_dir)
    if not catalog.exists():
        raise catalog_mod.CatalogError(f"no catalog at {catalog.root}: run `sampledex index SOURCE` first")
    view = CatalogView(catalog)
    view.connection()  # a damaged catalog is reported at start, not on the first click
    waveforms: OrderedDict[tuple, list] = OrderedDict()
    options = storage_options or {}

    async def asset(request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        if name not in ASSETS:  # the only files served besides the catalog's: a fixed list, no paths
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(WEB.joinpath(name).read_bytes(), media_type=ASSETS[name])

    def samples(request: Request) -> Response:
        q = dict(request.query_params)
        filters = filters_from(q)

        def answer(con) -> tuple[list[str], list[tuple]]:
            where, params = search.where(con, filters)
            sql = page_sql(where, sort=q.get("sort", "path"), descending=q.get("order") == "desc")
            params += [_int(q, "limit", 100, 1, MAX_PAGE), _int(q, "offset", 0, 0, 10**12)]
            rel = con.execute(sql, params)
            return [d[0] for d in rel.description], rel.fetchall()

        columns, rows = view.run(answer)
        total = rows[0][-1] if rows else 0
        return _json({"columns": columns[:-1], "rows": [list(r[:-1]) for r in rows], "total": total})

    def key_counts(request: Request) -> Response:
        _, rows = view.rows("SELECT key, count(*) FROM samples WHERE key IS NOT NULL GROUP BY key")
        counts = dict(rows)
        wheel = [
            {"key": k, "camelot": keys.camelot(i), "count": counts.get(k, 0)} for i, k in enumerate(keys.KEY_NAMES)
        ]
        return _json({"keys": wheel})

    def audio(request: Request) -> Response:
        path = request.query_params.get("path", "")
        row = view.require_row(path)
        if row["format"] in PLAYABLE:
            fs, fs_path = sources.open_source(path, options)
            return _ranged(request, lambda: fs.open(fs_path, "rb"), int(fs.size(fs_path)), PLAYABLE[row["format"]])
        data = _as_wav(path, options)
        return _ranged(request, lambda: io.BytesIO(data), len(data), "audio/wav")

    def waveform(request: Request) -> Response:
        path = request.query_params.get("path", "")
        row = view.require_row(path)
        cache_key = (path, row["size_bytes"], row["mtime"])
        if cache_key not in waveforms:
            waveforms[cache_key] = outline(decode.load(path, storage_options=options).samples)
            if len(waveforms) > WAVEFORM_CACHE:
                waveforms.popitem(last=False)
        return _json({"path": path, "points": waveforms[cache_key]}, cache=True)

    def similar_rows(request: Request) -> Response:
        path = request.query_params.get("path", "")
        view.require_row(path)
        limit = _int(dict(request.query_params), "limit", 10, 1, MAX_PAGE)

        def answer(con):
            return similar.similar(con, similar.find_target(con, path), limit=limit)

        columns, rows = view.run(answer)
        return _json({"columns": columns, "rows": [list(r) for r in rows]})

    async def sql_box(request: Request) -> Response:
        body = await request.json() if request.method == "POST" else dict(request.query_params)
        sql = str(body.get("sql", ""))

        def answer(con):
            rel = catalog.query(sql, con)
            return rel.columns, rel.limit(MAX_PAGE).fetchall()

        columns, rows = view.run(answer)
        return _json({"columns": columns, "rows": [list(r) for r in rows]})

    routes = [
        Route("/", asset),
        Route("/static/{name}", asset),
        Route("/api/samples", samples),
        Route("/api/keys", key_counts),
        Route("/api/audio", audio),
        Route("/api/waveform", waveform),
        Route("/api/similar", similar_rows),
        Route("/api/query", sql_box, methods=["GET", "POST"]),
    ]
    return Starlette(
        routes=routes, exception_handlers={SampledexError: _error, ValueError: _error, duckdb.Error: _error}
    )


def outline(samples: np.ndarray, points: int = WAVEFORM_POINTS) -> list[list[float]]:
    """A waveform thumbnail: [min, max] of the channels' mean over ``points`` equal slices (full scale = 1)."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if mono.size == 0:
        return []
    edges = np.linspace(0, mono.size, min(points, mono.size) + 1).astype(int)
    return [[round(float(mono[a:b].min()), 3), round(float(mono[a:b].max()), 3)] for a, b in zip(edges, edges[1:])]


def _as_wav(path: str, options: dict) -> bytes:
    """A file the browser cannot play, decoded and written as 16-bit WAV."""
    import soundfile as sf

    audio = decode.load(path, storage_options=options)
    out = io.BytesIO()
    sf.write(out, audio.samples, audio.sample_rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def _ranged(request: Request, opener, size: int, media_type: str) -> Response:
    """The file's bytes, or the one range the request asks for (206), streamed in chunks."""
    start, end = 0, size - 1
    status = 200
    header = request.headers.get("range")
    if header:
        parsed = _parse_range(header, size)
        if parsed is None:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        start, end = parsed
        status = 206

    def chunks():
        with opener() as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                block = f.read(min(CHUNK_BYTES, left))
                if not block:
                    break
                left -= len(block)
                yield block

    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(chunks(), status_code=status, media_type=media_type, headers=headers)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=START-END``, ``bytes=START-`` or ``bytes=-SUFFIX`` as inclusive offsets; None if unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            length = int(last)
            start, end = max(size - length, 0), size - 1
        else:
            start, end = int(first), int(last) if last else size - 1
    except ValueError:
        return None
    end = min(end, size - 1)
    if start > end or start < 0:
        return None
    return start, end


def _json(payload: dict, *, cache: bool = False) -> Response:
    headers = {"Cache-Control": "max-age=3600" if cache else "no-store"}
    return Response(json.dumps(payload, default=str), media_type="application/json", headers=headers)


async def _error(request: Request, exc: Exception) -> Response:
    """A user's error as JSON with its one line; a file outside the catalog is 404, anything else 400."""
    status = 404 if isinstance(exc, NotInCatalog) else 400
    return JSONResponse({"error": " ".join(str(exc).split())}, status_code=status)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    catalog_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    storage_options: dict | None = None,
    on_ready=print,
) -> None:
    """Serve the page until interrupted."""
    import uvicorn

    app = create_app(catalog_dir, storage_options=storage_options)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    on_ready(f"sampledex: serving {Path(catalog_dir).resolve()} at http://{host}:{port}/ (Ctrl-C stops)")
    server.run()
