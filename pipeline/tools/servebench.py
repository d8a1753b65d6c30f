"""``make bench-serve``: how fast the web page answers a filter on a 100,000-row catalog.

Builds a catalog of realistic fake rows (:func:`catalogbench.fake_rows`), compacted as an index run
leaves it, starts the real server
(uvicorn, on a free loopback port, in this process) and times, over HTTP as the page asks them, the
first page of: no filter, a key, a key with its compatible keys and a BPM range, a kind with text in
the path, and the same sorted by BPM and paged far in; and the wheel's key counts. A command, not a
test: each figure is the median of a few requests, on whatever else the machine is doing. The target
is under 300 ms per filter.
"""

from __future__ import annotations

import argparse
import functools
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from sampledex.pipeline import catalog as catalog_mod

from .catalogbench import build, median_s

FILTERS = {
    "no filter": "",
    "key": "key=Am",
    "key + compatible + BPM": "key=Am&compatible=1&bpm=120:128",
    "kind + text in path": "kind=loop&q=pack00042",
    "sorted by BPM, page 50": "sort=bpm&order=desc&offset=5000",
    "declared key + BPM": "key=Am&bpm=120:128&declared=1",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--parts", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    import uvicorn

    from sampledex.pipeline import serve

    with tempfile.TemporaryDirectory() as tmp:
        catalog = catalog_mod.Catalog(Path(tmp) / "catalog")
        build(catalog, args.rows, args.parts)
        # as `sampledex index` leaves a catalog of this size: compacted into one sorted base (a fresh
        # part's rows are deduplicated per query, which bench-catalog times apart)
        catalog.compact()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(serve.create_app(catalog.root), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{port}"

        def fetch(url: str) -> bytes:
            with urllib.request.urlopen(url, timeout=60) as r:
                return r.read()

        print(f"catalog: {args.rows:,} rows; the page's requests, median of {args.repeats}:")
        requests = {name: f"{base}/api/samples?limit=100&{query}" for name, query in FILTERS.items()}
        requests["wheel (rows per key)"] = f"{base}/api/keys"
        for name, url in requests.items():
            fetch(url)  # the first request of a filter warms DuckDB's caches, as a user's first click does
            print(f"  {name:<26} {1000 * median_s(functools.partial(fetch, url), args.repeats):7.1f} ms")
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
