"""Learning-rate schedules as pure functions of images seen (so resume needs no extra state).

`linear_decay`: constant, then linear to zero: pix2pix and CycleGAN (Isola et al. 2017, Zhu et
al. 2017) keep the rate for the first half of training (100 epochs) and decay it linearly to
zero over the second half (100 epochs). The official code steps once per epoch
(``1 - max(0, epoch - n_epochs) / (n_epochs_decay + 1)``); here the factor moves with every
image, which is the same line sampled finely.
"""

from __future__ import annotations


def linear_decay(images_seen: int, total_images: int, decay_start: float = 0.5) -> float:
    """Factor on the base learning rate: 1 until `decay_start` * `total_images` images have been
    seen, then falling linearly to 0 at `total_images` (and 0 beyond). `decay_start` in [0, 1];
    raises ValueError for a non-positive total or a start outside [0, 1]."""
    if total_images <= 0:
        raise ValueError(f"total_images must be positive, got {total_images}")
    if not 0.0 <= decay_start <= 1.0:
        raise ValueError(f"decay_start must lie in [0, 1], got {decay_start}")
    start = decay_start * total_images
    if images_seen <= start:
        return 1.0
    if start >= total_images:
        return 0.0
    return max(0.0, 1.0 - (images_seen - start) / (total_images - start))
