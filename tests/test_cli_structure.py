"""The command line's shape: one module per command under growgan.cli, `python -m growgan`,
`growgan metrics train-classifier` as its own parser, and search folders that keep their
archive path out of the config (old folders with it inside still resume)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from growgan.cli import COMMAND_MODULES, build_parser, main
from growgan.cli.search import _read_saved
from growgan.training.presets import get_preset


def test_one_module_per_command():
    assert [m.__name__ for m in COMMAND_MODULES] == [f"growgan.cli.{c}" for c in
                                                     ("dataset", "train", "generate", "translate", "metrics", "search", "export", "report", "interpolate", "presets")]
    out = subprocess.run([sys.executable, "-m", "growgan", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and all(c in out.stdout for c in ("dataset", "train", "generate", "translate", "metrics", "search", "export", "report", "interpolate"))


def test_train_classifier_is_a_real_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        main(["metrics", "train-classifier", "--out", "x.pt"])  # --data is required by its own parser
    assert info.value.code == 2 and "--data" in capsys.readouterr().err
    args = build_parser().parse_args(["metrics", "RUN", "--data", "A"])
    assert args.target == "RUN"


def test_old_search_folder_keeps_its_archive_and_parses(tmp_path):
    cfg = get_preset("dggan-mnist-32").to_dict()
    cfg["growth"]["search_data"] = "/some/archive"  # how d50b1e1 stored the archive
    (tmp_path / "search_config.json").write_text(json.dumps(cfg))
    config, info = _read_saved(tmp_path)
    assert info["data"] == "/some/archive" and "search_data" not in config.growth
    (tmp_path / "run.json").write_text(json.dumps({"data": "/new/place"}))  # run.json wins
    assert _read_saved(tmp_path)[1]["data"] == "/new/place"
