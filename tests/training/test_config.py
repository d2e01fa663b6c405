"""TrainConfig round trips, files, overrides and presets."""

from __future__ import annotations

import json

import pytest

from growgan.errors import GrowganError
from growgan.training.config import TrainConfig, apply_overrides, load_config_file
from growgan.training.presets import get_preset, preset_names, register_preset, PRESETS

from engine_helpers import tiny_config


def test_json_round_trip_is_exact():
    cfg = tiny_config(metrics=["swd"], betas_G=(0.0, 0.99), growth={"kind": "progan", "fade_kimg": [0, 1.5], "target_resolution": 8})
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.betas_G == (0.0, 0.99)


def test_overrides_parse_json_values_and_dotted_keys():
    cfg = apply_overrides(tiny_config(), ["lr_G=0.001", "xflip=true", "network.G.z_dim=16", "name=abc", "metrics=[\"swd\"]"])
    assert cfg.lr_G == 0.001 and cfg.xflip is True and cfg.name == "abc" and cfg.metrics == ["swd"]
    assert cfg.network["G"]["z_dim"] == 16 and cfg.network["D"]["z_dim"] == 8


@pytest.mark.parametrize("bad", ["nokey=1", "lr_G", "amp=float8"])
def test_bad_overrides_are_user_errors(bad):
    with pytest.raises(GrowganError):
        apply_overrides(tiny_config(), [bad])


def test_yaml_and_json_files_override_the_base(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("lr_D: 0.0005\nbetas_D: [0.0, 0.9]\nloss: hinge\n")
    cfg = load_config_file(y, base=tiny_config())
    assert (cfg.lr_D, cfg.betas_D, cfg.loss, cfg.batch_size) == (0.0005, (0.0, 0.9), "hinge", 8)
    j = tmp_path / "c.json"
    j.write_text('{"n_critic": 5, "unknown_key": 1}')
    with pytest.raises(GrowganError, match="unknown_key"):
        load_config_file(j)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(GrowganError, match="broken.json"):
        load_config_file(tmp_path / "broken.json")


def test_presets_registered_and_fresh():
    names = preset_names()
    assert {"dcgan-32", "resnet-32"} <= set(names)
    a, b = get_preset("dcgan-32"), get_preset("dcgan-32")
    a.network["G"]["z_dim"] = 1
    assert b.network["G"]["z_dim"] == 100 and b.name == "dcgan-32"
    with pytest.raises(GrowganError, match="dcgan-32"):
        get_preset("no-such-preset")


def test_register_preset_decorator():
    @register_preset("test-only-preset")
    def _p():
        return tiny_config(name="x")

    try:
        assert get_preset("test-only-preset").name == "x"
    finally:
        PRESETS.pop("test-only-preset")


@pytest.mark.parametrize("name", ["dcgan-32", "resnet-32"])
def test_presets_build_against_an_archive(name, tiny_archive):
    from growgan.data import open_archive
    from growgan.networks.registry import build_networks
    from growgan.training.loop import resolve_network

    import torch

    spec = resolve_network(get_preset(name).network, open_archive(tiny_archive))
    G, D = build_networks(spec)
    x = G(torch.randn(2, G.z_dim))
    assert x.shape == (2, 1, 32, 32) and D(x).shape == (2,)
