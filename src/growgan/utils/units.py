"""Units shared by every schedule: progress is counted in images seen; settings are in kimg."""

from __future__ import annotations


def kimg_to_images(kimg: float) -> int:
    """kimg -> images (1 kimg = 1000 real images shown to D), rounded to the nearest image.
    The one conversion every schedule, interval and target uses."""
    return int(round(float(kimg) * 1000))
