"""``make docs``: README's pictures, made by the project's own commands from the demo library and the shipped model.

``python -m sampledex.pipeline.tools.pictures DIR`` writes into DIR:

- ``serve.png``: ``sampledex serve`` on the demo catalog in headless Chromium, filtered to A minor and
  its compatible keys, one row playing and its "more like this" panel open;
- ``keywheel.png``, ``tempo.png``, ``loudness.png``: ``sampledex plot`` of the demo catalog;
- ``sample.png``: ``sampledex plot`` of one demo loop (waveform, spectrogram, chroma, both methods' scores);
- ``confusion.png``: ``sampledex evaluate --confusion`` of the shipped CNN on a 300-file library made by
  the demo's generator with another seed (the demo's 20 keyed files would leave most cells empty).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import demo

SAMPLEDEX = str(Path(sys.executable).with_name("sampledex"))


def sampledex(*args: str) -> None:
    subprocess.run([SAMPLEDEX, *args], check=True)


def screenshot(catalog: Path, out: Path) -> None:
    """The page, as a user sees it after filtering and clicking, saved as a PNG."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([SAMPLEDEX, "serve", "--catalog", str(catalog), "--port", str(port)])
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1500,950",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    try:
        for _ in range(200):
            try:
                driver.get(f"http://127.0.0.1:{port}/")
                break
            except Exception:  # the server is still starting
                time.sleep(0.1)
        _until(lambda: driver.find_element("tag name", "body").get_attribute("data-loaded"))
        driver.find_element("id", "key").send_keys("A minor")
        driver.find_element("id", "compatible").click()
        time.sleep(1.0)
        _until(lambda: driver.find_elements("css selector", "#rows tr"))
        driver.find_elements("css selector", "#rows tr")[0].click()
        driver.find_element("id", "more-like").click()
        _until(lambda: driver.find_elements("css selector", "#similar-rows tr"))
        time.sleep(1.0)  # waveforms drawn
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)


def _until(condition, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise TimeoutError("the page did not get there")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        library = demo.write_library(Path(tmp) / "demo-library", demo.demo_specs())
        catalog = Path(tmp) / "catalog"
        sampledex("index", str(library), "--catalog", str(catalog))
        sampledex("plot", "--catalog", str(catalog), "--out", str(args.out))
        loop = next(s.name for s in demo.demo_specs() if s.kind == "tonal_loop")
        sampledex("plot", str(library / loop), "--out", str(args.out))
        (args.out / Path(loop).with_suffix(".png").name).replace(args.out / "sample.png")
        screenshot(catalog, args.out / "serve.png")
        keyed = demo.write_library(Path(tmp) / "keyed", demo.library_specs(300, seed=1))
        sampledex("evaluate", str(keyed / "labels.csv"), "--confusion", str(args.out / "confusion.png"))
    print(f"pictures in {args.out}/")


if __name__ == "__main__":
    main()
