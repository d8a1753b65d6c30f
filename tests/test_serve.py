"""`sampledex serve`: a real server process on loopback, asked over HTTP and driven in headless Chromium.

The HTTP tests try to break the page's promises (only catalog files, loopback only, read-only SQL);
the browser tests click through it as a producer would and check what it shows against DuckDB.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sampledex.pipeline import catalog as catalog_mod
from sampledex.pipeline.tools import demo

from conftest import SAMPLEDEX, run_cli, wait_for

pytestmark = pytest.mark.slow
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The demo library plus an AIFF and, beside it, files that are not in the catalog; indexed."""
    root = tmp_path_factory.mktemp("served")
    lib = demo.write_library(root / "lib", demo.demo_specs())
    rng = np.random.default_rng(3)
    sf.write(lib / "pad.aiff", (0.3 * np.sin(2 * np.pi * 220 * np.arange(22050) / 22050)).astype(np.float32), 22050)
    outside = root / "secret"
    outside.mkdir()
    sf.write(outside / "not_indexed.wav", rng.normal(0, 0.1, 4000).astype(np.float32), 22050)
    (outside / "notes.txt").write_text("private")
    cat = root / "catalog"
    run_cli("index", str(lib), "--catalog", str(cat), "--workers", "2")
    return lib, outside, cat


@pytest.fixture(scope="module")
def server(indexed):
    """`sampledex serve` on a free loopback port; yields its base URL."""
    _, _, cat = indexed
    port = free_port()
    proc = subprocess.Popen(
        [SAMPLEDEX, "serve", "--catalog", str(cat), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    wait_for(lambda: _listening(port) or proc.poll() is not None, 60, "the server to listen", poll_s=0.1)
    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def get(url: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def audio_url(base: str, path: str) -> str:
    return f"{base}/api/audio?path={urllib.parse.quote(path, safe='')}"


def catalog_paths(cat: Path, where: str = "TRUE", params: list | None = None) -> list[str]:
    con = catalog_mod.Catalog(cat).connect(read_only=True)
    return [r[0] for r in con.execute(f"SELECT path FROM samples WHERE {where} ORDER BY path", params or []).fetchall()]


# -- HTTP: what the page serves, and what it refuses -------------------------------


def test_a_page_of_rows_is_the_catalogs_answer(server, indexed):
    _, _, cat = indexed
    status, _, body = get(f"{server}/api/samples?kind=loop&sort=path&limit=500")
    assert status == 200
    page = json.loads(body)
    shown = [row[page["columns"].index("path")] for row in page["rows"]]
    assert shown == catalog_paths(cat, "kind = 'loop' AND error IS NULL")
    assert page["total"] == len(shown) > 0


def test_paging_returns_disjoint_pages_that_cover_the_total(server, indexed):
    _, _, cat = indexed
    pages = []
    for offset in range(0, 12, 3):
        page = json.loads(get(f"{server}/api/samples?sort=path&limit=3&offset={offset}")[2])
        pages += [row[0] for row in page["rows"]]
    assert pages == catalog_paths(cat, "error IS NULL")[:12]


def test_bad_filters_are_one_line_400s(server):
    for query in ("key=H+minor", "bpm=fast", "sort=password", "limit=0", "limit=x"):
        status, _, body = get(f"{server}/api/samples?{query}")
        assert status == 400, query
        assert "\n" not in json.loads(body)["error"]


def test_audio_is_streamed_with_ranges(server, indexed):
    lib, _, _ = indexed
    wav = str(sorted(lib.glob("*.wav"))[0])
    data = Path(wav).read_bytes()
    status, headers, body = get(audio_url(server, wav))
    assert (status, body) == (200, data)
    assert headers["accept-ranges"] == "bytes"
    status, headers, body = get(audio_url(server, wav), {"Range": "bytes=100-199"})
    assert (status, body) == (206, data[100:200])
    assert headers["content-range"] == f"bytes 100-199/{len(data)}"
    status, _, body = get(audio_url(server, wav), {"Range": "bytes=-10"})
    assert (status, body) == (206, data[-10:])
    assert get(audio_url(server, wav), {"Range": f"bytes={len(data) + 5}-"})[0] == 416


def test_a_format_the_browser_cannot_play_is_sent_as_wav(server, indexed):
    lib, _, _ = indexed
    status, headers, body = get(audio_url(server, str(lib / "pad.aiff")))
    assert status == 200 and headers["content-type"] == "audio/wav"
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"


@pytest.mark.parametrize(
    "target",
    [
        "/etc/passwd",
        "../../../../etc/passwd",
        "{lib}/../secret/notes.txt",
        "{outside}/not_indexed.wav",
        "{outside}/notes.txt",
        "file:///etc/passwd",
        "{lib}",
        "",
    ],
)
def test_only_files_of_the_catalog_are_ever_served(server, indexed, target):
    """Traversal, absolute paths, URLs and real audio that was never indexed: 404, nothing read."""
    lib, outside, _ = indexed
    path = target.format(lib=lib, outside=outside)
    for endpoint in ("audio", "waveform", "similar"):
        status, _, body = get(f"{server}/api/{endpoint}?path={urllib.parse.quote(path, safe='')}")
        assert status == 404, (endpoint, path, body[:200])
        assert b"private" not in body and b"root:" not in body


@pytest.mark.parametrize(
    "url",
    [
        "/static/../cli.py",
        "/static/%2e%2e%2fcli.py",
        "/static/..%2F..%2Fetc%2Fpasswd",
        "/static/serve.py",
        "/../etc/passwd",
    ],
)
def test_static_files_are_a_fixed_list(server, url):
    status, _, body = get(server + url)
    assert status == 404
    assert b"import" not in body and b"root:" not in body


def test_the_sql_box_reads_and_cannot_write(server, indexed, tmp_path):
    _, _, cat = indexed
    ask = f"{server}/api/query"
    status, _, body = get(
        ask, {"Content-Type": "application/json"}, json.dumps({"sql": "SELECT count(*) FROM samples"}).encode()
    )
    assert status == 200 and json.loads(body)["rows"] == [[len(catalog_paths(cat))]]
    target = tmp_path / "stolen.csv"
    for sql in (
        f"COPY (SELECT * FROM samples) TO '{target}'",
        "CREATE TABLE t AS SELECT 1",
        f"SELECT * FROM read_text('{indexed[1] / 'notes.txt'}')",
        "ATTACH ':memory:' AS x",
    ):
        status, _, body = get(ask, {"Content-Type": "application/json"}, json.dumps({"sql": sql}).encode())
        assert status == 400, sql
        assert "\n" not in json.loads(body)["error"]
    assert not target.exists()


def test_the_server_listens_on_loopback_only(server):
    """Its port answers on 127.0.0.1 and on no other address of this machine."""
    port = int(server.rsplit(":", 1)[1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # UDP connect sends nothing: it picks the outward interface
        address = s.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no address besides loopback")
    with pytest.raises(OSError):
        socket.create_connection((address, port), timeout=2).close()


def test_the_wheel_lists_all_24_keys_with_counts(server, indexed):
    _, _, cat = indexed
    wheel = json.loads(get(f"{server}/api/keys")[2])["keys"]
    assert len(wheel) == 24 and len({k["camelot"] for k in wheel}) == 24
    con = catalog_mod.Catalog(cat).connect(read_only=True)
    expected = dict(con.execute("SELECT key, count(*) FROM samples WHERE key IS NOT NULL GROUP BY key").fetchall())
    assert {k["key"]: k["count"] for k in wheel if k["count"]} == expected


def test_audio_streams_from_s3_and_only_indexed_objects(s3_server, tmp_path):
    """A catalog of an S3 source: its objects stream from the (moto) server with ranges; an object added to
    the bucket after indexing is not served."""
    import s3fs

    from conftest import CREDENTIALS

    fs = s3fs.S3FileSystem(endpoint_url=s3_server, key="testing", secret="testing")
    fs.mkdir("served")
    data = {}
    for i in range(2):
        buf = io.BytesIO()
        sf.write(buf, np.sin(np.arange(11025) * (0.05 + 0.02 * i)).astype(np.float32) * 0.5, 22050, format="WAV")
        data[f"s3://served/s{i}.wav"] = buf.getvalue()
        fs.pipe(f"served/s{i}.wav", buf.getvalue())
    option = ["--storage-option", f"endpoint_url={s3_server}"]
    cat = tmp_path / "catalog"
    run_cli("index", "s3://served", "--catalog", str(cat), "--workers", "1", *option)
    fs.pipe("served/late.wav", data["s3://served/s0.wav"])
    port = free_port()
    env = {**os.environ, **CREDENTIALS}
    proc = subprocess.Popen(
        [SAMPLEDEX, "serve", "--catalog", str(cat), "--port", str(port), *option], env=env, stdout=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: _listening(port) or proc.poll() is not None, 60, "the server", poll_s=0.1)
        base = f"http://127.0.0.1:{port}"
        for url, body in data.items():
            assert get(audio_url(base, url))[2] == body
            status, _, part = get(audio_url(base, url), {"Range": "bytes=44-143"})
            assert (status, part) == (206, body[44:144])
            assert len(json.loads(get(f"{base}/api/waveform?path={urllib.parse.quote(url, safe='')}")[2])["points"])
        assert get(audio_url(base, "s3://served/late.wav"))[0] == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_serve_without_a_catalog_is_one_line(tmp_path):
    proc = run_cli("serve", "--catalog", str(tmp_path / "none"), "--port", str(free_port()), expect=1)
    assert proc.stderr.count("\n") == 1 and "no catalog" in proc.stderr


# -- the page in headless Chromium --------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail(
            "Chromium and ChromeDriver are not installed: `make setup` installs Debian's chromium and chromium-driver"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def shown_paths(driver) -> list[str]:
    """The rows the table shows, read in one script (a re-render between reads would leave stale elements)."""
    return driver.execute_script("return [...document.querySelectorAll('#rows tr')].map(tr => tr.dataset.path)")


def wait_loaded(driver, after: str | None = None) -> str:
    """Wait until the page has rendered a new answer (``body[data-loaded]`` changed from ``after``)."""
    return wait_for(
        lambda: (stamp := driver.find_element("tag name", "body").get_attribute("data-loaded")) != after and stamp,
        20,
        "the page to load rows",
        poll_s=0.05,
    )


def wait_shows(driver, expected: list[str]) -> None:
    """Wait until the table shows exactly ``expected`` (typing triggers a load per pause, the last one wins)."""
    try:
        wait_for(lambda: shown_paths(driver) == expected, 20, "the filtered rows", poll_s=0.05)
    except AssertionError:
        assert shown_paths(driver) == expected  # the difference, not only a timeout


def test_the_page_filters_by_key_and_bpm_as_duckdb_does(server, indexed, browser):
    _, _, cat = indexed
    con = catalog_mod.Catalog(cat).connect(read_only=True)
    key, bpm = con.execute("SELECT key, bpm FROM samples WHERE key IS NOT NULL AND bpm IS NOT NULL LIMIT 1").fetchone()
    browser.get(server + "/")
    wait_loaded(browser)
    assert shown_paths(browser) == catalog_paths(cat, "error IS NULL")[:100]
    browser.find_element("id", "key").send_keys(key)
    wait_shows(browser, catalog_paths(cat, "key = ? AND error IS NULL", [key]))
    browser.find_element("id", "compatible").click()
    compatible = "key IN (SELECT unnest(compatible_keys(?))) AND error IS NULL"
    wait_shows(browser, catalog_paths(cat, compatible, [key]))
    # half the tempo as the range's top: the loop still matches through double time, unless strict
    low, high = round(bpm / 2 - 3), round(bpm / 2 + 3)
    browser.find_element("id", "bpm").send_keys(f"{low}:{high}")
    expected = catalog_paths(cat, compatible + " AND bpm_between(bpm, ?, ?)", [key, low, high])
    assert expected
    wait_shows(browser, expected)
    assert f"{len(expected)} samples match" in browser.find_element("id", "status").text
    browser.find_element("id", "strict_bpm").click()
    wait_shows(browser, catalog_paths(cat, compatible + " AND bpm BETWEEN ? AND ?", [key, low, high]))


def test_the_camelot_wheel_filters_by_key(server, indexed, browser):
    _, _, cat = indexed
    browser.get(server + "/")
    stamp = wait_loaded(browser)
    browser.find_element("css selector", '#wheel path[data-key="C major"]').click()
    wait_loaded(browser, stamp)
    assert browser.find_element("id", "key").get_attribute("value") == "C major"
    wait_shows(browser, catalog_paths(cat, "key = 'C major' AND error IS NULL"))


def test_clicking_a_row_plays_it_and_arrows_move(server, indexed, browser):
    browser.get(server + "/")
    wait_loaded(browser)
    rows = browser.find_elements("css selector", "#rows tr")
    loop = next(r for r in rows if r.find_element("css selector", "td[data-column=kind]").text == "loop")
    loop.click()
    player = browser.find_element("id", "player")
    wait_for(
        lambda: browser.execute_script("return arguments[0].currentTime > 0.05 && !arguments[0].paused", player),
        20,
        "the audio element to play",
        poll_s=0.05,
    )
    assert player.get_attribute("data-path") == loop.get_attribute("data-path")
    index = rows.index(loop)
    browser.find_element("tag name", "body").send_keys("\ue015")  # arrow down
    wait_for(
        lambda: player.get_attribute("data-path") == rows[index + 1].get_attribute("data-path"), 10, "the next row"
    )
    assert "selected" in rows[index + 1].get_attribute("class")


def test_more_like_this_and_the_sql_box(server, indexed, browser):
    browser.get(server + "/")
    wait_loaded(browser)
    browser.find_element("css selector", "#rows tr").click()
    browser.find_element("id", "more-like").click()
    wait_for(lambda: browser.find_elements("css selector", "#similar-rows td"), 20, "similar rows")
    browser.find_element("css selector", "#sql summary").click()
    box = browser.find_element("id", "sql-text")
    box.clear()
    box.send_keys("SELECT count(*) AS n FROM samples")
    browser.find_element("id", "sql-run").click()
    wait_for(lambda: browser.find_elements("css selector", "#sql-result td"), 20, "the SQL answer")
    assert browser.find_element("css selector", "#sql-result td").text == str(len(catalog_paths(indexed[2])))
    box.clear()
    box.send_keys("COPY samples TO '/tmp/x.csv'")
    browser.find_element("id", "sql-run").click()
    wait_for(lambda: browser.find_elements("css selector", "#sql-result .error"), 20, "the refusal")


def test_a_traversal_url_in_the_browser_is_refused(server, browser):
    browser.get(server + "/api/audio?path=" + urllib.parse.quote("../../../etc/passwd", safe=""))
    assert "not a file of this catalog" in browser.page_source
    browser.get(server + "/static/..%2F..%2Fetc%2Fpasswd")
    assert "root:" not in browser.page_source


def test_waveforms_are_drawn(server, browser):
    browser.get(server + "/")
    wait_loaded(browser)
    drawn = wait_for(
        lambda: browser.execute_script(
            "const c = document.querySelector('canvas.wave');"
            "return c && c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 == 3 && v);"
        ),
        20,
        "a waveform on the first row",
    )
    assert drawn
