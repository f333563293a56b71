"""Watch it learn: parameter snapshots taken during training, rendered as ``learning.html``
(a player over the snapshots: decision boundary, loss curve, every neuron's picture) and
``learning.gif`` (the boundary and the loss, frame by frame).

Snapshots are taken through the training loop's logging hook (``train``'s ``on_log``):
at most ``snapshots`` log-spaced logged epochs, so the first epochs, where most changes,
get most frames. Only 2-D datasets get them; the page is one file with its data and
script inline (no server, no network), and the maps are drawn by the browser from
zlib-compressed bytes.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.network import Network, Params, forward
from ..core.stacked import stack, unstack
from . import gif
from .artifacts import LEARNING_GIF, LEARNING_PAGE, write_bytes, write_text
from .colours import CLASS_COLOURS, rgb
from .learning_page import TEMPLATE as _TEMPLATE

GRID = 48  # boundary map: GRID x GRID points
NEURON_GRID = 20  # each neuron's map
NEURON_LIMIT = 32  # hidden units up to which every neuron is drawn
POINT_LIMIT = 600  # training points drawn (an even subsample beyond)
CURVE_POINTS = 400  # loss curve points (log-spaced rows beyond)
MARGIN = 0.1  # of the points' span, around them
GIF_SIZE = 160
GIF_CURVE = 48
# The two-class map and the neurons' pictures run from class 0's colour (low, negative)
# through white to class 1's (high, positive), as decision_boundary.png does.
BLUE, WHITE, RED = (
    np.array(c, dtype=float)
    for c in (rgb(CLASS_COLOURS[0]), (255, 255, 255), rgb(CLASS_COLOURS[1]))
)


def snapshot_epochs(epochs: int, log_every: int, count: int) -> list[int]:
    """Up to ``count`` logged epochs (multiples of ``log_every``, and the last), spread
    evenly on a log scale from the first to the last, always with 0 and ``epochs``."""
    if count <= 0:
        return []
    spread = np.geomspace(1, epochs, max(count - 1, 1))
    logged = np.minimum(np.ceil(spread / log_every).astype(int) * log_every, epochs)
    return sorted({0, epochs, *logged.tolist()})[: max(count, 2)]


class Recorder:
    """The ``on_log`` part that copies the parameters (trained in place) when a wanted
    epoch is logged: ``taken`` is [(epoch, Params)], stacked when the params are."""

    def __init__(self, params: Params, epochs: Iterable[int]) -> None:
        self.params = params
        self.wanted = set(epochs)
        self.taken: list[tuple[int, Params]] = []

    def __call__(self, epoch: int, row: dict) -> None:
        if epoch in self.wanted:
            self.taken.append((epoch, self.params.copy()))

    def replica(self, r: int) -> list[tuple[int, Params]]:
        """Replica ``r``'s snapshots, as a single network's."""
        return [(epoch, unstack(params, r)) for epoch, params in self.taken]


def recorder(dataset, params: Params, epochs: int, log_every: int, count: int) -> Recorder | None:
    """A Recorder for a 2-D dataset with ``count`` > 0 snapshots, else None."""
    if count <= 0 or dataset.n_features != 2:
        return None
    return Recorder(params, snapshot_epochs(epochs, log_every, count))


# --- what the page and the animation show ------------------------------------------------


def _bounds(dataset) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of the plane shown: every point, plus MARGIN of the span around them."""
    parts = [dataset.X, dataset.queries] + ([dataset.X_val] if dataset.X_val is not None else [])
    points = np.concatenate([p for p in parts if len(p)])  # (m, 2)
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lo - MARGIN * span, hi + MARGIN * span


def _plane(lo: np.ndarray, hi: np.ndarray, size: int) -> np.ndarray:
    """(size*size, 2) raw points, row by row from the top (high y) like an image."""
    xs = np.linspace(lo[0], hi[0], size)
    ys = np.linspace(hi[1], lo[1], size)
    xx, yy = np.meshgrid(xs, ys)
    return np.column_stack([xx.ravel(), yy.ravel()])


def _unit_bytes(p: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (NaN as 0.5) -> uint8."""
    return np.round(255 * np.clip(np.nan_to_num(p, nan=0.5), 0, 1)).astype(np.uint8)


def _boundary(out: np.ndarray) -> np.ndarray:
    """Network outputs (..., n, k) -> the map's bytes: P(class 1) for two classes
    (..., n), else the winning class and its probability interleaved (..., 2n)."""
    if out.shape[-1] <= 2:
        return _unit_bytes(out[..., -1])
    winner = np.nan_to_num(out, nan=0.0).argmax(axis=-1).astype(np.uint8)
    pairs = np.stack([winner, _unit_bytes(out.max(axis=-1))], axis=-1)  # (..., n, 2)
    return pairs.reshape(*out.shape[:-2], -1)


def _signed_bytes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A layer's outputs (..., n, units) -> each neuron's a / max|a| mapped to [0, 255],
    neuron by neuron (..., units * n) uint8, and each max|a| (..., units), 1 where all are
    0. In ``a``'s own dtype, a neuron at a time or all at once alike."""
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    scale = np.abs(a).max(axis=-2)
    scale[scale == 0] = 1
    bytes_ = _unit_bytes((a / scale[..., None, :] + 1) / 2)
    return np.swapaxes(bytes_, -1, -2).reshape(*a.shape[:-2], -1), scale


# Snapshots are evaluated together, stacked on a replica axis as a batched sweep trains
# (the same products as one at a time), in chunks whose widest layer over the grid stays
# near this many numbers.
CHUNK_NUMBERS = 1_000_000


def _rounded(a: np.ndarray) -> list:
    return np.round(np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0), 4).tolist()


def render_data(
    dataset, net: Network, snapshots: list[tuple[int, Params]], metrics
) -> tuple[dict, bytes]:
    """-> (the page's JSON, its byte maps). Bytes, snapshot by snapshot: the boundary
    map, then (when drawn) each neuron's map, hidden layers first, then the outputs."""
    lo, hi = _bounds(dataset)
    coarse = dataset.transform(_plane(lo, hi, GRID))  # (G*G, 2)
    fine = dataset.transform(_plane(lo, hi, NEURON_GRID))
    neurons = sum(net.hidden) <= NEURON_LIMIT
    blobs, frames = [], []
    chunk = max(1, CHUNK_NUMBERS // (len(coarse) * max(net.sizes)))
    with np.errstate(all="ignore"):
        for start in range(0, len(snapshots), chunk):
            part = snapshots[start : start + chunk]
            stacked = stack([params for _, params in part])
            maps = [_boundary(forward(net, stacked, coarse)[-1])]  # (R, bytes) each
            scales = []  # (R, units) a layer
            if neurons:
                for layer in forward(net, stacked, fine)[1:]:  # (R, n, units) a layer
                    bytes_, layer_scales = _signed_bytes(layer)
                    maps.append(bytes_)
                    scales.append(layer_scales)
            if neurons:  # each layer's numbers rounded for all of the part's snapshots at once
                first = part[0][1]
                weights = [
                    _rounded(np.stack([p.weights[i] for _, p in part]))
                    for i in range(len(first.weights))
                ]
                biases = [
                    _rounded(np.stack([p.biases[i][0] for _, p in part]))
                    for i in range(len(first.biases))
                ]
            for r, (epoch, _) in enumerate(part):
                blobs += [m[r] for m in maps]
                frame: dict = {"epoch": epoch}
                if neurons:
                    frame["scales"] = [[round(float(v), 6) for v in s[r]] for s in scales]
                    frame["weights"] = [w[r] for w in weights]
                    frame["biases"] = [b[r] for b in biases]
                frames.append(frame)
    take = np.unique(
        np.linspace(0, len(dataset.X) - 1, min(POINT_LIMIT, len(dataset.X))).astype(int)
    )
    rows = len(metrics)
    keep = np.unique(np.round(np.geomspace(1, rows, min(CURVE_POINTS, rows))).astype(int) - 1)
    curve = {"epoch": np.asarray(metrics["epoch"])[keep].tolist()}
    for column in ("loss", "val_loss"):
        if column in metrics:
            values = np.asarray(metrics[column], dtype=float)[keep]
            curve[column] = [v if np.isfinite(v) else None for v in values.tolist()]
    data = {
        "name": dataset.name,
        "features": list(dataset.feature_names),
        "classes": list(dataset.class_names),
        "palette": CLASS_COLOURS,
        "lo": lo.tolist(),
        "hi": hi.tolist(),
        "grid": GRID,
        "neuronGrid": NEURON_GRID,
        "sizes": list(net.sizes),
        "multi": net.n_outputs > 2,
        "neurons": neurons,
        "activation": net.activation,
        "outputActivation": net.output_activation,
        "points": np.round(dataset.X[take], 5).tolist(),
        "labels": dataset.labels[take].tolist(),
        "frames": frames,
        "curve": curve,
    }
    return data, np.concatenate(blobs).tobytes()


CURVE_CAPTIONS = {  # the loss curve's caption, by whether the run held out a validation set
    True: "Training loss (solid) and validation loss (dashed) over epochs, log scale of\n"
    "    epoch + 1; the red line is the snapshot shown.",
    False: "Training loss over epochs, log scale of epoch + 1; the red line is the snapshot\n"
    "    shown.",
}


def page(data: dict, maps: bytes, title: str) -> str:
    """The self-contained learning.html."""
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    packed = base64.b64encode(zlib.compress(maps, 6)).decode("ascii")
    return (
        _TEMPLATE.replace("__TITLE__", title)
        .replace("__CURVE_CAPTION__", CURVE_CAPTIONS["val_loss" in data["curve"]])
        .replace("__DATA__", payload)
        .replace("__MAPS__", packed)
    )


# --- the animation -------------------------------------------------------------------------


def _colours(t: np.ndarray) -> np.ndarray:
    """[0, 1] -> (..., 3) from class 0's blue through white to class 1's red (0.5 is white)."""
    t = t[..., None]
    low = BLUE + (WHITE - BLUE) * np.clip(t * 2, 0, 1)
    high = WHITE + (RED - WHITE) * np.clip(t * 2 - 1, 0, 1)
    return np.where(t < 0.5, low, high)


LEVELS = 16  # shades of a map in the animation
STRENGTHS = 4  # shades of each class's colour, many classes


def _gif_palette() -> tuple[list[int], dict[str, int]]:
    """One palette for every frame: the two-class ramp, each class's colour at a few
    strengths (over white, as the page mixes them), the points' colours and ink."""
    colours = [WHITE + (_colours(np.array(t)) - WHITE) * 0.6 for t in np.linspace(0, 1, LEVELS)]
    for c in CLASS_COLOURS:
        colours += [
            WHITE + (np.array(rgb(c)) - WHITE) * 0.6 * k / (STRENGTHS - 1) for k in range(STRENGTHS)
        ]
    colours += [np.array(rgb(c), dtype=float) for c in CLASS_COLOURS]
    ink = {"black": (0, 0, 0), "grey": (70, 70, 70), "red": (214, 39, 40), "white": (255, 255, 255)}
    colours += [np.array(v, dtype=float) for v in ink.values()]
    flat = [int(round(v)) for c in colours for v in c]
    base = LEVELS + STRENGTHS * len(CLASS_COLOURS)
    where = {"points": base, **{name: base + len(CLASS_COLOURS) + i for i, name in enumerate(ink)}}
    return flat, where


CLEAR = 255  # a palette index no colour uses: where the shared layer has not drawn


@lru_cache(maxsize=512)
def _text_ink(text: str, size: tuple[int, int]) -> np.ndarray:
    """The flat pixel indices ``ImageDraw.text`` inks for ``text`` at the corner of a
    frame of ``size`` in Pillow's default font. The frames of a sweep's runs share their
    epochs, so each label is rendered once a process."""
    from PIL import Image, ImageDraw

    layer = Image.new("P", size, CLEAR)
    ImageDraw.Draw(layer).text((4, 3), text, fill=0)
    return np.flatnonzero(np.asarray(layer) != CLEAR)


def _gif_layout(data: dict):
    """Where the animation draws what its frames share: the points' pixel positions
    (px, py, each (m,)), the loss curve's polyline, and ``x_of(epoch)``, the curve's
    x for an epoch (log scale), where each frame marks its own epoch."""
    size = GIF_SIZE
    lo, hi = np.array(data["lo"]), np.array(data["hi"])
    points = (np.array(data["points"]) - lo) / (hi - lo)  # (m, 2) in [0, 1]
    px, py = points[:, 0] * (size - 1), (1 - points[:, 1]) * (size - 1)
    curve = data["curve"]
    epochs = np.array(curve["epoch"], dtype=float)
    loss = np.array([np.nan if v is None else v for v in curve["loss"]], dtype=float)
    finite = np.isfinite(loss) & (loss > 0)
    log_y = finite.any() and loss[finite].max() / loss[finite].min() > 100
    y = np.log10(np.where(finite, loss, 1.0)) if log_y else loss
    y_lo, y_hi = (y[finite].min(), y[finite].max()) if finite.any() else (0.0, 1.0)
    top = max(np.log10(epochs[-1] + 1), 1e-9)

    def x_of(epoch) -> float:
        return float(4 + (size - 8) * np.log10(epoch + 1) / top)

    def y_of(v) -> float:
        return float(size + GIF_CURVE - 6 - (GIF_CURVE - 12) * (v - y_lo) / ((y_hi - y_lo) or 1.0))

    line = [(x_of(e), y_of(v)) for e, v, ok in zip(epochs, y, finite) if ok]
    return px, py, line, x_of


def _gif_plane(block: np.ndarray, data: dict) -> np.ndarray:
    """One frame's map, (GIF_SIZE, GIF_SIZE) palette indices, from its bytes in the maps
    blob (``block``: grid x grid values, or (class, strength) pairs with more classes),
    blown up by Pillow: bilinear for a probability, nearest for a class."""
    from PIL import Image

    size, g = GIF_SIZE, data["grid"]
    if data["multi"]:
        classes = len(data["classes"])
        pairs = block.reshape(g, g, 2)
        strength = np.clip((pairs[..., 1] / 255 - 1 / classes) / (1 - 1 / classes), 0, 1)
        shade = np.round(strength * (STRENGTHS - 1)).astype(int)
        index = LEVELS + (pairs[..., 0].astype(int) % len(CLASS_COLOURS)) * STRENGTHS + shade
        small = Image.frombytes("L", (g, g), index.astype(np.uint8).tobytes())
        big = small.resize((size, size), Image.Resampling.NEAREST)
        return np.frombuffer(big.tobytes(), np.uint8).reshape(size, size)
    t = Image.frombytes("F", (g, g), (block.astype(np.float32) / 255).tobytes())
    smooth = np.frombuffer(t.resize((size, size), Image.Resampling.BILINEAR).tobytes(), np.float32)
    return np.round(smooth * (LEVELS - 1)).astype(np.uint8).reshape(size, size)


@lru_cache(maxsize=512)
def _marker_ink(x: float, size: tuple[int, int]) -> np.ndarray:
    """The flat pixel indices ``ImageDraw.line`` inks for a frame's epoch marker at
    ``x`` on the loss curve (a frame of ``size``); shared by the runs of a sweep, whose
    frames mark the same epochs."""
    from PIL import Image, ImageDraw

    layer = Image.new("P", size, CLEAR)
    line = [(x, GIF_SIZE + 2), (x, GIF_SIZE + GIF_CURVE - 2)]
    ImageDraw.Draw(layer).line(line, fill=0, width=1)
    return np.flatnonzero(np.asarray(layer) != CLEAR)


def _gif_frames(data: dict, maps: bytes) -> list[np.ndarray]:
    """The animation's frames, each (GIF_SIZE + GIF_CURVE, GIF_SIZE) indices into
    _gif_palette: each frame's map, under the points and the loss curve, its epoch
    marked on the curve and written in the corner."""
    from PIL import Image, ImageDraw

    size = GIF_SIZE
    _, at = _gif_palette()
    px, py, line, x_of = _gif_layout(data)
    # What every frame shares, the points and the loss curve, is drawn once on a clear
    # index and laid over each frame's map: a "P" image is drawn without blending, so
    # laying the drawn pixels over is drawing them again. The marker and the label,
    # drawn last, likewise.
    shared = Image.new("P", (size, size + GIF_CURVE), CLEAR)
    draw = ImageDraw.Draw(shared)
    for x, yy, label in zip(px, py, data["labels"]):
        fill = at["points"] + label % len(CLASS_COLOURS)
        draw.ellipse((x - 2.5, yy - 2.5, x + 2.5, yy + 2.5), fill=fill, outline=at["white"])
    if len(line) > 1:
        draw.line(line, fill=at["grey"], width=1)
    fixed = np.asarray(shared).ravel()
    drawn = np.flatnonzero(fixed != CLEAR)
    ink = fixed[drawn]
    g = data["grid"]
    per_map = g * g * (2 if data["multi"] else 1)
    neuron_bytes = data["neuronGrid"] ** 2 * sum(data["sizes"][1:]) if data["neurons"] else 0
    # A frame at a time: small arrays, reused from the allocator's pool, where arrays of
    # all frames together would be fresh memory each run.
    frames = []
    for n, frame in enumerate(data["frames"]):
        pixels = np.full((size + GIF_CURVE, size), at["white"], np.uint8)
        block = np.frombuffer(maps, np.uint8, per_map, n * (per_map + neuron_bytes))
        pixels[:size] = _gif_plane(block, data)
        flat = pixels.reshape(-1)  # a view
        flat[drawn] = ink
        flat[_marker_ink(x_of(frame["epoch"]), shared.size)] = at["red"]
        flat[_text_ink(f"epoch {frame['epoch']}", shared.size)] = at["black"]
        frames.append(pixels)
    return frames


# The last frame stays up longer, so the final boundary can be seen.
FRAME_MS, LAST_FRAME_MS = 120, 1500


def animation(data: dict, maps: bytes) -> bytes:
    """The snapshots as an animated GIF: the boundary with the points, the epoch, and
    the loss curve with the epoch marked. Frames are drawn straight in one palette
    (no per-frame colour quantisation), which keeps the file small and quick to make;
    encoded as Pillow's GIF writer encodes them (gif.encode)."""
    frames = _gif_frames(data, maps)
    palette = bytes(_gif_palette()[0])
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    encoded = gif.encode(frames, palette, durations, loop=0)
    if encoded is not None:
        return encoded
    from PIL import Image  # fewer than two distinct frames: a still image, Pillow's own

    images = [Image.frombytes("P", (f.shape[1], f.shape[0]), f.tobytes()) for f in frames]
    for image in images:
        image.putpalette(palette)
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0
    )
    return buffer.getvalue()


def write(
    out_dir: Path, dataset, net: Network, snapshots: list[tuple[int, Params]], metrics
) -> list[Path]:
    """learning.html and learning.gif into ``out_dir``; [] without snapshots."""
    if len(snapshots) < 2:
        return []
    data, maps = render_data(dataset, net, snapshots, metrics)
    title = f"Watch it learn: {'-'.join(map(str, net.sizes))} {net.activation} on {dataset.name}"
    return [
        write_text(out_dir / LEARNING_PAGE, page(data, maps, title)),
        write_bytes(out_dir / LEARNING_GIF, animation(data, maps)),
    ]
