"""nnexp.run.gif writes what Pillow's GIF writer writes, byte for byte: frames made to
take each of the writer's branches are encoded both ways."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nnexp.run import gif


def pillow(frames: np.ndarray, palette: bytes, durations: list[int]) -> bytes:
    """The reference: Pillow's own writer on the frames as "P" images."""
    images = [Image.frombytes("P", f.shape[::-1], f.tobytes()) for f in frames]
    for image in images:
        image.putpalette(palette)
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0
    )
    return buffer.getvalue()


def palette_of(colours: int, seed: int = 0, repeated: int | None = None) -> bytes:
    """``colours`` random colours; with ``repeated``, the last one is a copy of that one."""
    rgb = np.random.default_rng(seed).integers(0, 256, (colours, 3), dtype=np.uint8)
    if repeated is not None:
        rgb[-1] = rgb[repeated]
    return rgb.tobytes()


def moving_square(count: int, values, size=(40, 30), seed: int = 0) -> np.ndarray:
    """``count`` frames of indices drawn from ``values``, a square moving over them."""
    rng = np.random.default_rng(seed)
    base = rng.choice(values, size).astype(np.uint8)
    frames = np.repeat(base[None], count, axis=0)
    for n in range(count):
        frames[n, n : n + 6, 2 * n : 2 * n + 5] = values[n % len(values)]
    return frames


def repeated_colour_frames(first: list[int], second: list[int]) -> np.ndarray:
    """Two 8 x 8 frames: the left half ``first[0]`` then ``second[0]``, the right half
    the other indices of each, in stripes."""
    frames = np.empty((2, 8, 8), np.uint8)
    for frame, values in zip(frames, (first, second)):
        frame[:, :4] = values[0]
        frame[:, 4:] = np.resize(values[1:], 8)[:, None]
    return frames


def check(frames: np.ndarray, palette: bytes, durations: list[int] | None = None) -> None:
    durations = durations or [100 + 10 * n for n in range(len(frames))]
    ours = gif.encode(frames, palette, durations, loop=0)
    assert ours == pillow(frames, palette, durations)
    Image.open(io.BytesIO(ours)).seek(1)  # and a reader takes it


CASES = {
    # Used indices with holes: each frame's palette is cut to what it uses.
    "holes": lambda: (moving_square(6, [0, 3, 9, 40]), palette_of(70)),
    # No holes and most of the palette used: the palette is kept whole.
    "whole": lambda: (moving_square(5, list(range(60))), palette_of(64)),
    # No holes but few used: cut to the smaller table.
    "short_tail": lambda: (moving_square(5, [0, 1, 2]), palette_of(64)),
    # Frames using different sets of indices: compared by colour.
    "different_palettes": lambda: (
        np.stack([moving_square(1, v, seed=s)[0] for s, v in enumerate([[0, 5], [0, 6, 7], [5]])]),
        palette_of(16),
    ),
    # Two indices of one colour (1 and 9): the same picture under either, as Pillow
    # compares colours across cut palettes that differ ({1, 2} then {2, 3, 9}) ...
    "repeated_colours": lambda: (repeated_colour_frames([1, 2], [9, 2, 3]), palette_of(10, 0, 1)),
    # ... and by index where the cut palettes are equal ({1, 9} then {3, 9}, 3 a copy of 1).
    "repeated_colours_same_cut": lambda: (
        repeated_colour_frames([1, 9], [9, 3]),
        palette_of(10, 0, 1)[:9] + palette_of(10, 0, 1)[3:6] + palette_of(10, 0, 1)[12:],
    ),
    # 256 colours, every index used: no spare index for transparency.
    "all_indices": lambda: (
        np.stack([np.arange(256, dtype=np.uint8).reshape(16, 16)] * 2)
        + np.array([0, 1], np.uint8)[:, None, None],
        palette_of(256),
    ),
    # 256 colours, some unused: the highest unused index is the spare one.
    "full_palette_with_gaps": lambda: (moving_square(4, list(range(0, 256, 2))), palette_of(256)),
}


@pytest.mark.parametrize("case", CASES)
def test_frames_are_encoded_as_pillow_encodes_them(case):
    frames, palette = CASES[case]()
    check(frames, palette)


def test_repeated_frames_lengthen_the_one_before():
    frames = moving_square(4, [0, 2, 7])
    frames = np.stack([frames[0], frames[1], frames[1], frames[2], frames[2], frames[3]])
    check(frames, palette_of(8), [120, 120, 120, 120, 120, 1500])


def test_fewer_than_two_distinct_frames_are_left_to_pillow():
    frames = np.stack([np.zeros((5, 5), np.uint8)] * 3)
    assert gif.encode(frames, palette_of(4), [100, 100, 100], loop=0) is None


def test_random_frames_in_many_shapes():
    rng = np.random.default_rng(7)
    for trial in range(12):
        colours = int(rng.integers(2, 257))
        count = int(rng.integers(2, 6))
        height, width = (int(v) for v in rng.integers(1, 24, 2))
        used = rng.choice(colours, int(rng.integers(2, min(colours, 12) + 1)), replace=False)
        frames = rng.choice(used, (count, height, width)).astype(np.uint8)
        frames[1:] = np.where(rng.random((count - 1, height, width)) < 0.7, frames[:1], frames[1:])
        frames[-1, 0, 0] = used[0] if frames[0, 0, 0] != used[0] else used[1]  # two differ
        check(frames, palette_of(colours, trial))


def test_the_coding_does_not_need_pillows_named_tiles(monkeypatch):
    # pyproject allows Pillow 10, whose ImageFile has no _Tile: tiles are plain tuples.
    from PIL import ImageFile

    pixels = np.random.default_rng(3).integers(0, 7, (23, 31), dtype=np.uint8)
    named = gif._lzw(pixels)
    monkeypatch.delattr(ImageFile, "_Tile")
    assert gif._lzw(pixels) == named
