"""The one image decoder: every path that reads an image file (dataset prepare's folder and zip
sources, the folders `growgan metrics --real/--fake` reads) goes through here, so the same
file always becomes the same pixels.

Rules, in order:

1. Size limit: an image of more than `PIL.Image.MAX_IMAGE_PIXELS` pixels (Pillow's default,
   89,478,485 = 8192 x 8192 x 4 / 3) is refused from its header, before any pixel is
   decoded (a "decompression bomb": a few kB of PNG that would need GBs of memory).
2. EXIF orientation is applied (`PIL.ImageOps.exif_transpose`): a JPEG stored 48 wide x 32
   high with Orientation=6 is the upright 32 wide x 48 high photo, for its size too.
3. 16-bit and 32-bit integer grayscale ('I;16*', 'I') is scaled to 8 bits:
   round(v * 255 / 65535), v clipped to [0, 65535]; float images ('F') are clipped to
   [0, 255] and rounded. (16-bit colour PNGs are reduced to 8 bits by Pillow itself, which
   keeps the high byte: floor(v / 256), at most 1 below the rounded value.)
4. Transparency (an alpha channel: RGBA, LA, PA; or a transparent palette index or colour
   key, the PNG tRNS chunk) is composited onto one background colour, `background`
   (default white, (255, 255, 255), as stylegan2-ada's dataset tool; e.g. `--background black`).
5. Channels by one rule: an image is colour unless its mode is grayscale ('1', 'L', 'LA',
   'I', 'I;16*', 'F') or a palette whose entries are all gray. Colour -> 1 channel uses
   Pillow's ITU-R 601-2 luma (L = 0.299 R + 0.587 G + 0.114 B); gray -> 3 channels repeats
   the gray value; CMYK and YCbCr go through Pillow's conversion to RGB.

Results are uint8 [C, H, W] with C in {1, 3} (or 'L' / 'RGB' Pillow images).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from growgan.data.sources import list_folder
from growgan.errors import GrowganError

WHITE = (255, 255, 255)
GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_NAMED_COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128), "grey": (128, 128, 128)}


class ImageTooLarge(ValueError):
    """An image whose header promises more pixels than the limit (a decompression bomb)."""


def parse_background(text: str | tuple | list | None) -> tuple[int, int, int]:
    """'white' | 'black' | 'gray' | '#rrggbb' | 'R,G,B' | (R, G, B) -> (R, G, B) in 0..255."""
    if text is None:
        return WHITE
    if isinstance(text, (tuple, list)):
        values = tuple(text)
    else:
        t = str(text).strip().lower()
        if t in _NAMED_COLOURS:
            return _NAMED_COLOURS[t]
        try:
            if t.startswith("#") and len(t) == 7:
                values = tuple(int(t[i : i + 2], 16) for i in (1, 3, 5))
            else:
                values = tuple(int(v) for v in t.split(","))
        except ValueError:
            values = ()
    if len(values) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in values):
        raise GrowganError(f"--background {text!r}: expected white, black, gray, #rrggbb or R,G,B with values 0..255")
    return values  # type: ignore[return-value]


def open_image(data: bytes | str | os.PathLike, name: str | None = None) -> Image.Image:
    """Bytes or a path -> a Pillow image whose header is read but pixels not yet decoded.

    Raises ImageTooLarge (rule 1) and Pillow's errors for files that are not images."""
    src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else Path(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's EXIF / palette / bomb warnings: rule 1 decides
        img = Image.open(src)
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and img.width * img.height > limit:
        w, h = img.size
        img.close()
        raise ImageTooLarge(f"{w}x{h} = {w * h:,} pixels, over the limit of {limit:,} (a decompression bomb?)")
    return img


def oriented_size(img: Image.Image) -> tuple[int, int]:
    """(H, W) after the EXIF orientation (rule 2), from the header alone."""
    w, h = img.size
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block: decode_image ignores it too
        orientation = 1
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


def is_colour(img: Image.Image) -> bool:
    """Rule 5: colour unless a grayscale mode or an all-gray palette (from the header)."""
    if img.mode in GRAY_MODES:
        return False
    if img.mode in ("P", "PA"):
        pal = np.asarray(img.getpalette() or [0, 0, 0]).reshape(-1, 3)
        return not bool((pal == pal[:, :1]).all())
    return True


def _scale_to_8bit(img: Image.Image) -> Image.Image:
    """Rule 3: 16/32-bit integer or float grayscale -> 'L'."""
    arr = np.asarray(img)
    if img.mode == "F":
        arr = np.clip(arr, 0, 255)
    else:
        arr = np.clip(arr.astype(np.float64), 0, 65535) * (255.0 / 65535.0)
    return Image.fromarray(np.rint(arr).astype(np.uint8), mode="L")


def _composite(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Rule 4: anything with transparency -> 'RGB' over `background`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Palette images with Transparency expressed in bytes ..."
        rgba = img.convert("RGBA")
    base = Image.new("RGBA", rgba.size, (*background, 255))
    return Image.alpha_composite(base, rgba).convert("RGB")


def normalize(img: Image.Image, channels: int, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """A Pillow image (any mode) -> 'L' (channels=1) or 'RGB' (channels=3) by rules 2-5."""
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a damaged EXIF block should not cost a readable image
        pass
    if img.mode in _HIGH_BIT_MODES:
        img = _scale_to_8bit(img)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        img = _composite(img, background)
    if channels == 1:
        return img if img.mode == "L" else img.convert("L")
    return img if img.mode == "RGB" else img.convert("RGB")


def decode_image(data: bytes | str | os.PathLike, channels: int | None = None,
                 background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Bytes or a path -> a decoded 'L' or 'RGB' image (channels None: by rule 5)."""
    img = open_image(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img.load()
    return normalize(img, channels or (3 if is_colour(img) else 1), background)


def to_array(img: Image.Image) -> np.ndarray:
    """An 'L' or 'RGB' image -> uint8 [C, H, W]."""
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # [H, W(, C)] -> [C, H, W]


def read_image_folder(folder: str | os.PathLike, background: tuple[int, int, int] = WHITE) -> tuple[list[str], np.ndarray]:
    """Every image file under `folder` that `growgan dataset prepare` would pack (recursive,
    sorted, hidden files skipped) decoded by the rules above -> (relative names,
    uint8 [N, C, H, W]); C is 3 if any image is colour, else 1.

    Raises GrowganError naming the file for an unreadable image or one over the size limit,
    and for images of different (upright) sizes."""
    root = Path(folder)
    src = list_folder(root, labels=False)
    colour, sizes = False, {}
    for i, name in enumerate(src.names):  # headers only: channels and upright sizes
        try:
            with open_image(src.open(i)) as img:
                colour |= is_colour(img)
                sizes.setdefault(oriented_size(img), name)
        except ImageTooLarge as exc:
            raise GrowganError(f"{root / name}: {exc}; remove it or shrink it") from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for damaged files
            raise GrowganError(f"{root / name}: not a readable image ({type(exc).__name__}); remove or replace it") from None
    if len(sizes) != 1:
        (s1, f1), (s2, f2) = list(sizes.items())[:2]
        raise GrowganError(f"{root}: images differ in size ({f1} is {s1[1]}x{s1[0]}, {f2} is {s2[1]}x{s2[0]}, "
                           "W x H); pack them with `growgan dataset prepare --resolution` first")
    channels = 3 if colour else 1
    out = None
    for i, name in enumerate(src.names):
        try:
            arr = to_array(decode_image(src.open(i), channels, background))
        except Exception as exc:  # noqa: BLE001
            raise GrowganError(f"{root / name}: not a readable image ({type(exc).__name__}); remove or replace it") from None
        if out is None:
            out = np.empty((len(src.names), *arr.shape), dtype=np.uint8)
        out[i] = arr
    return src.names, out
