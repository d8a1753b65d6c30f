// sampledex page: filters -> /api/samples, a table with waveforms, audition through <audio>, a Camelot wheel.
"use strict";

const state = { sort: "path", order: "asc", offset: 0, limit: 100, rows: [], columns: [], total: 0, selected: -1 };
const $ = (id) => document.getElementById(id);
const SHOWN = ["path", "kind", "key", "camelot", "bpm", "root_note", "duration_s", "loudness_lufs", "declared_key"];
const NUMERIC = new Set(["bpm", "duration_s", "loudness_lufs", "key_confidence", "declared_bpm", "similarity"]);

function filterParams() {
  const p = new URLSearchParams();
  for (const id of ["key", "bpm", "kind", "root", "q"]) {
    const v = $(id).value.trim();
    if (v) p.set(id, v);
  }
  for (const id of ["compatible", "strict_bpm", "declared"]) if ($(id).checked) p.set(id, "1");
  return p;
}

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function load() {
  const p = filterParams();
  p.set("sort", state.sort);
  p.set("order", state.order);
  p.set("offset", state.offset);
  p.set("limit", state.limit);
  const started = performance.now();
  try {
    const page = await getJSON("/api/samples?" + p);
    Object.assign(state, { rows: page.rows, columns: page.columns, total: page.total, selected: -1 });
    render();
    say(`${page.total.toLocaleString()} samples match (${Math.round(performance.now() - started)} ms)`);
    document.body.dataset.loaded = String(Date.now());
  } catch (err) {
    say(err.message, true);
  }
}

function cell(column, value) {
  const td = document.createElement("td");
  if (value === null || value === undefined) return td;
  if (column === "path") {
    td.className = "path";
    td.title = value;
    td.textContent = value.split("/").pop();
  } else if (NUMERIC.has(column)) {
    td.className = "num";
    td.textContent = Number(value).toFixed({ bpm: 1, declared_bpm: 1, similarity: 3 }[column] ?? 2);
  } else {
    td.textContent = value;
  }
  td.dataset.column = column;
  return td;
}

function render() {
  const head = $("head");
  head.innerHTML = "<th>wave</th>";
  for (const c of SHOWN) {
    const th = document.createElement("th");
    th.textContent = c + (state.sort === c ? (state.order === "asc" ? " ▲" : " ▼") : "");
    th.className = state.sort === c ? "sorted" : "";
    th.dataset.column = c;
    th.onclick = () => {
      state.order = state.sort === c && state.order === "asc" ? "desc" : "asc";
      state.sort = c;
      state.offset = 0;
      load();
    };
    head.appendChild(th);
  }
  const body = $("rows");
  body.innerHTML = "";
  state.rows.forEach((row, i) => {
    const record = Object.fromEntries(state.columns.map((c, j) => [c, row[j]]));
    const tr = document.createElement("tr");
    tr.dataset.path = record.path;
    tr.draggable = true;
    const waveCell = document.createElement("td");
    const canvas = document.createElement("canvas");
    canvas.className = "wave";
    canvas.width = 100;
    canvas.height = 24;
    waveCell.appendChild(canvas);
    tr.appendChild(waveCell);
    for (const c of SHOWN) tr.appendChild(cell(c, record[c]));
    tr.onclick = () => select(i, true);
    tr.ondragstart = (e) => {
      const url = new URL("/api/audio?path=" + encodeURIComponent(record.path), location.href).href;
      const name = record.path.split("/").pop();
      e.dataTransfer.setData("DownloadURL", `audio/wav:${name}:${url}`);
      e.dataTransfer.setData("text/uri-list", record.path.includes("://") ? record.path : "file://" + record.path);
      e.dataTransfer.setData("text/plain", record.path);
    };
    body.appendChild(tr);
    waveObserver.observe(canvas);
  });
  const last = Math.min(state.offset + state.limit, state.total);
  $("page-info").textContent = state.total ? `${state.offset + 1}–${last} of ${state.total.toLocaleString()}` : "no rows";
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= state.total;
}

const waveObserver = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    waveObserver.unobserve(entry.target);
    const path = entry.target.closest("tr").dataset.path;
    getJSON("/api/waveform?path=" + encodeURIComponent(path))
      .then((w) => drawWave(entry.target, w.points))
      .catch(() => {});
  }
});

function drawWave(canvas, points) {
  const g = canvas.getContext("2d");
  const h = canvas.height / 2;
  g.clearRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#4fb3a5";
  const step = canvas.width / Math.max(points.length, 1);
  points.forEach(([lo, hi], i) => g.fillRect(i * step, h - hi * h, Math.max(step, 1), Math.max((hi - lo) * h, 1)));
}

function select(i, play) {
  const rows = $("rows").children;
  if (i < 0 || i >= rows.length) return;
  if (state.selected >= 0 && rows[state.selected]) rows[state.selected].classList.remove("selected");
  state.selected = i;
  rows[i].classList.add("selected");
  rows[i].scrollIntoView({ block: "nearest" });
  $("copy-path").disabled = $("more-like").disabled = false;
  if (play) playPath(rows[i].dataset.path);
}

function playPath(path) {
  const player = $("player");
  player.src = "/api/audio?path=" + encodeURIComponent(path);
  player.dataset.path = path;
  $("now-playing").textContent = path;
  player.play().catch((err) => say("could not play: " + err.message, true));
}

function selectedPath() {
  const row = $("rows").children[state.selected];
  return row ? row.dataset.path : null;
}

document.addEventListener("keydown", (e) => {
  if (["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) return;
  const player = $("player");
  if (e.code === "Space") {
    e.preventDefault();
    if (state.selected < 0) select(0, true);
    else if (player.paused) player.src ? player.play() : playPath(selectedPath());
    else { player.pause(); player.currentTime = 0; }
  } else if (e.code === "ArrowDown") {
    e.preventDefault();
    select(state.selected + 1, true);
  } else if (e.code === "ArrowUp") {
    e.preventDefault();
    select(state.selected - 1, true);
  }
});

async function moreLike() {
  const path = selectedPath();
  if (!path) return;
  try {
    const result = await getJSON("/api/similar?limit=10&path=" + encodeURIComponent(path));
    $("similar-of").textContent = path.split("/").pop();
    const body = $("similar-rows");
    const shown = ["path", "kind", "key", "bpm", "root_note", "similarity"];
    body.innerHTML = "<tr>" + shown.map((c) => `<th>${c}</th>`).join("") + "</tr>";
    for (const row of result.rows) {
      const record = Object.fromEntries(result.columns.map((c, j) => [c, row[j]]));
      const tr = document.createElement("tr");
      tr.dataset.path = record.path;
      for (const c of shown) tr.appendChild(cell(c, record[c]));
      tr.onclick = () => playPath(record.path);
      body.appendChild(tr);
    }
    $("similar-panel").hidden = false;
  } catch (err) {
    say(err.message, true);
  }
}

async function runSQL() {
  const out = $("sql-result");
  try {
    const result = await getJSON("/api/query", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sql: $("sql-text").value }),
    });
    const table = document.createElement("table");
    const head = table.insertRow();
    for (const c of result.columns) head.appendChild(Object.assign(document.createElement("th"), { textContent: c }));
    for (const row of result.rows) {
      const tr = table.insertRow();
      for (const v of row) tr.insertCell().textContent = v === null ? "" : v;
    }
    out.replaceChildren(table);
  } catch (err) {
    out.replaceChildren(Object.assign(document.createElement("p"), { className: "error", textContent: err.message }));
  }
}

// The Camelot wheel: twelve positions, majors (B) outside, minors (A) inside; shade = rows in the key.
async function drawWheel() {
  const { keys } = await getJSON("/api/keys");
  const most = Math.max(1, ...keys.map((k) => k.count));
  const svg = $("wheel");
  const ns = "http://www.w3.org/2000/svg";
  svg.innerHTML = "";
  for (const k of keys) {
    const number = parseInt(k.camelot, 10);
    const outer = k.camelot.endsWith("B");
    const [r0, r1] = outer ? [66, 104] : [30, 66];
    const a0 = ((number - 1) * 30 - 105) * (Math.PI / 180);
    const a1 = a0 + Math.PI / 6;
    const pt = (r, a) => `${(r * Math.cos(a)).toFixed(2)} ${(r * Math.sin(a)).toFixed(2)}`;
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", `M ${pt(r0, a0)} L ${pt(r1, a0)} A ${r1} ${r1} 0 0 1 ${pt(r1, a1)} L ${pt(r0, a1)} A ${r0} ${r0} 0 0 0 ${pt(r0, a0)} Z`);
    path.setAttribute("fill", `rgba(79, 179, 165, ${0.12 + 0.88 * (k.count / most)})`);
    path.dataset.key = k.key;
    path.appendChild(Object.assign(document.createElementNS(ns, "title"), { textContent: `${k.key} (${k.camelot}): ${k.count}` }));
    path.onclick = () => {
      $("key").value = $("key").value === k.key ? "" : k.key;
      state.offset = 0;
      markWheel();
      load();
    };
    svg.appendChild(path);
    const mid = (a0 + a1) / 2;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", ((r0 + r1) / 2) * Math.cos(mid));
    label.setAttribute("y", ((r0 + r1) / 2) * Math.sin(mid));
    label.textContent = k.camelot;
    svg.appendChild(label);
  }
  markWheel();
}

function markWheel() {
  for (const p of $("wheel").querySelectorAll("path")) p.classList.toggle("on", p.dataset.key === $("key").value);
}

let typing;
$("filter-form").addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => { state.offset = 0; markWheel(); load(); }, 250);
});
$("filter-form").addEventListener("submit", (e) => { e.preventDefault(); state.offset = 0; load(); });
$("clear").onclick = () => { $("filter-form").reset(); state.offset = 0; markWheel(); load(); };
$("prev").onclick = () => { state.offset = Math.max(0, state.offset - state.limit); load(); };
$("next").onclick = () => { state.offset += state.limit; load(); };
$("copy-path").onclick = () => navigator.clipboard.writeText(selectedPath() || "");
$("more-like").onclick = moreLike;
$("sql-run").onclick = runSQL;
drawWheel().then(load);
