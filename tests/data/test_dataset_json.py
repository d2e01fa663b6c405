"""stylegan2-ada-pytorch's dataset zips and folders (`dataset.json` at the root) pack with
their labels; a dataset.json naming a missing file or leaving an image out is one line."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from growgan.data.archive import open_archive
from growgan.data.prepare import PrepareOptions, prepare
from growgan.errors import GrowganError


def _stylegan_zip(path: Path, labels, extra_entry: str | None = None) -> Path:
    """A zip as stylegan2-ada's dataset_tool writes it: 00000/img00000000.png ... + dataset.json.
    Image i is a flat grey of value 10*i, so order can be checked from pixels alone."""
    entries = []
    with zipfile.ZipFile(path, "w") as zf:
        for i, cls in enumerate(labels):
            name = f"00000/img{i:08d}.png"
            img = Image.fromarray(np.full((8, 8, 3), 10 * i, np.uint8))
            buf = io.BytesIO()
            img.save(buf, format="png")
            zf.writestr(name, buf.getvalue())
            entries.append([name, cls])
        if extra_entry:
            entries.append([extra_entry, 0])
        zf.writestr("dataset.json", json.dumps({"labels": entries}))
    return path


def test_stylegan_zip_packs_with_its_labels(tmp_path):
    labels = [3, 0, 2, 3, 1]
    src = _stylegan_zip(tmp_path / "ds.zip", labels)
    prepare(str(src), tmp_path / "out")
    arch = open_archive(tmp_path / "out")
    assert arch.labels is not None
    assert list(np.asarray(arch.labels)) == labels
    assert [int(v) for v in np.asarray(arch.images)[:, 0, 0, 0]] == [0, 10, 20, 30, 40]
    assert arch.meta["label_names"] == ["0", "1", "2", "3"]
    assert arch.num_classes == 4


def test_stylegan_folder_packs_with_labels_and_no_labels_drops_them(tmp_path):
    src = _stylegan_zip(tmp_path / "ds.zip", [1, 0])
    root = tmp_path / "folder"
    zipfile.ZipFile(src).extractall(root)
    prepare(str(root), tmp_path / "a")
    assert list(np.asarray(open_archive(tmp_path / "a").labels)) == [1, 0]
    prepare(str(root), tmp_path / "b", PrepareOptions(labels=False))
    assert open_archive(tmp_path / "b").labels is None


def test_dataset_json_naming_a_missing_file_is_one_line(tmp_path):
    src = _stylegan_zip(tmp_path / "ds.zip", [0, 1], extra_entry="00000/img00000099.png")
    with pytest.raises(GrowganError, match=r"dataset.json: names 00000/img00000099.png") as info:
        prepare(str(src), tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_dataset_json_labels_null_is_unlabelled(tmp_path):
    src = _stylegan_zip(tmp_path / "ds.zip", [0, 1])
    root = tmp_path / "f"
    zipfile.ZipFile(src).extractall(root)
    (root / "dataset.json").write_text(json.dumps({"labels": None}))
    prepare(str(root), tmp_path / "out")
    assert open_archive(tmp_path / "out").labels is None


def test_dataset_json_leaving_an_image_out_is_one_line(tmp_path):
    src = _stylegan_zip(tmp_path / "ds.zip", [0, 1])
    root = tmp_path / "f"
    zipfile.ZipFile(src).extractall(root)
    (root / "dataset.json").write_text(json.dumps({"labels": [["00000/img00000000.png", 0]]}))
    with pytest.raises(GrowganError, match="gives no label for 00000/img00000001.png"):
        prepare(str(root), tmp_path / "out")
