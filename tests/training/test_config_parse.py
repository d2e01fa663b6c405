"""The strict config parser: types converted and checked at parse time for every source
(--set, YAML, JSON, presets, zoo configs), one-line errors naming the dotted key, and a
fuzz test over every key the dataclasses declare."""

from __future__ import annotations

import json
import random

import pytest

from growgan.cli import main
from growgan.errors import GrowganError
from growgan.training.config import TrainConfig, apply_overrides, config_keys, load_config_file, parse_config
from growgan.training.presets import get_preset, preset_names
from growgan.training.resolve import resolve_config
from growgan.utils.units import kimg_to_images


def _one_line_error(fn, *args, **kw) -> str:
    with pytest.raises(GrowganError) as info:
        fn(*args, **kw)
    msg = str(info.value)
    assert "\n" not in msg and msg
    return msg


def test_yaml_1_1_exponent_strings_become_floats(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("lr_G: 1e-4\nlr_D: 2E-3\nkimg: 1e1\nbatch_size: 16\n")
    import yaml

    assert yaml.safe_load(y.read_text())["lr_G"] == "1e-4"  # the YAML 1.1 quirk this guards against
    cfg = load_config_file(y, base=get_preset("dcgan-32"))
    assert (cfg.lr_G, cfg.lr_D, cfg.kimg, cfg.batch_size) == (1e-4, 2e-3, 10.0, 16)
    assert isinstance(cfg.lr_G, float) and isinstance(cfg.batch_size, int)


@pytest.mark.parametrize("item, key, needs", [
    ("batch_size=abc", "batch_size", "integer >= 1"),
    ("batch_size=12.5", "batch_size", "integer >= 1"),
    ("lr_G=-0.001", "lr_G", "number > 0"),
    ("lr_D=abc", "lr_D", "number > 0"),
    ("betas_G=abc", "betas_G", "list of 2 numbers"),
    ("betas_G=[0.5, 1.5]", "betas_G", "< 1"),
    ("n_critic=1.5", "n_critic", "integer >= 1"),
    ("keep_checkpoints=abc", "keep_checkpoints", "integer >= 1"),
    ("checkpoint_kimg=abc", "checkpoint_kimg", "number >= 0"),
    ("log_kimg=abc", "log_kimg", "number >= 0"),
    ("network=5", "network", "mapping"),
    ("xflip=maybe", "xflip", "true or false"),
    ("amp=float8", "amp", "one of auto, off, bf16, fp16"),
    ("loss=gan", "loss", "one of nonsaturating"),
    ("growth.search.K=0", "growth.search.K", "integer >= 1"),
    ("growth.fade_kimg=x", "growth.fade_kimg", "number >= 0"),
])
def test_wrong_values_name_the_dotted_key_and_what_it_needs(item, key, needs):
    base = get_preset("dggan-mnist-32") if item.startswith("growth") else get_preset("dcgan-32")
    msg = _one_line_error(apply_overrides, base, [item])
    assert msg.startswith("--set: ") and f"{key}=" in msg and f"{key} needs" in msg and needs in msg


def test_integral_values_are_accepted_as_their_type():
    cfg = apply_overrides(get_preset("dcgan-32"), ["batch_size=16.0", "lr_G=1", "kimg=\"2e1\"", "betas_D=[0, 0.9]"])
    assert (cfg.batch_size, cfg.lr_G, cfg.kimg, cfg.betas_D) == (16, 1.0, 20.0, (0.0, 0.9))
    assert type(cfg.batch_size) is int and type(cfg.lr_G) is float


def test_growth_keys_are_parsed_at_config_time(tmp_path, capsys):
    """--dry-run refuses a misspelled growth key (it used to pass until a trainer was built)."""
    for preset, key in (("progan-mnist-32", "growth.stabilize_kimg=1"), ("dggan-mnist-32", "growth.search.kk=1")):
        assert main(["train", "--preset", preset, "--dry-run", "--set", key]) == 2
        err = capsys.readouterr().err
        assert err.startswith("growgan: error:") and len(err.strip().splitlines()) == 1
        assert key.split("=")[0] in err
    assert main(["train", "--preset", "progan-mnist-32", "--dry-run", "--set", "growth.fade_kimg=[0,1,2,3]"]) == 0


@pytest.mark.parametrize("kimg", ["0", "-1"])
def test_kimg_must_be_positive(kimg, tmp_path, capsys):
    assert main(["train", "--preset", "dcgan-32", "--data", "builtin", "--kimg", kimg, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--kimg" in err and "> 0" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing created before the check


def test_json_and_zoo_values_go_through_the_parser(tmp_path):
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"batch_size": "32", "seed": 3.0}))
    cfg = load_config_file(j)
    assert (cfg.batch_size, cfg.seed) == (32, 3)
    j.write_text(json.dumps({"growth": {"kind": "progan", "batch_sizes": {"4": "lots"}}}))
    assert "growth.batch_sizes" in _one_line_error(load_config_file, j)
    zoo = tmp_path / "zoo.json"
    zoo.write_text(json.dumps({"config": {"baseLearningRate": -1.0, "maxIterAtScale": [10, 10], "alphaNJumps": [0, 1],
                                          "alphaSizeJumps": [0, 1], "depthScales": [8, 8]}}))
    assert "lr_G" in _one_line_error(resolve_config, zoo_config=str(zoo))


def test_every_preset_parses_and_round_trips():
    for name in preset_names():
        cfg = get_preset(name)
        assert parse_config(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_resolve_config_order_and_seed_reaches_the_search():
    cfg = resolve_config(preset="dggan-mnist-32", overrides=["seed=1", "kimg=3"], seed=5, kimg=7, name="x")
    assert (cfg.seed, cfg.kimg, cfg.name, cfg.growth["search"]["seed"]) == (5, 7.0, "x", 5)


def test_kimg_to_images_is_the_nearest_image():
    assert [kimg_to_images(k) for k in (0.016, 0.0165, 1e-3, 20.0)] == [16, 16, 1, 20000]  # 16.5 rounds to even


def test_config_keys_describe_every_field():
    rows = config_keys()
    keys = [r[0] for r in rows]
    assert len(keys) == len(set(keys))
    for field in TrainConfig.__dataclass_fields__:
        assert field in keys
    assert {"growth.stabilise_kimg", "growth.history", "growth.search.K", "growth.search.metric"} <= set(keys)
    assert all(help_ for _, _, _, help_ in rows)
    assert dict((k, d) for k, _, d, _ in rows)["batch_size"] == 64
    progan_only = [r[0] for r in config_keys(get_preset("progan-mnist-32"))]
    assert "growth.stabilise_kimg" in progan_only and "growth.search.K" not in progan_only


# --------------------------------------------------------------------------- fuzz
_WRONG = ["abc", "", "1.5", "-1", "-0.5", "1e400", "nan", "null", "true", "[]", "[1]", "[1, 2, 3]", "{}",
          '{"a": 1}', '"1e-4"', "0", "12.5", "[0.5, \"x\"]", '{"4": -2}', "[[1]]"]


def _bases() -> dict[str, TrainConfig]:
    return {"": get_preset("dcgan-32"), "growth.search.": get_preset("dggan-mnist-32"),
            "growth.": get_preset("progan-mnist-32")}


@pytest.mark.parametrize("seed", range(3))
def test_fuzz_every_key(seed):
    """Random values of wrong types for every declared key, through the CLI-facing parser
    (--set): either a one-line GrowganError naming the key, or a config that parses again."""
    rng = random.Random(seed)
    bases = _bases()
    rows = config_keys()
    assert len(rows) > 60
    for key, _, _, _ in rows:
        if key.startswith("growth.search."):
            base = bases["growth.search."]
        elif key.startswith("growth.") and key[len("growth."):] in ("stabilise_kimg", "alpha_jumps", "lr_G", "lr_D",
                                                                    "target_resolution", "reset_optimizers"):
            base = bases["growth."]
        elif key.startswith("growth."):
            base = bases[rng.choice(["growth.", "growth.search."])]
        else:
            base = bases[""]
        for value in rng.sample(_WRONG, 6):
            try:
                cfg = apply_overrides(base, [f"{key}={value}"])
            except GrowganError as exc:
                msg = str(exc)
                assert "\n" not in msg and (key.split(".")[-1] in msg or key.split(".")[0] in msg), (key, value, msg)
                continue
            assert parse_config(json.loads(json.dumps(cfg.to_dict()))) == cfg, (key, value)


def test_yaml_integer_keys_of_resolution_tables_become_strings(tmp_path):
    y = tmp_path / "g.yaml"
    y.write_text("growth:\n  kind: progan\n  target_resolution: 8\n  batch_sizes: {4: 16, 8: 8}\n")
    cfg = load_config_file(y, base=get_preset("progan-mnist-32"))
    assert cfg.growth["batch_sizes"] == {"4": 16, "8": 8}


@pytest.mark.parametrize("value", ["3", '"abc"', "[1]", "null"])
@pytest.mark.parametrize("part", ["G", "D"])
def test_network_parts_that_are_not_mappings_are_one_line(part, value, tmp_path, capsys):
    """`--set network.G=3` reached resolve_network and was an AttributeError traceback; an
    --arch file with "G": 3 and the registry's own builders likewise."""
    from growgan.networks.registry import build_discriminator, build_generator

    msg = _one_line_error(apply_overrides, get_preset("dcgan-32"), [f"network.{part}={value}"])
    assert f"network.{part}=" in msg and "mapping" in msg
    spec = get_preset("dcgan-32").network
    bad = {**spec, part: json.loads(value)}
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps(bad))
    assert main(["train", "--arch", str(arch), "--data", "builtin", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error: ") and "\n" not in err and str(arch) in err and "mapping" in err
    for build in (build_generator, build_discriminator):
        assert "mapping" in _one_line_error(build, bad)
