"""Per-image conversion for the dataset tool: colour mode, aspect policy, resize filter.

Every image becomes uint8 [C, H, W] with C in {1, 3}. Modes are normalised first by the one
image decoder's rules (growgan.data.decode: EXIF orientation, 16-bit scaling, transparency
over a background colour, one channel rule). The aspect
policy then maps the image to the target aspect ratio (center-crop, pad with black, or
stretch) and the resize filter is explicit, because FID depends on it (Parmar et al. 2022,
"On Aliased Resizing and Surprising Subtleties in GAN Evaluation").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from growgan.data.decode import WHITE, normalize
from growgan.errors import GrowganError

FILTERS = {"box": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR, "lanczos": Image.Resampling.LANCZOS}
CROPS = ("center-crop", "pad", "stretch")


@dataclass
class ImageSpec:
    """What each packed image becomes."""

    channels: int  # 1 or 3
    resolution: tuple[int, int]  # (H, W)
    resize_filter: str = "lanczos"
    crop: str = "center-crop"
    background: tuple[int, int, int] = WHITE  # transparent pixels are composited onto it


def parse_resolution(text: str | int | tuple[int, int] | None) -> tuple[int, int] | None:
    """'32' -> (32, 32); '48x64' -> (48, 64) as (H, W); None stays None."""
    if text is None or isinstance(text, tuple):
        return text
    if isinstance(text, int):
        return (text, text)
    parts = str(text).lower().replace("*", "x").split("x")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or min(values) < 1 or max(values) > 16384:
        raise GrowganError(f"--resolution {text!r}: expected N or HxW with positive integers, e.g. 32 or 48x64")
    return values  # type: ignore[return-value]


def fit_aspect(img: Image.Image, resolution: tuple[int, int], crop: str) -> Image.Image:
    """Crop or pad `img` to the aspect ratio of `resolution` (H, W); 'stretch' leaves it."""
    th, tw = resolution
    w, h = img.size
    if crop == "stretch" or w * th == h * tw:
        return img
    if crop == "center-crop":
        if w * th > h * tw:  # too wide: keep full height
            cw, ch = max(1, round(h * tw / th)), h
        else:  # too tall: keep full width
            cw, ch = w, max(1, round(w * th / tw))
        left, top = (w - cw) // 2, (h - ch) // 2
        return img.crop((left, top, left + cw, top + ch))
    if crop == "pad":
        if w * th > h * tw:
            pw, ph = w, max(h, round(w * th / tw))
        else:
            pw, ph = max(w, round(h * tw / th)), h
        canvas = Image.new(img.mode, (pw, ph), 0)
        canvas.paste(img, ((pw - w) // 2, (ph - h) // 2))
        return canvas
    raise GrowganError(f"--crop {crop!r}: choose one of {', '.join(CROPS)}")


def normalize_mode(img: Image.Image, channels: int, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Any Pillow mode -> 'L' (channels=1) or 'RGB' (channels=3), by growgan.data.decode's rules."""
    return normalize(img, channels, background)


def convert_image(img: Image.Image, spec: ImageSpec) -> np.ndarray:
    """A Pillow image -> uint8 [C, H, W] following `spec`."""
    return _fit_and_resize(normalize(img, spec.channels, tuple(spec.background)), spec)


def _fit_and_resize(img: Image.Image, spec: ImageSpec) -> np.ndarray:
    """An 'L' or 'RGB' image -> uint8 [C, H, W]."""
    img = fit_aspect(img, spec.resolution, spec.crop)
    th, tw = spec.resolution
    if img.size != (tw, th):
        img = img.resize((tw, th), resample=FILTERS[spec.resize_filter])
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # [H, W(, C)] -> [C, H, W]


def convert_array(images: np.ndarray, spec: ImageSpec) -> np.ndarray:
    """uint8 [n, C, h, w] (C in 1, 3) -> uint8 [n, spec.channels, H, W]; no work when nothing changes."""
    n, c, h, w = images.shape
    if c == spec.channels and (h, w) == tuple(spec.resolution):
        return images
    if (h, w) == tuple(spec.resolution) and c == 1 and spec.channels == 3:
        return np.repeat(images, 3, axis=1)  # gray -> RGB is exact, no Pillow needed
    out = np.empty((n, spec.channels, *spec.resolution), dtype=np.uint8)
    mode = "L" if spec.channels == 1 else "RGB"
    for i in range(n):
        arr = images[i, 0] if c == 1 else images[i].transpose(1, 2, 0)  # [C, h, w] -> [h, w(, C)]
        img = Image.fromarray(np.ascontiguousarray(arr))  # 'L' or 'RGB': no mode work or EXIF here
        out[i] = _fit_and_resize(img if c == spec.channels else img.convert(mode), spec)
    return out
