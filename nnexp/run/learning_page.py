"""The page ``learning.html`` fills in (``learning.page``): plain HTML, CSS and JavaScript,
no library, no network. ``__DATA__`` is the JSON of ``learning.render_data``,
``__MAPS__`` its byte maps, zlib-compressed and base64-encoded (the browser inflates
them with DecompressionStream)."""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #222; }
h1 { font-size: 18px; margin: 0 0 8px; }
.controls { display: flex; gap: 12px; align-items: center; margin: 8px 0 12px; }
.controls input[type=range] { width: 420px; }
#play { width: 80px; padding: 4px 0; }
#epoch { font-variant-numeric: tabular-nums; min-width: 220px; }
.row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
figure { margin: 0; }
figcaption { color: #555; font-size: 12px; margin-top: 4px; max-width: 420px; }
canvas { border: 1px solid #ddd; background: #fff; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; border-radius: 50%; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<div class="controls">
  <button id="play" type="button">Play</button>
  <input id="slider" type="range" min="0" max="0" value="0" step="1" aria-label="snapshot">
  <span id="epoch"></span>
</div>
<div class="row">
  <figure><canvas id="boundary" width="380" height="380"></canvas>
    <figcaption id="boundary-caption"></figcaption></figure>
  <figure><canvas id="curve" width="420" height="230"></canvas>
    <figcaption>__CURVE_CAPTION__</figcaption></figure>
</div>
<figure><canvas id="network" width="10" height="10"></canvas>
  <figcaption id="network-caption"></figcaption></figure>
<script id="data" type="application/json">__DATA__</script>
<script id="maps" type="text/plain">__MAPS__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
// Class 0 blue and class 1 red (nnexp/run/colours.py), as decision_boundary.png draws them.
const BLUE = hex(D.palette[0]), WHITE = [255, 255, 255], RED = hex(D.palette[1]);
const G = D.grid, NG = D.neuronGrid;
const perMap = G * G * (D.multi ? 2 : 1);
const units = D.sizes.slice(1);  // hidden layers, then the outputs
const neuronBytes = D.neurons ? NG * NG * units.reduce((a, b) => a + b, 0) : 0;
let maps = null, current = 0, timer = null;

function mix(a, b, t) { return [0, 1, 2].map(i => Math.round(a[i] + (b[i] - a[i]) * t)); }
function diverging(t) { return t < 0.5 ? mix(BLUE, WHITE, t * 2) : mix(WHITE, RED, t * 2 - 1); }
function hex(c) { return [1, 3, 5].map(i => parseInt(c.slice(i, i + 2), 16)); }
function css(c, alpha) { return "rgba(" + c.join(",") + "," + alpha + ")"; }

async function inflate(text) {
  const bin = atob(text.trim());
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function mapCanvas(bytes, offset, size, colour) {
  const c = document.createElement("canvas");
  c.width = size; c.height = size;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const rgb = colour(bytes, offset, i);
    img.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

const palette = D.palette.map(hex);
function boundaryColour(bytes, offset, i) {
  if (!D.multi) return mix(WHITE, diverging(bytes[offset + i] / 255), 0.6);
  const k = D.classes.length;
  const cls = bytes[offset + 2 * i], p = bytes[offset + 2 * i + 1] / 255;
  return mix(WHITE, palette[cls % palette.length], 0.6 * Math.max(0, Math.min(1, (p - 1 / k) / (1 - 1 / k))));
}
function neuronColour(bytes, offset, i) { return diverging(bytes[offset + i] / 255); }

function drawBoundary(index) {
  const canvas = document.getElementById("boundary"), ctx = canvas.getContext("2d");
  const offset = index * (perMap + neuronBytes);
  ctx.imageSmoothingEnabled = true;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(mapCanvas(maps, offset, G, boundaryColour), 0, 0, canvas.width, canvas.height);
  const [x0, y0] = D.lo, [x1, y1] = D.hi;
  D.points.forEach((p, i) => {
    const x = (p[0] - x0) / (x1 - x0) * canvas.width, y = (1 - (p[1] - y0) / (y1 - y0)) * canvas.height;
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI);
    ctx.fillStyle = css(palette[D.labels[i] % palette.length], 1); ctx.fill();
    ctx.lineWidth = 1; ctx.strokeStyle = "#fff"; ctx.stroke();
  });
}

function curveScales(canvas) {
  const c = D.curve, xs = c.epoch.map(e => Math.log10(e + 1));
  const ys = [].concat(c.loss, c.val_loss || []).filter(v => v !== null && isFinite(v));
  let lo = Math.min(...ys), hi = Math.max(...ys);
  const log = lo > 0 && hi / lo > 100;
  const f = v => log ? Math.log10(v) : v;
  if (log) { lo = Math.log10(lo); hi = Math.log10(hi); }
  if (hi === lo) { hi = lo + 1; }
  const L = 60, R = 10, T = 10, B = 28, xMax = Math.max(xs[xs.length - 1], 1e-9);
  return {
    log, lo, hi, L, T, B,
    x: e => L + (canvas.width - L - R) * Math.log10(e + 1) / xMax,
    y: v => T + (canvas.height - T - B) * (1 - (f(v) - lo) / (hi - lo)),
  };
}

function drawCurve(index) {
  const canvas = document.getElementById("curve"), ctx = canvas.getContext("2d");
  const s = curveScales(canvas), c = D.curve;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(s.L, s.T); ctx.lineTo(s.L, canvas.height - s.B); ctx.lineTo(canvas.width - 10, canvas.height - s.B); ctx.stroke();
  ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
  ctx.textAlign = "right";
  const top = s.log ? Math.pow(10, s.hi) : s.hi, bottom = s.log ? Math.pow(10, s.lo) : s.lo;
  ctx.fillText(top.toPrecision(3), s.L - 4, s.T + 8);
  ctx.fillText(bottom.toPrecision(3), s.L - 4, canvas.height - s.B);
  ctx.textAlign = "center";
  const last = c.epoch[c.epoch.length - 1];
  for (let e = 1; e <= last; e *= 10) ctx.fillText(String(e), s.x(e), canvas.height - s.B + 14);
  ctx.fillText("epoch", canvas.width / 2, canvas.height - 2);
  for (const [key, dash] of [["loss", []], ["val_loss", [5, 4]]]) {
    if (!c[key]) continue;
    ctx.setLineDash(dash); ctx.strokeStyle = "#333"; ctx.lineWidth = 1.5; ctx.beginPath();
    let started = false;
    c.epoch.forEach((e, i) => {
      const v = c[key][i];
      if (v === null || !isFinite(v) || (s.log && v <= 0)) { started = false; return; }
      if (started) ctx.lineTo(s.x(e), s.y(v)); else { ctx.moveTo(s.x(e), s.y(v)); started = true; }
    });
    ctx.stroke(); ctx.setLineDash([]);
  }
  const epoch = D.frames[index].epoch, x = s.x(epoch);
  ctx.strokeStyle = "#d62728"; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x, s.T); ctx.lineTo(x, canvas.height - s.B); ctx.stroke();
  let near = 0;
  c.epoch.forEach((e, i) => { if (Math.abs(e - epoch) < Math.abs(c.epoch[near] - epoch)) near = i; });
  const v = c.loss[near];
  if (v !== null && isFinite(v) && !(s.log && v <= 0)) {
    ctx.fillStyle = "#d62728"; ctx.beginPath(); ctx.arc(x, s.y(v), 4, 0, 2 * Math.PI); ctx.fill();
  }
}

// The network: inputs, hidden layers and outputs as columns of small maps, weights as
// lines between them (width: |w| against the largest in its layer; red > 0, blue < 0).
const TILE = 52, GAP_Y = 14, GAP_X = 120, PAD = 24;
function layout() {
  const columns = [D.sizes[0], ...units], tallest = Math.max(...columns);
  const height = PAD * 2 + tallest * TILE + (tallest - 1) * GAP_Y;
  const pos = columns.map((n, l) => {
    const top = (height - (n * TILE + (n - 1) * GAP_Y)) / 2;
    return Array.from({length: n}, (_, j) => [PAD + l * (TILE + GAP_X), top + j * (TILE + GAP_Y)]);
  });
  return {pos, width: PAD * 2 + columns.length * TILE + (columns.length - 1) * GAP_X, height};
}
const inputTiles = [0, 1].map(axis => {
  const bytes = new Uint8Array(NG * NG);
  for (let r = 0; r < NG; r++) for (let c = 0; c < NG; c++)
    bytes[r * NG + c] = Math.round(255 * (axis === 0 ? c / (NG - 1) : 1 - r / (NG - 1)));
  return mapCanvas(bytes, 0, NG, neuronColour);
});

function drawNetwork(index) {
  const canvas = document.getElementById("network"), ctx = canvas.getContext("2d");
  const frame = D.frames[index], {pos} = layout();
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  frame.weights.forEach((W, l) => {
    const biggest = Math.max(1e-12, ...W.flat().map(Math.abs));
    W.forEach((row, i) => row.forEach((w, j) => {
      const [ax, ay] = pos[l][i], [bx, by] = pos[l + 1][j];
      ctx.strokeStyle = css(w >= 0 ? RED : BLUE, 0.75);
      ctx.lineWidth = 0.5 + 5 * Math.abs(w) / biggest;
      ctx.beginPath(); ctx.moveTo(ax + TILE, ay + TILE / 2); ctx.lineTo(bx, by + TILE / 2); ctx.stroke();
    }));
  });
  let offset = index * (perMap + neuronBytes) + perMap;
  ctx.imageSmoothingEnabled = true;
  ctx.font = "11px sans-serif"; ctx.fillStyle = "#444"; ctx.textAlign = "center";
  pos.forEach((column, l) => column.forEach(([x, y], j) => {
    let tile;
    if (l === 0) tile = inputTiles[j];
    else { tile = mapCanvas(maps, offset, NG, neuronColour); offset += NG * NG; }
    ctx.drawImage(tile, x, y, TILE, TILE);
    ctx.strokeStyle = "#888"; ctx.lineWidth = 1; ctx.strokeRect(x, y, TILE, TILE);
    if (l === 0) ctx.fillText(D.features[j], x + TILE / 2, y - 3);
  }));
}

function show(index) {
  current = Math.max(0, Math.min(D.frames.length - 1, index));
  document.getElementById("slider").value = String(current);
  const frame = D.frames[current];
  document.getElementById("epoch").textContent =
    "epoch " + frame.epoch + " (snapshot " + (current + 1) + " of " + D.frames.length + ")";
  drawBoundary(current);
  drawCurve(current);
  if (D.neurons) drawNetwork(current);
  document.body.dataset.index = String(current);
}

function play() {
  const button = document.getElementById("play");
  if (timer !== null) { clearInterval(timer); timer = null; button.textContent = "Play"; return; }
  if (current >= D.frames.length - 1) show(0);
  button.textContent = "Pause";
  timer = setInterval(() => {
    if (current >= D.frames.length - 1) { play(); return; }
    show(current + 1);
  }, 160);
}

async function start() {
  maps = await inflate(document.getElementById("maps").textContent);
  const slider = document.getElementById("slider");
  slider.max = String(D.frames.length - 1);
  slider.addEventListener("input", () => show(Number(slider.value)));
  document.getElementById("play").addEventListener("click", play);
  const classes = D.classes.map((c, i) =>
    '<span style="background:' + D.palette[i % D.palette.length] + '"></span>' + c).join("");
  document.getElementById("boundary-caption").innerHTML =
    (D.multi ? "Winning class, fading to white as its probability falls"
             : "P(" + D.classes[D.classes.length - 1] + ") over the plane, blue 0, white 0.5, red 1") +
    '; training points: <span class="legend">' + classes + "</span>";
  const net = document.getElementById("network");
  if (D.neurons) {
    const {width, height} = layout();
    net.width = width; net.height = height;
    document.getElementById("network-caption").textContent =
      "Inputs (" + D.features.join(", ") + "), each hidden neuron (" + D.activation +
      ") and each output (" + D.outputActivation + ") over the same plane, each map scaled to its own " +
      "largest |value| (blue negative, red positive); lines are the weights, width by size " +
      "within the layer, red positive, blue negative.";
  } else {
    net.style.display = "none";
    document.getElementById("network-caption").textContent =
      "The network (" + D.sizes.join("-") + ") has too many hidden units to draw each neuron.";
  }
  show(0);
  document.body.dataset.ready = "1";
}
start().catch(error => { console.error(error); document.body.dataset.ready = "error"; });
</script>
</body>
</html>
"""
