"""The task contract: what a kind of GAN training owns, beside the one engine that runs it.

A *task* (generation, paired translation, unpaired translation) owns
  - its data: how the training data is opened (`open_data`), how the data-dependent network
    keys are filled in and checked (`resolve_network`, `check_networks`), the position-keeping
    sampler (`make_loader`) and how one batch is drawn and put on the device (`draw_batch`);
  - its D and G updates with their losses (`d_step`, `g_step`), through the engine's
    `backward_step` (AMP scaler + gradient synchronisation under torchrun);
  - what its grids show (`grid_images`) and how its networks are scored (`evaluate`);
  - any state of its own that exact resume needs (`state_dict` / `load_state_dict`: e.g.
    CycleGAN's image pools), saved per rank in the checkpoint's ``extra["task"]``.
The *engine* (`growgan.training.loop.Trainer`) owns everything else: the schedule in images
seen (n_critic D steps + one G step per iteration, intervals in kimg, the optional linear
learning-rate decay), the TrainState (networks G, D, G_ema built from the network spec, the
two Adam optimizers, AMP scaler), EMA of G, growth, checkpoints and exact resume (RNG
streams, loader position, task state), logging and NaN checks, grid files, periodic
metrics, report and run folders. A task never saves files or touches the schedule.

Several networks per side (CycleGAN's G_AB and G_BA, D_A and D_B) are *one* module per side
(a family whose G holds both generators and whose D holds both discriminators), so the
engine keeps one G, one D, one G_ema and two optimizers, as the CycleGAN reference trains
them (one Adam over both generators, one over both discriminators).

Randomness: a task draws every random number it needs (flips, crops, latents, pool coins)
from ``engine.gen`` (the loop's per-rank `torch.Generator`, saved in checkpoints) or, for
layers that draw from the global torch RNG (dropout), from the engine's private global
stream, which `Trainer.train_until` swaps in; so k steps + resume + k steps equals 2k steps.

The generation task (`training/task_generation.py`) is the zoo's path, unchanged in its
numbers; ``config.task`` (`training/task_config.py`) names another. A new task is one module
``training/task_<kind>.py`` defining a `Task` subclass decorated ``@register_task(kind)``,
its entry in ``_TASK_MODULES`` below, and its config dataclass in ``task_config.TASK_KINDS``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import torch

from growgan.errors import GrowganError
from growgan.training.distributed import all_reduce_grads
from growgan.training.state import TrainState

# the engine (growgan.training.loop.Trainer, which imports this module): the attributes a task
# may read are listed in Task's docstring
Engine = Any

# a batch: named tensors on the training device (e.g. {"reals", "c"} or {"A", "B"})
Batch = dict[str, Any]
# loss statistics: name -> 0-dim tensor on the device (read by the engine once per log tick)
Stats = dict[str, torch.Tensor]

# task kind -> module that registers it on import ("generation" is config.task = null)
_TASK_MODULES = {
    "generation": "growgan.training.task_generation",
    "pix2pix": "growgan.training.task_pix2pix",
    "cyclegan": "growgan.training.task_cyclegan",
}
_TASKS: dict[str, type] = {}
DIRECTIONS = ("AtoB", "BtoA")


@dataclass
class Translator:
    """What `growgan translate` runs: ``fn(x)`` maps float [N, in_channels, H, W] in [-1, 1] to
    float [N, out_channels, H, W] (no grad, eval mode), for H, W divisible by size_multiple.
    per_image: translate one image at a time (batch norm with batch statistics, as Pix2Pix at
    test time, would otherwise mix the images of a batch)."""

    fn: Callable[[torch.Tensor], torch.Tensor]
    in_channels: int
    out_channels: int
    size_multiple: int
    per_image: bool = False


def register_task(kind: str) -> Callable[[type], type]:
    """Class decorator: ``@register_task("pix2pix") class Pix2PixTask(Task): ...``."""
    def deco(cls: type) -> type:
        cls.kind = kind
        _TASKS[kind] = cls
        return cls
    return deco


def task_kind(config) -> str:
    """"generation" for ``config.task`` null, else its kind."""
    task = getattr(config, "task", None)
    return "generation" if not task else str(task["kind"])


def task_class(kind: str) -> type:
    """The registered Task subclass of a kind (imported on first use)."""
    if kind not in _TASKS:
        if kind not in _TASK_MODULES:
            raise GrowganError(f"task.kind={kind!r} is not valid; choose one of {', '.join(sorted(_TASK_MODULES))}")
        try:
            importlib.import_module(_TASK_MODULES[kind])
        except ModuleNotFoundError as exc:
            raise GrowganError(f"task.kind={kind!r} is not built into this growgan ({exc.name} is missing)") from None
    return _TASKS[kind]


def make_task(config) -> "Task":
    """The task object of ``config.task`` (a GrowganError names the kinds for an unknown one)."""
    return task_class(task_kind(config))(config)


class Task:
    """Base class of the tasks: the contract the engine calls, in the order it calls it.

    Construction and data (before the TrainState exists):
      ``Task(config)``; ``open_data(data)``; ``resolve_network(config.network, data)``;
      then (fresh or resumed state) ``check_networks(state, data, growing)``;
      ``make_loader(data, batch_size, seed, rank, world_size)``.
    Binding: ``bind(engine)`` once, after the state, loader, generator and AMP mode exist;
    ``wrap(state)`` after binding and whenever growth replaced the networks.
    Each iteration (engine-owned schedule):
      for i in range(n_critic): ``batch = draw_batch()``; ``d_step(state, batch, d_index, last)``;
      images_seen += ``batch_images(batch)`` * world size; then ``g_step(state, batch)`` with
      the last batch; then the engine's EMA update of G_ema.
    Outputs: ``grid_images(state)`` at each grid; ``evaluate(state, evaluator, ...)`` at each
    metrics interval; ``state_dict()`` at each checkpoint, ``load_state_dict`` on resume.
    After training: ``Task.translator(checkpoint, direction, ema, device)`` (a classmethod)
    is what `growgan translate` runs; image-to-image tasks override it.

    The engine attributes a bound task may read (``self.engine``): ``config``, ``device``,
    ``amp`` (autocast dtype or None), ``gen`` (the loop's torch.Generator), ``dist``
    (rank, world_size), ``loader`` (the task's own sampler), ``growth`` (controller or None),
    ``archive`` (what `open_data` returned), ``state``.
    """

    kind = "generation"

    def __init__(self, config):
        self.config = config
        self.engine: "Engine | None" = None

    # ------------------------------------------------------------------ data
    def open_data(self, data: Any) -> Any:
        """The training data (a path or an already opened object) -> the opened object the
        task reads (an Archive, a paired archive, two archives ...). GrowganError if unfit."""
        raise NotImplementedError

    def resolve_network(self, network: dict, data: Any) -> dict:
        """A copy of the network spec with the data-dependent keys left null (channels,
        resolution, c_dim) filled in from `data`, and explicit ones checked (one-line errors)."""
        raise NotImplementedError

    def check_networks(self, state: TrainState, data: Any, growing: bool) -> None:
        """Refuse (GrowganError) networks that cannot train on `data` (e.g. resolution)."""

    def make_loader(self, data: Any, batch_size: int, seed: int, rank: int, world_size: int) -> Any:
        """An infinite, seeded, rank-sharded sampler with ``batch_size``, ``set_batch_size(n)``,
        ``state_dict()`` and ``load_state_dict(d)`` that restore its position exactly
        (`growgan.data.loader.BatchLoader` or one like it)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ binding
    def bind(self, engine: Engine) -> None:
        """Attach to the engine (see the class doc for what may be read from it)."""
        self.engine = engine

    def wrap(self, state: TrainState) -> None:
        """(Re)apply memory format / torch.compile to the networks the steps use."""

    # ------------------------------------------------------------------ one iteration
    def draw_batch(self) -> Batch:
        """The next batch from ``engine.loader``, on the device as the networks take it
        (random flips/crops drawn from ``engine.gen``)."""
        raise NotImplementedError

    def batch_images(self, batch: Batch) -> int:
        """How many training examples (real images, or image pairs) this rank's batch shows:
        the engine adds it times the world size to ``state.images_seen``."""
        raise NotImplementedError

    def d_step(self, state: TrainState, batch: Batch, d_index: int, last: bool) -> Stats:
        """One update of D (``state.D`` with ``state.opt_D``). d_index counts D steps from the
        start of training (lazy regularisers); last: the G step follows with this batch."""
        raise NotImplementedError

    def g_step(self, state: TrainState, batch: Batch) -> Stats:
        """One update of G (``state.G`` with ``state.opt_G``), D frozen."""
        raise NotImplementedError

    def backward_step(self, state: TrainState, loss: torch.Tensor, opt: torch.optim.Optimizer,
                      net: torch.nn.Module) -> None:
        """The engine's optimizer step for tasks: zero grads, backward (through the AMP
        scaler when fp16), all-reduce `net`'s gradients across ranks, step."""
        backward_step(state, loss, opt, net, self.engine.dist.world_size if self.engine is not None else 1)

    # ------------------------------------------------------------------ outputs
    def grid_images(self, state: TrainState) -> dict[str, tuple[torch.Tensor, int | None]]:
        """{tag: (float [N, C, H, W] images in [-1, 1], columns or None)} for
        grids/<tag>-<images>.png and TensorBoard; the same content at every call (fixed
        inputs), and no change to the state or any RNG."""
        return {}

    def evaluate(self, state: TrainState, evaluator: Callable[..., dict], names: list[str],
                 num_images: int, seed: int) -> dict[str, dict[str, float]]:
        """{metric name: {key: value}} of the current networks (the engine logs them)."""
        raise GrowganError(f"the {self.kind} task has no periodic metrics; set metrics=[]")

    def iteration_flops(self, state: TrainState, batch_size: int, r1_now: bool) -> int:
        """Training FLOPs of one iteration at per-rank `batch_size` (0 = not counted)."""
        return 0

    def state_dict(self) -> dict:
        """This rank's task-owned state for exact resume (tensors and plain containers)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict()`'s output."""

    # ------------------------------------------------------------------ after training
    @classmethod
    def translator(cls, checkpoint: str, direction: str, ema: bool, device: torch.device | str) -> Translator:
        """The trained map of a checkpoint of this task for `growgan translate` (direction
        "AtoB" or "BtoA"; ema: G_ema rather than G). One-line GrowganError when the task
        does not translate or not in that direction."""
        raise GrowganError(f"{checkpoint}: a {cls.kind} run generates images from latents; use growgan generate "
                           "(growgan translate needs a pix2pix or cyclegan run)")


def backward_step(state: TrainState, loss: torch.Tensor, opt: torch.optim.Optimizer,
                  net: torch.nn.Module, world_size: int) -> None:
    """zero_grad, backward (scaled when ``state.scaler`` is set), gradient all-reduce over
    `world_size` ranks, optimizer step (and scaler update).

    Without a scaler, a network that computes some blocks in reduced precision (StyleGAN2's
    ``num_fp16_res``: float16 activations on CUDA, no loss scaling) gets its gradients cleaned
    before the step as stylegan2-ada-pytorch's training loop does: NaN -> 0, +-inf -> +-1e5
    (`clean_reduced_precision_grads`). Finite gradients are left bit for bit as they are."""
    opt.zero_grad(set_to_none=True)
    if state.scaler is not None:
        state.scaler.scale(loss).backward()
        all_reduce_grads(net, world_size)
        state.scaler.step(opt)  # the scaler skips a step with inf/NaN gradients itself
        state.scaler.update()
    else:
        loss.backward()
        all_reduce_grads(net, world_size)
        clean_reduced_precision_grads(net)
        opt.step()


def clean_reduced_precision_grads(net: torch.nn.Module) -> bool:
    """If `net` has reduced-precision blocks switched on (a ``use_fp16`` list with a True entry,
    as StyleGAN2's G and D with ``num_fp16_res`` > 0), replace NaN gradients of its parameters
    by 0 and +-inf by +-1e5 in place (stylegan2-ada-pytorch, training_loop.py: nan_to_num
    before each optimizer step), so that one float16 overflow does not write inf into the
    weights. Returns whether it cleaned (False: a float32 network, gradients untouched)."""
    if not any(getattr(net, "use_fp16", None) or ()):
        return False
    for p in net.parameters():
        if p.grad is not None:
            torch.nan_to_num(p.grad, nan=0.0, posinf=1e5, neginf=-1e5, out=p.grad)
    return True
