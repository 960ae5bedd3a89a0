"""The fisheye camera: deterministic PNGs made with Pillow, and stored ZIPs streamed.

Image `i` is named after its day (`20230606.png` onward, as the vendor's names are today);
its pixels come from the seed and the name (a round fisheye frame: a limb of Earth, clouds
and sensor noise), made when first asked for and kept in the data dir.
"""

from __future__ import annotations

import io
import random
import threading
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

#: The first image's day.
FIRST_DAY = date(2023, 6, 6)
#: Pixels per side of a frame.
FRAME_SIZE = 384


class Camera:
    """The camera's images: `count` of them, kept under `folder` once made.

    Args:
        folder: Where made images are kept.
        seed: Picks every image's clouds and noise.
        count: How many images the camera holds.
    """

    def __init__(self, folder: Path, seed: int, count: int) -> None:
        self._folder = folder
        self._seed = seed
        self._names = [
            (FIRST_DAY + timedelta(days=i)).strftime("%Y%m%d") + ".png" for i in range(count)
        ]
        self._known = set(self._names)
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every image's file name, oldest first."""
        return list(self._names)

    def has(self, name: str) -> bool:
        return name in self._known

    def png(self, name: str) -> bytes:
        """The PNG of image `name` (made and kept the first time).

        Raises:
            KeyError: No such image.
        """
        if name not in self._known:
            raise KeyError(name)
        path = self._folder / name
        with self._lock:
            if not path.exists():
                self._folder.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".part")
                partial.write_bytes(self._render(name))
                partial.replace(path)
        return path.read_bytes()

    def _render(self, name: str) -> bytes:
        rng = random.Random(f"image:{self._seed}:{name}")  # noqa: S311 (deterministic data, no secret)
        size = FRAME_SIZE
        frame = Image.new("RGB", (size, size), (0, 0, 0))
        draw = ImageDraw.Draw(frame)
        centre = size // 2
        radius = size // 2 - 6
        # sky, then Earth's limb as a large disc entering the frame
        draw.ellipse((6, 6, size - 6, size - 6), fill=(8, 12, 40))
        shift = rng.randint(-60, 60)
        draw.ellipse(
            (-size // 2 + shift, size // 3, size * 3 // 2 + shift, size * 2),
            fill=(30, 80 + rng.randint(0, 40), 160 + rng.randint(0, 60)),
        )
        for _ in range(rng.randint(6, 16)):
            x, y = rng.randint(0, size), rng.randint(size // 2, size)
            w, h = rng.randint(10, 70), rng.randint(5, 25)
            shade = rng.randint(200, 255)
            draw.ellipse((x - w, y - h, x + w, y + h), fill=(shade, shade, shade))
        frame = frame.filter(ImageFilter.GaussianBlur(2))
        noise = Image.frombytes("L", (size, size), rng.randbytes(size * size))
        frame = Image.blend(frame, Image.merge("RGB", (noise, noise, noise)), 0.08)
        mask = Image.new("L", (size, size), 0)
        ImageDraw.Draw(mask).ellipse(
            (centre - radius, centre - radius, centre + radius, centre + radius), fill=255
        )
        black = Image.new("RGB", (size, size), (0, 0, 0))
        out = io.BytesIO()
        Image.composite(frame, black, mask).save(out, format="PNG", compress_level=1)
        return out.getvalue()


class _Chunks(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


def stored_zip(camera: Camera, names: list[str]) -> Iterator[bytes]:
    """A ZIP of the named images, stored (not compressed), made as it is sent: one image in
    memory at a time."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=_date_time(name))
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, camera.png(name))
            yield sink.take()
    yield sink.take()


def _date_time(name: str) -> tuple[int, int, int, int, int, int]:
    stem = name.split(".", 1)[0]
    try:
        day = date(int(stem[:4]), int(stem[4:6]), int(stem[6:8]))
    except ValueError:
        return (1980, 1, 1, 0, 0, 0)
    return (day.year, day.month, day.day, 0, 0, 0)
