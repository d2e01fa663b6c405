"""The one network contract, and the registry of families.

Contract (after stylegan2-ada-pytorch):
  - generator:      ``G(z, c=None) -> images``  float [N, img_channels, H, W] in about [-1, 1]
  - discriminator:  ``D(images, c=None) -> logits``  float [N] (or [N, 1])
  - both carry ``z_dim``, ``c_dim``, ``img_channels``, ``img_resolution`` ((H, W) tuple).
  - ``net.spec()`` returns the JSON-able constructor keyword arguments, so a network is
    rebuilt as ``cls(**spec)``; a checkpoint is the spec plus state dicts, never code.
  - growable networks (progan, dggan) also carry ``alpha: float`` in [0, 1], the weight of
    their newest (fading-in) layers, 1.0 when nothing fades; a plain attribute, not in the
    state dict, written only by `growgan.training.state.set_alpha` (from the GrowthState).

Image-to-image families (``G.input_kind == "image"``; pix2pix, cyclegan) follow a second form
of the contract (`growgan.networks.translation`):
  - generator:      ``G(x) -> y``  x float [N, in_channels, H, W] -> y float [N, img_channels, H, W]
    in [-1, 1], for sides divisible by ``G.size_multiple``; ``img_resolution`` is the training size.
  - discriminator:  ``D(y, cond=None) -> patch logits`` [N, 1, h, w] (losses average over patches);
    ``cond_channels > 0``: the condition image is concatenated before y.
  - both carry ``z_dim = c_dim = 0``, ``img_channels``, ``img_resolution``.
  `sample_inputs(G, n, generator)` gives any G valid inputs (latents or images) for checks.

A network spec for a pair is ``{"family": name, "G": {...}, "D": {...}}``. Family modules
register themselves on import; the registry imports them lazily by name.
"""

from __future__ import annotations

import collections.abc
import copy
import importlib
import inspect
import math
import types
import typing
from typing import Any, Callable

import torch.nn as nn

from growgan.errors import GrowganError

# family name -> module that registers it on import
_FAMILY_MODULES = {
    "dcgan": "growgan.networks.dcgan",
    "resnet": "growgan.networks.resnet",
    "progan": "growgan.networks.progan",
    "dggan": "growgan.networks.dggan",
    "sagan": "growgan.networks.sagan",
    "biggan": "growgan.networks.biggan",
    "stylegan": "growgan.networks.stylegan",
    "stylegan2": "growgan.networks.stylegan2",
    "pix2pix": "growgan.networks.translation",
    "cyclegan": "growgan.networks.cyclegan",
}
_FAMILIES: dict[str, tuple[type, type]] = {}
_EXAMPLES: dict[str, Callable[[], dict]] = {}
_GROWABLE: set[str] = set()
# spec keys renamed to one name per idea; specs (and checkpoints) with the old names still load
RENAMED_SPEC_KEYS = {"channel_max": "fmap_max", "mbstd_group": "mbstd_group_size"}


class Network(nn.Module):
    """Base class recording constructor arguments, so `spec()` can rebuild the net.

    input_kind: "latent" for the generation contract (``G(z, c)``), "image" for the
    image-to-image contract (``G(x)``, PatchGAN ``D(y, cond)``; see networks/translation.py)."""

    family: str = ""
    input_kind: str = "latent"

    def _record_spec(self, **kwargs: Any) -> None:
        self._spec = copy.deepcopy(kwargs)

    def spec(self) -> dict:
        return copy.deepcopy(self._spec)


def register_family(name: str, generator_cls: type, discriminator_cls: type,
                    example: Callable[[], dict] | None = None, growable: bool = False) -> None:
    """Register a family. `example` returns a small, fully specified pair spec: the contract
    test builds every family from it (tests/networks/test_contract.py). `growable` families
    carry the ``alpha`` attribute of the contract."""
    generator_cls.family = name
    discriminator_cls.family = name
    _FAMILIES[name] = (generator_cls, discriminator_cls)
    if example is not None:
        _EXAMPLES[name] = example
    if growable:
        _GROWABLE.add(name)


def example_spec(name: str) -> dict:
    """The small pair spec a family registered for tests; GrowganError if it registered none."""
    _family(name)
    if name not in _EXAMPLES:
        raise GrowganError(f"network family {name!r} registers no example spec; pass example= to register_family")
    return copy.deepcopy(_EXAMPLES[name]())


def is_growable(name: str) -> bool:
    _family(name)
    return name in _GROWABLE


def canonical_spec(spec: dict) -> dict:
    """A copy of a pair spec with renamed keys (RENAMED_SPEC_KEYS) under their current names."""
    out = copy.deepcopy(spec)
    for part in ("G", "D"):
        sub = out.get(part)
        if isinstance(sub, dict):
            for old, new in RENAMED_SPEC_KEYS.items():
                if old in sub and new not in sub:
                    sub[new] = sub.pop(old)
    return out


def family_classes(name: str) -> tuple[type, type]:
    """(generator class, discriminator class) of a family (GrowganError if unknown): lets a
    config check a family's optional interfaces (e.g. style-based G) without building nets."""
    return _family(name)


def family_names() -> list[str]:
    return sorted(_FAMILY_MODULES)


def _family(name: str) -> tuple[type, type]:
    if name not in _FAMILIES:
        if name not in _FAMILY_MODULES:
            raise GrowganError(f"unknown network family {name!r}; choose one of {', '.join(family_names())}")
        importlib.import_module(_FAMILY_MODULES[name])
    return _FAMILIES[name]


def check_spec_shape(spec: Any, where: str = "network spec") -> None:
    """A network spec's outline: a mapping with "family", "G" and "D", where G and D are
    mappings of their keys. `where` (a config source, a file) starts the one-line GrowganError."""
    if not isinstance(spec, dict) or not {"family", "G", "D"} <= set(spec):
        got = f", got {sorted(spec)}" if isinstance(spec, dict) else ""
        raise GrowganError(f'{where}: a network spec needs the keys "family", "G" and "D"{got}')
    for part in ("G", "D"):
        if not isinstance(spec[part], dict):  # `--set network.G=3`, an --arch file with "G": 3
            raise GrowganError(f"{where}: network.{part}={spec[part]!r:.60} is not a mapping of {part}'s keys "
                               f"(e.g. network.{part}.z_dim=64)")


def _value_fits(value: Any, hint: Any) -> bool:
    """Whether a JSON-like spec value matches a constructor annotation: bool, int (not bool),
    float (int or float, not bool), str, None, unions, list/tuple/Sequence of an element type
    (a list or tuple, never a string), tuple[a, b] (that length), dict[k, v]. Hints it does
    not know pass (the constructor then checks)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_value_fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint in (list, tuple) or origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_value_fits(v, a) for v, a in zip(value, args))
        return not args or all(_value_fits(v, args[0]) for v in value)
    if hint is dict or origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return False
        return not args or all(_value_fits(k, args[0]) and _value_fits(v, args[1]) for k, v in value.items())
    return True


def _hint_name(hint: Any) -> str:
    """An annotation as a user reads it: int, float, true/false, int | list of int, ..."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_hint_name(a) for a in args)
    if hint is bool:
        return "true/false"
    if hint is type(None):
        return "null"
    if origin in (list, tuple, collections.abc.Sequence) and args:
        return f"list of {_hint_name(args[0])}"
    return getattr(hint, "__name__", str(hint))


def _has_nonfinite(value) -> bool:
    """Whether `value` is, or holds (in lists, tuples, dicts), a float NaN or infinity."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_has_nonfinite(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    return False


def _check_types(cls: type, kwargs: dict, part: str, family: str) -> None:
    """GrowganError naming the first spec value whose type does not match `cls.__init__`'s
    annotation (e.g. `spectral_norm: "maybe"`, `mapping_lr_mul: "abc"`), before anything is
    built; value ranges are each family's own check."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):  # an annotation that cannot be resolved: no type check
        return
    for key, value in kwargs.items():
        if _has_nonfinite(value):  # NaN slips past every `x < 0` range check and builds a NaN network
            raise GrowganError(f"network spec {part}: {key}={value!r} is not a finite number (the {family} family); "
                               "give a finite value")
        if key in hints and not _value_fits(value, hints[key]):
            raise GrowganError(f"network spec {part}: {key}={value!r} is not {_hint_name(hints[key])} "
                               f"(the {family} family); give a value of that type")


def _check_part(cls: type, kwargs: dict, part: str, family: str) -> None:
    """One-line GrowganError for a misspelled spec key or a value of the wrong type (checked
    against the constructor's annotations)."""
    params = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(kwargs) - set(params) - {"self"})
    if unknown and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        allowed = ", ".join(k for k in params if k != "self")
        raise GrowganError(f"network spec {part}: unknown key(s) {', '.join(unknown)} for the {family} family; use {allowed}")
    _check_types(cls, kwargs, part, family)


def _construct(cls: type, kwargs: dict, part: str, family: str) -> nn.Module:
    """cls(**kwargs) after `_check_part`."""
    _check_part(cls, kwargs, part, family)
    return cls(**kwargs)


def check_network_spec(spec: dict) -> None:
    """Check a network spec's family, keys and value types without building anything (for
    `growgan train --dry-run`). Values still to be filled in from the data (null, or a
    `c_dim` of "auto") pass.

    Raises:
        GrowganError: the first problem, in one line naming the part and key.
    """
    check_spec_shape(spec)
    G_cls, D_cls = _family(spec["family"])
    spec = canonical_spec(spec)
    for part, cls in (("G", G_cls), ("D", D_cls)):
        kwargs = {k: v for k, v in spec[part].items() if v is not None and not (k == "c_dim" and v == "auto")}
        _check_part(cls, kwargs, part, spec["family"])


def build_generator(spec: dict) -> nn.Module:
    check_spec_shape(spec)
    return _construct(_family(spec["family"])[0], canonical_spec(spec)["G"], "G", spec["family"])


def build_discriminator(spec: dict) -> nn.Module:
    check_spec_shape(spec)
    return _construct(_family(spec["family"])[1], canonical_spec(spec)["D"], "D", spec["family"])


def build_networks(spec: dict) -> tuple[nn.Module, nn.Module]:
    """spec -> (G, D), freshly initialised."""
    return build_generator(spec), build_discriminator(spec)


def is_style_based(G: nn.Module) -> bool:
    """Whether G has a mapping network into W and a synthesis network (`G.mapping`,
    `G.synthesis`: the stylegan2 and stylegan families), which W walks, truncation cutoffs,
    style mixing and PPL need."""
    return hasattr(G, "mapping") and hasattr(G, "synthesis")


def sample_inputs(G: nn.Module, num: int, generator: "torch.Generator") -> tuple:
    """Positional inputs for ``G(*inputs)`` drawn from `generator` on the CPU: ``(z, c)`` for
    latent generators (z [num, z_dim] standard normal, c = arange(num) % c_dim or None), ``(x,)``
    for image-to-image ones (x uniform in [-1, 1], [num, in_channels, H, W] at img_resolution)."""
    import torch

    if getattr(G, "input_kind", "latent") == "image":
        h, w = G.img_resolution
        return (torch.rand(num, G.in_channels, h, w, generator=generator) * 2 - 1,)
    z = torch.randn(num, G.z_dim, generator=generator)  # [num, z_dim]
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    return z, ((torch.arange(num) % c_dim) if c_dim else None)


def network_spec(G: nn.Module, D: nn.Module) -> dict:
    """(G, D) -> spec; the inverse of `build_networks` up to weights."""
    if G.family != D.family:
        raise ValueError(f"G is {G.family!r} but D is {D.family!r}")
    return {"family": G.family, "G": G.spec(), "D": D.spec()}
