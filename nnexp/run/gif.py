"""An animated GIF of palette frames, byte for byte what Pillow's GIF writer makes of
them (``frames[0].save(..., format="GIF", save_all=True, append_images=frames[1:],
duration=..., loop=...)``, Pillow's defaults otherwise), without its per-frame work.

Pillow's writer, for each frame: keeps only the palette entries the frame uses
(``optimize``, on by default), compares the frame with the previous one (as colours when
their palettes differ, else as indices), crops it to the box that changed, paints what
did not change with a spare palette index made transparent, and LZW-encodes the crop.
For a sequence of frames that share one palette, that takes a dozen image conversions a
frame (to RGBA and back, histograms, remaps), each allocating an image; here the same
steps are NumPy on index arrays, and only the LZW coding is Pillow's own encoder.

tests/test_gif.py compares the bytes with Pillow's writer on frames made to hit each
branch (holes in the palette or none, colours repeated under two indices, identical
frames, all 256 indices used).
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_COLOURS = 256


def _o16(value: int) -> bytes:
    return struct.pack("<H", value)


def _table_size(colours: int) -> int:
    """A colour table's size field for ``colours`` entries (Pillow's expression)."""
    if not colours:
        return 0
    if colours < 3:
        return 1
    return math.ceil(math.log(colours, 2)) - 1


def _table(palette: bytes) -> bytes:
    """The palette padded with black to the table size its header field names."""
    missing = (2 << _table_size(len(palette) // 3)) - len(palette) // 3
    return palette + b"\0" * 3 * max(missing, 0)


def _lzw(pixels: np.ndarray) -> bytes:
    """(h, w) uint8 indices -> the image data sub-blocks, by Pillow's GIF encoder."""
    from PIL import Image, ImageFile

    height, width = pixels.shape
    image = Image.frombytes("P", (width, height), np.ascontiguousarray(pixels).tobytes())
    buffer = io.BytesIO()
    fields = ("gif", (0, 0, width, height), 0, "P")
    # Pillow names a tile's fields since 11.1 (a NamedTuple); before, tiles were plain
    # tuples of the same fields, which every version's encoder loop still unpacks.
    named = getattr(ImageFile, "_Tile", None)
    tiles: list[Any] = [named(*fields) if named else fields]
    ImageFile._save(image, buffer, tiles)
    return buffer.getvalue()


def _optimized(counts: np.ndarray, colours: int) -> np.ndarray | None:
    """The palette indices a frame keeps (Pillow's ``_get_optimize``): the used ones when
    they leave holes, or when dropping the unused tail halves the table; else None."""
    used = np.flatnonzero(counts)
    if used[-1] >= len(used):
        return used
    table = 1 << (colours - 1).bit_length()
    if len(used) <= table // 2 and table > 2:
        return used
    return None


def encode(
    frames: Sequence[np.ndarray], palette: bytes, durations: list[int], loop: int
) -> bytes | None:
    """``frames``: (h, w) uint8 arrays of indices into ``palette`` (3 bytes a colour, at most 256
    colours), ``durations`` (F,) milliseconds -> the GIF's bytes; None when fewer than two
    frames differ (Pillow then writes a still image, another format: let it)."""
    height, width = frames[0].shape
    colours = len(palette) // 3
    rgb = np.frombuffer(palette, np.uint8).reshape(colours, 3)
    # One number per distinct colour, for comparing frames whose palettes differ.
    _, colour_of = np.unique(rgb, axis=0, return_inverse=True)
    colour_of = np.append(colour_of.ravel(), np.arange(colours, MAX_COLOURS) + MAX_COLOURS)
    counts = [_histogram(frame) for frame in frames]
    kept: list[list] = []  # [pixels, box, palette bytes, duration, transparency]
    previous: tuple = ()  # (original indices, kept indices, palette bytes) of the last kept
    for n, frame in enumerate(frames):
        keep = _optimized(counts[n], colours)
        own = palette if keep is None else rgb[keep].tobytes()
        if not previous:
            kept.append([_remapped(frame, keep), None, own, durations[n], None])
            previous = frame, keep, own
            continue
        changed = _changed(previous, frame, keep, own, colour_of)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if not len(rows):  # the same picture: the frame before stays up longer
            kept[-1][3] += durations[n]
            continue
        box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        crop = (slice(box[1], box[3]), slice(box[0], box[2]))
        pixels = _remapped(frame[crop], keep)
        spare = _spare_index(len(own) // 3, None if keep is not None else counts[n])
        if spare is not None:  # what did not change shows through
            pixels = np.where(changed[crop], pixels, np.uint8(spare))
        kept.append([pixels, box, own, durations[n], spare])
        previous = frame, keep, own
    if len(kept) < 2:
        return None
    first_palette = kept[0][2]
    out = [
        b"GIF89a",
        _o16(width) + _o16(height),
        bytes([_table_size(len(first_palette) // 3) + 128, 0, 0]),
        _table(first_palette),
        b"!\xff\x0bNETSCAPE2.0\x03\x01" + _o16(loop) + b"\0",
    ]
    for pixels, box, own, duration, spare in kept:
        ticks = int(duration / 10)
        if spare is not None or ticks:
            out.append(b"!\xf9\x04" + bytes([spare is not None]) + _o16(ticks))
            out.append(bytes([spare or 0, 0]))
        left, top = (0, 0) if box is None else box[:2]
        flags = 0 if box is None else 128 | _table_size(len(own) // 3)
        out.append(b"," + _o16(left) + _o16(top) + _o16(pixels.shape[1]) + _o16(pixels.shape[0]))
        out.append(bytes([flags]) + (b"" if box is None else _table(own)) + b"\x08")
        out += [_lzw(pixels), b"\0"]
    out.append(b";")
    return b"".join(out)


def _histogram(frame: np.ndarray) -> np.ndarray:
    """(h, w) uint8 -> (256,) counts of each index (Pillow's C histogram: quicker than
    np.bincount, which converts the indices to intp first)."""
    from PIL import Image

    height, width = frame.shape
    image = Image.frombuffer("L", (width, height), np.ascontiguousarray(frame), "raw", "L", 0, 1)
    return np.array(image.histogram())


def _remapped(pixels: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """Indices into the frame's cut palette (``keep``: the original indices it kept)."""
    if keep is None:
        return pixels
    remap = np.zeros(MAX_COLOURS, np.uint8)
    remap[keep] = np.arange(len(keep))
    return np.take(remap, pixels)


def _changed(previous: tuple, frame: np.ndarray, keep, own: bytes, colour_of) -> np.ndarray:
    """(h, w) bool: the pixels where ``frame`` differs from the previous kept frame, as
    Pillow judges: by colour when the two palettes differ, else by (cut) index. Where
    both frames kept the same indices both ways agree with comparing the originals,
    unless two of the kept indices share a colour."""
    before, before_keep, before_own = previous
    same_cut = (keep is None and before_keep is None) or (
        keep is not None and before_keep is not None and np.array_equal(keep, before_keep)
    )
    if same_cut:
        return before != frame
    if own == before_own:
        return _remapped(before, before_keep) != _remapped(frame, keep)
    used = np.union1d(before_keep, keep) if keep is not None and before_keep is not None else None
    if used is not None and len(np.unique(colour_of[used])) == len(used):
        return before != frame  # no colour twice among them: indices differ iff colours do
    lookup = colour_of.astype(np.intp)
    return lookup[before] != lookup[frame]


def _spare_index(colours: int, counts: np.ndarray | None) -> int | None:
    """The index Pillow makes transparent (``ImagePalette._new_color_index``): the one
    past the frame's ``colours``, else the highest index the frame does not use (None
    when it uses all 256). ``counts``: the frame's histogram, None when its palette was
    cut to the indices it uses (so 256 colours leave none spare)."""
    if colours < MAX_COLOURS:
        return colours
    if counts is None:
        return None
    free = np.flatnonzero(counts == 0)
    return int(free[-1]) if len(free) else None
