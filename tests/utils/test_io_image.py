import json

import pytest
import torch
from PIL import Image

from growgan.utils.image import make_grid, save_grid, to_float, to_uint8
from growgan.utils.io import atomic_path, atomic_write_json


def test_uint8_float_round_trip_is_exact():
    x = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    assert torch.equal(to_uint8(to_float(x)), x)


def test_grid_places_each_image(tmp_path):
    imgs = torch.stack([torch.full((3, 4, 5), i * 40, dtype=torch.uint8) for i in range(5)])
    grid = make_grid(imgs, ncols=3, pad=1)
    assert grid.shape == (3, 2 * 5 + 1, 3 * 6 + 1)
    assert grid[0, 1, 1] == 0 and grid[0, 1 + 5, 1 + 6] == 4 * 40  # row 1, col 1 holds image 4
    save_grid(imgs, tmp_path / "g.png", ncols=3, upscale=2)
    _, gh, gw = make_grid(imgs, ncols=3).shape  # save_grid uses the default padding
    assert Image.open(tmp_path / "g.png").size == (2 * gw, 2 * gh)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
