"""Progress bars (issue #18.2): shown on a terminal, never when stderr is not one or with --quiet."""

import io
import sys

import numpy as np
import torch

from growgan.utils import progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch) -> _Tty:
    """Make stderr a terminal. Done inside each test: pytest's capture replaces sys.stderr
    after fixtures are set up."""
    err = _Tty()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(progress, "_enabled", True)
    return err


class _G(torch.nn.Module):
    z_dim, c_dim, img_channels, img_resolution = 4, 0, 1, (8, 8)

    def forward(self, z, c=None):
        return torch.tanh(z.sum(1).view(-1, 1, 1, 1).expand(-1, 1, 8, 8))


def test_long_steps_show_bars_on_a_terminal(monkeypatch):
    from growgan.metrics.ms_ssim import ms_ssim_diversity
    from growgan.metrics.sources import generate_images
    from growgan.metrics.swd import swd

    tty = _terminal(monkeypatch)
    imgs = generate_images(_G(), 40, batch_size=16, device="cpu")
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (20, 1, 16, 16), dtype=np.uint8) for _ in range(2))
    swd(a, b)
    ms_ssim_diversity(imgs, num_pairs=30)
    text = tty.getvalue()
    assert "generate:" in text and "/40 " in text
    assert "SWD (20 images per set):" in text and "/7 " in text  # 2 pyramids + 1 level x (descriptors + 4 repeats)
    assert "MS-SSIM:" in text and "/30 " in text


def test_quiet_and_non_terminals_get_no_bar(monkeypatch):
    from growgan.metrics.sources import generate_images

    tty = _terminal(monkeypatch)
    progress.set_enabled(False)  # what --quiet does
    generate_images(_G(), 40, batch_size=16, device="cpu")
    assert tty.getvalue() == ""
    progress.set_enabled(True)
    monkeypatch.setattr(tty, "isatty", lambda: False)
    generate_images(_G(), 40, batch_size=16, device="cpu")
    assert tty.getvalue() == ""


def test_cli_quiet_turns_bars_off(monkeypatch, tmp_path):
    from growgan.cli import main

    _terminal(monkeypatch)
    main(["metrics", "--real", str(tmp_path / "absent"), "--fake", str(tmp_path), "--quiet"])
    assert not progress.enabled()
