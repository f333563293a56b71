"""learning.gif and learning.html are made faster, not different: the animation lays one
shared layer (points, loss curve) and cached text and markers over each frame's map,
computes the frames' map planes together, and encodes the frames with nnexp.run.gif
instead of Pillow's GIF writer; the maps are computed for all snapshots at once (a
replica axis) and a layer at a time. The references below draw every frame in full,
its plane alone, and save the frames with Pillow's writer, and evaluate every snapshot
and every neuron alone, as the first versions did; the bytes must be the same."""

from __future__ import annotations

import io

import numpy as np
import pytest

from nnexp.core.data import Dataset, generate, hold_out, red_blue
from nnexp.core.network import Network, forward, init_params
from nnexp.core.optim import OPTIMIZERS
from nnexp.core.train import Split, encode_targets, train
from nnexp.run import learning
from nnexp.run.artifacts import metrics_frame
from nnexp.run.colours import CLASS_COLOURS


def plane_alone(block: np.ndarray, data: dict):
    """One frame's map as a "P" image of GIF_SIZE squared, from its bytes in the maps
    blob (``block``: grid x grid values, or (class, strength) pairs with more classes)."""
    from PIL import Image

    size, g = learning.GIF_SIZE, data["grid"]
    levels, strengths = learning.LEVELS, learning.STRENGTHS
    if data["multi"]:
        classes = len(data["classes"])
        pairs = block.reshape(g, g, 2)
        strength = np.clip((pairs[..., 1] / 255 - 1 / classes) / (1 - 1 / classes), 0, 1)
        shade = np.round(strength * (strengths - 1)).astype(int)
        index = levels + (pairs[..., 0].astype(int) % len(CLASS_COLOURS)) * strengths + shade
        small = Image.fromarray(index.astype(np.uint8))
        return small.resize((size, size), Image.Resampling.NEAREST)
    t = Image.fromarray(block.reshape(g, g).astype(np.float32) / 255, mode="F")
    smooth = np.asarray(t.resize((size, size), Image.Resampling.BILINEAR))
    return Image.fromarray(np.round(smooth * (levels - 1)).astype(np.uint8))


def drawn_in_full(data: dict, maps: bytes) -> bytes:
    """The animation with every frame drawn from scratch by ImageDraw."""
    from PIL import Image, ImageDraw

    size, g, curve_h = learning.GIF_SIZE, data["grid"], learning.GIF_CURVE
    palette, at = learning._gif_palette()
    per_map = g * g * (2 if data["multi"] else 1)
    neuron_bytes = data["neuronGrid"] ** 2 * sum(data["sizes"][1:]) if data["neurons"] else 0
    px, py, line, x_of = learning._gif_layout(data)
    frames = []
    for n, frame in enumerate(data["frames"]):
        block = np.frombuffer(maps, np.uint8, per_map, n * (per_map + neuron_bytes))
        plane = plane_alone(block, data)
        canvas = Image.new("P", (size, size + curve_h), at["white"])
        canvas.putpalette(palette)
        canvas.paste(plane, (0, 0))
        draw = ImageDraw.Draw(canvas)
        for x, yy, label in zip(px, py, data["labels"]):
            fill = at["points"] + label % len(CLASS_COLOURS)
            draw.ellipse((x - 2.5, yy - 2.5, x + 2.5, yy + 2.5), fill=fill, outline=at["white"])
        if len(line) > 1:
            draw.line(line, fill=at["grey"], width=1)
        marker = x_of(frame["epoch"])
        draw.line([(marker, size + 2), (marker, size + curve_h - 2)], fill=at["red"], width=1)
        draw.text((4, 3), f"epoch {frame['epoch']}", fill=at["black"])
        frames.append(canvas)
    buffer = io.BytesIO()
    durations = [120] * (len(frames) - 1) + [1500]
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0
    )
    return buffer.getvalue()


def maps_one_by_one(dataset, net, snapshots) -> tuple[bytes, list]:
    """Every snapshot's maps, evaluated alone: its boundary map, then each neuron's map
    alone; and each snapshot's neuron scales."""
    lo, hi = learning._bounds(dataset)
    coarse = dataset.transform(learning._plane(lo, hi, learning.GRID))
    fine = dataset.transform(learning._plane(lo, hi, learning.NEURON_GRID))
    blobs, all_scales = [], []
    with np.errstate(all="ignore"):
        for _, params in snapshots:
            out = forward(net, params, coarse)[-1]  # (n, k)
            if out.shape[1] <= 2:
                blobs.append(learning._unit_bytes(out[:, -1]))
            else:
                winner = np.nan_to_num(out, nan=0.0).argmax(axis=1).astype(np.uint8)
                blobs.append(
                    np.column_stack([winner, learning._unit_bytes(out.max(axis=1))]).ravel()
                )
            scales = []
            for layer in forward(net, params, fine)[1:]:
                layer_scales = []
                for j in range(layer.shape[1]):
                    a = np.nan_to_num(layer[:, j], nan=0.0, posinf=0.0, neginf=0.0)
                    scale = float(np.abs(a).max()) or 1.0
                    blobs.append(learning._unit_bytes((a / scale + 1) / 2))
                    layer_scales.append(round(scale, 6))
                scales.append(layer_scales)
            all_scales.append(scales)
    return np.concatenate(blobs).tobytes(), all_scales


def watched(data: Dataset, hidden, epochs: int, lr: float, output: str = "sigmoid"):
    n_outputs = 1 if data.n_classes == 2 and output == "sigmoid" else data.n_classes
    net = Network(2, hidden, n_outputs, "tanh", output, True)
    params = init_params(net, "xavier", np.random.default_rng(1))

    def split(X, labels):
        return Split(data.transform(X), encode_targets(labels, n_outputs), labels)

    rec = learning.Recorder(params, learning.snapshot_epochs(epochs, 1, 40))
    validation = None if data.X_val is None else split(data.X_val, data.labels_val)
    history = train(
        net,
        params,
        OPTIMIZERS["gd"](params, lr),
        "mse" if output == "sigmoid" else "cross_entropy",
        split(data.X, data.labels),
        epochs,
        validation=validation,
        on_log=rec,
    )
    return net, rec.taken, metrics_frame(history)


CASES = {
    "red_blue": lambda: (red_blue(), (4,), 300, 1.0, "sigmoid"),
    "diverging": lambda: (red_blue(), (3,), 60, 1e6, "sigmoid"),
    "three_classes": lambda: (generate("spiral", 60, 0.2, 0, classes=3), (6,), 80, 0.5, "softmax"),
    "two_layers_validation": lambda: (
        hold_out(generate("circles", 80, 0.1, 2), 0.25, 0),
        (5, 3),
        80,
        0.5,
        "sigmoid",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_fast_animation_and_maps_are_the_reference_bytes(case):
    data, hidden, epochs, lr, output = CASES[case]()
    net, snapshots, metrics = watched(data, hidden, epochs, lr, output)
    page_data, maps = learning.render_data(data, net, snapshots, metrics)
    for _ in range(2):  # the second time from the cached text
        assert learning.animation(page_data, maps) == drawn_in_full(page_data, maps)
    reference, scales = maps_one_by_one(data, net, snapshots)
    assert maps == reference
    assert [frame["scales"] for frame in page_data["frames"]] == scales

    # Each snapshot's numbers, rounded alone.
    def rounded(a):
        return np.round(np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0), 4).tolist()

    for frame, (_, params) in zip(page_data["frames"], snapshots):
        assert frame["weights"] == [rounded(w) for w in params.weights]
        assert frame["biases"] == [rounded(b[0]) for b in params.biases]
        assert len(frame["biases"]) == len(params.biases)


def test_an_animation_whose_frames_are_all_alike_is_pillows_still_gif():
    # Two snapshots of one epoch with the same maps: one picture, which Pillow writes
    # as a single frame (gif.encode leaves that to it).
    data, hidden, epochs, lr, output = CASES["red_blue"]()
    net, snapshots, metrics = watched(data, hidden, epochs, lr, output)
    page_data, maps = learning.render_data(data, net, snapshots[:1] * 2, metrics)
    gif = learning.animation(page_data, maps)
    assert gif == drawn_in_full(page_data, maps)
    from PIL import Image

    assert Image.open(io.BytesIO(gif)).n_frames == 1
