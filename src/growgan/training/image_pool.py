"""CycleGAN's history of generated images (Shrivastava et al. 2017, "Learning from Simulated and
Unsupervised Images through Adversarial Training"; used by Zhu et al. 2017 with 50 images).

D is updated with a mix of the newest fakes and fakes from earlier steps, which damps the
oscillation of the two-player game. Behaviour of the official ``ImagePool.query``, image by
image: while fewer than `size` images are stored, the new image is stored and returned; once
full, with probability 0.5 a uniformly chosen stored image is returned and replaced by the new
one, otherwise the new image is returned and the pool is left as it is. ``size = 0`` returns
the batch unchanged.

Unlike the official pool (Python's global `random`), every draw comes from the pool's own
CPU `torch.Generator`, and `state_dict()` holds the stored images, their count and the
generator's state, so a resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """A history buffer of at most `size` images [C, H, W] (detached, on the images' device)."""

    def __init__(self, size: int = 50, seed: int = 0):
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = int(size)
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, batch: torch.Tensor) -> torch.Tensor:
        """batch [N, C, H, W] (new fakes) -> [N, C, H, W] for D: each row the new image or, once
        the pool is full and a fair coin says so, a stored one (which the new image replaces)."""
        if self.size == 0:
            return batch.detach()
        out = []
        for image in batch.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
                continue
            if float(torch.rand((), generator=self.generator)) > 0.5:
                k = int(torch.randint(0, self.size, (), generator=self.generator))
                out.append(self.images[k])
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "images": stored, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str | None = None) -> None:
        if int(state["size"]) != self.size:
            raise ValueError(f"saved pool holds up to {state['size']} images, this one {self.size}")
        images = state["images"]
        self.images = [img.to(device) if device is not None else img.clone() for img in images] if images.numel() else []
        self.generator.set_state(state["rng"])
