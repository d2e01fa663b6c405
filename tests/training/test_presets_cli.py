"""Issue #18.6: `growgan presets` and `growgan train --preset P --show-keys`, generated from
the presets and the config dataclasses."""

from __future__ import annotations

import dataclasses
import json

from growgan.cli import main
from growgan.training.config import TrainConfig
from growgan.training.growth_config import GROWTH_KINDS
from growgan.training.presets import get_preset, preset_names


def _rows(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(("#", "preset "))}


def test_presets_lists_every_preset_with_family_resolution_purpose(capsys):
    assert main(["presets"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert sorted(rows) == preset_names()
    for name, line in rows.items():
        assert line.split()[1] == get_preset(name).network["family"], line
    # ProGAN grows from 4x4 (Karras et al.) to growth.target_resolution; DGGAN from its base stage
    assert rows["progan-mnist-32"].split()[2] == "4->32" and rows["progan-celeba-128"].split()[2] == "4->128"
    assert rows["dggan-mnist-32"].split()[2] == "8->32"
    assert rows["dcgan-32"].split()[2:4] == ["from", "data"]  # fixed nets take the archive's size
    # the purpose is the preset function's first sentence, abbreviations included
    assert "DCGAN (Radford et al. 2016) sized for a CPU" in rows["dcgan-32"]
    assert rows["progan-cifar10"].endswith("minibatch 16, 20M images.")
    # every preset says what it is for (the stylegan2 CPU presets printed an empty purpose)
    for name, line in rows.items():
        assert len(line.split()) > 4, f"{name}: no purpose"


def test_show_keys_lists_every_key_with_the_presets_values(capsys):
    assert main(["train", "--preset", "progan-mnist-32", "--show-keys"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith("#")}
    for f in dataclasses.fields(TrainConfig):  # every top-level key, from the dataclass itself
        assert f.name in rows, f.name
    for f in dataclasses.fields(GROWTH_KINDS["progan"]):  # and the preset's growth kind's keys
        assert f"growth.{f.name}" in rows, f.name
    preset = get_preset("progan-mnist-32")
    # values are the preset's (not the dataclass defaults: lr_G 2e-4, fade_kimg 800)
    assert json.dumps(preset.lr_G) in rows["lr_G"].split() and "0.001" in rows["lr_G"].split()
    assert "12.0" in rows["growth.fade_kimg"].split()
    assert "Adam learning rate of G" in rows["lr_G"] and "an integer >= 1" in rows["batch_size"]
    for k, v in preset.network["G"].items():  # every network spec key, with its value
        assert json.dumps(v) in rows[f"network.G.{k}"], k


def test_show_keys_without_preset_gives_the_defaults(capsys):
    assert main(["train", "--show-keys"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line and not line.startswith("#")}
    assert "0.0002" in rows["lr_G"].split() and "growth.search.K" in rows  # every growth kind when none is chosen


def test_every_preset_writes_tensorboard():
    """Issue #18.5: growth must be visible in TensorBoard, so no preset turns it off (DGGAN's did)."""
    assert all(get_preset(name).tensorboard for name in preset_names())
