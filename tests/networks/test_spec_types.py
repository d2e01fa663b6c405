"""Network spec values of the wrong type get a one-line GrowganError naming the key, for every
key of every registered family (G and D), before anything is built; the right type of each
key is read from the constructor's own annotation, not from a list kept here."""

from __future__ import annotations

import copy
import inspect
import json
import typing
from collections.abc import Sequence

import pytest

from growgan.cli import main
from growgan.errors import GrowganError
from growgan.networks import registry

# a value of a different JSON type for each plain annotation
_WRONG = {bool: ["maybe", 1], int: ["abc", 2.5, True], float: ["abc", True, None], str: [3, True]}


def _plain_keys(cls: type) -> list[tuple[str, type]]:
    hints = typing.get_type_hints(cls.__init__)
    params = inspect.signature(cls.__init__).parameters
    return [(k, hints[k]) for k in params if k != "self" and hints.get(k) in _WRONG]


@pytest.mark.parametrize("family", registry.family_names())
def test_every_plain_key_of_every_family_refuses_a_wrong_type(family):
    spec = registry.example_spec(family)
    for part, build, cls in (("G", registry.build_generator, registry.family_classes(family)[0]),
                             ("D", registry.build_discriminator, registry.family_classes(family)[1])):
        keys = _plain_keys(cls)
        assert keys, f"{family} {part}: no annotated keys found"
        for key, hint in keys:
            for wrong in _WRONG[hint]:
                bad = copy.deepcopy(spec)
                bad[part][key] = wrong
                with pytest.raises(GrowganError) as e:
                    build(bad)
                msg = str(e.value)
                assert f"{key}={wrong!r}" in msg and f"network spec {part}" in msg and "\n" not in msg


@pytest.mark.parametrize("family", registry.family_names())
def test_every_float_key_of_every_family_refuses_nan_and_inf(family):
    """NaN passes a range check written `x < 0` (stylegan2's conv_clamp and mapping_lr_mul built
    a network with NaN in it); every float key of every family refuses NaN and infinity."""
    spec = registry.example_spec(family)
    for part, build, cls in (("G", registry.build_generator, registry.family_classes(family)[0]),
                             ("D", registry.build_discriminator, registry.family_classes(family)[1])):
        for key, hint in _plain_keys(cls):
            if hint is not float:
                continue
            for wrong in (float("nan"), float("inf"), -float("inf")):
                bad = copy.deepcopy(spec)
                bad[part][key] = wrong
                with pytest.raises(GrowganError) as e:
                    build(bad)
                msg = str(e.value)
                assert f"{key}={wrong!r}" in msg and "finite" in msg and "\n" not in msg


def test_structured_annotations():
    fits = registry._value_fits
    assert fits([32, 32], Sequence[int]) and fits((4, 8), Sequence[int])
    assert not fits("32", Sequence[int]) and not fits([32, "x"], Sequence[int])
    assert fits(32, typing.Union[int, Sequence[int]]) and fits([32, 64], typing.Union[int, Sequence[int]])
    assert not fits(32.0, typing.Union[int, Sequence[int]])
    assert fits([1, 2], tuple[int, int]) and not fits([1, 2, 3], tuple[int, int])
    assert fits(None, typing.Optional[int]) and fits(3, typing.Optional[int]) and not fits("3", typing.Optional[int])
    assert fits([[{"k": 3}]], list[list[dict[str, int]]]) and not fits([[{"k": "3"}]], list[list[dict[str, int]]])
    assert fits(2, float) and not fits(True, float) and not fits(1, bool)


def test_cli_wrong_type_is_one_line_and_leaves_no_run(tmp_path, capsys):
    # stylegan2's mapping_lr_mul used to reach a range comparison and print a TypeError traceback
    out = tmp_path / "runs"
    rc = main(["train", "--preset", "stylegan2-mnist-32", "--data", "builtin", "--out", str(out), "--quiet",
               "--kimg", "0.01", "--set", "network.G.mapping_lr_mul=abc"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "mapping_lr_mul='abc'" in err and "float" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_a_saved_spec_still_round_trips():
    for family in registry.family_names():
        G, D = registry.build_networks(registry.example_spec(family))
        spec = json.loads(json.dumps({"family": family, "G": G.spec(), "D": D.spec()}))
        registry.build_networks(spec)  # JSON's lists for tuples, ints for floats: still accepted


def test_dry_run_refuses_what_the_run_would(capsys):
    rc = main(["train", "--preset", "dcgan-32", "--dry-run", "--set", "network.D.batchnorm=maybe"])
    err = capsys.readouterr().err
    assert rc == 2 and "batchnorm='maybe'" in err and len(err.strip().splitlines()) == 1
