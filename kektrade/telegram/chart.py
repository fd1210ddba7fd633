"""The equity chart the bot sends as a PNG, drawn in pure Python (no plotting library to install).

Every series is drawn as a return in % from its own start on one axis, with grid lines labelled in %,
dates under the x axis, and the legend in the photo's caption (off the data).
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

RGB = tuple[int, int, int]
COLORS: tuple[RGB, ...] = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189), (23, 190, 207),
                           (188, 189, 34), (227, 119, 194))  # fmt: skip
DRAWDOWN: RGB = (214, 39, 40)
BACKGROUND: RGB = (255, 255, 255)
GRID: RGB = (225, 225, 225)
INK: RGB = (60, 60, 60)
# 3x5 pixel glyphs, one string of 15 bits per character (rows top to bottom)
GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111", "-": "000000111000000", "+": "000010111010000",
    ".": "000000000000010", "%": "101001010100101", ":": "000010000010000", " ": "000000000000000",
}  # fmt: skip


class Canvas:
    """An RGB pixel buffer with lines, text and PNG output."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(BACKGROUND) * (width * height))

    def dot(self, x: int, y: int, color: RGB) -> None:
        """One pixel (ignored outside the canvas)."""
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i : i + 3] = bytes(color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: RGB, thick: int = 1) -> None:
        """A straight line (Bresenham), ``thick`` pixels wide."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            for k in range(thick):
                self.dot(x0, y0 + k, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, text: str, color: RGB, scale: int = 2) -> None:
        """``text`` (digits, ``+-.%:``) with its top-left corner at (x, y)."""
        for n, ch in enumerate(text):
            bits = GLYPHS.get(ch, GLYPHS[" "])
            for k, bit in enumerate(bits):
                if bit == "1":
                    for a in range(scale):
                        for b in range(scale):
                            self.dot(x + (n * 4 + k % 3) * scale + a, y + (k // 3) * scale + b, color)

    def png(self) -> bytes:
        """The canvas as a PNG file."""
        stride = 3 * self.width
        raw = b"".join(b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
        )


def nice_step(span: float, lines: int = 5) -> float:
    """A 1/2/5 x 10^k step giving about ``lines`` grid lines over ``span``."""
    raw = max(span, 1e-9) / lines
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def returns_pct(values: Sequence[float]) -> list[float]:
    """Each value as a return in % from the first (0 when the first is not positive)."""
    first = values[0] if values else 0.0
    return [100.0 * (v / first - 1.0) if first > 0 else 0.0 for v in values]


def equity_png(
    times_ms: Sequence[int], series: Sequence[tuple[str, Sequence[float], RGB]], width: int = 800, height: int = 400
) -> bytes:
    """The series (already in %) over ``times_ms`` as a PNG with % grid lines and date labels."""
    canvas = Canvas(width, height)
    left, right, top, bottom = 70, width - 20, 20, height - 40
    values = [v for _, ys, _ in series for v in ys] or [0.0]
    lo, hi = min(values), max(values)
    step = nice_step(hi - lo or 1.0)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    hi = hi if hi > lo else lo + step

    def y_of(v: float) -> int:
        return round(bottom - (v - lo) / (hi - lo) * (bottom - top))

    level = lo
    while level <= hi + step / 2:
        y = y_of(level)
        canvas.line(left, y, right, y, GRID)
        label = f"{level:+.{max(0, -math.floor(math.log10(step)))}f}%" if level else "0%"
        canvas.text(left - 8 - 8 * len(label), y - 5, label, INK)
        level += step
    canvas.line(left, top, left, bottom, INK)
    canvas.line(left, bottom, right, bottom, INK)
    n = len(times_ms)
    for k in range(4 if n > 1 else 0):
        i = (n - 1) * k // 3
        x = left + (right - left) * i // (n - 1)
        label = datetime.fromtimestamp(times_ms[i] / 1000, tz=UTC).strftime("%m-%d")
        canvas.line(x, bottom, x, bottom + 5, INK)
        canvas.text(min(max(x - 20, 0), width - 40), bottom + 10, label, INK)
    for _, ys, color in series:
        points = [(left + (right - left) * i // max(len(ys) - 1, 1), y_of(v)) for i, v in enumerate(ys)]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            canvas.line(x0, y0, x1, y1, color, thick=2)
    return canvas.png()
