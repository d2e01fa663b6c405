"""One D step and one G step, with the configured loss and regularisers.

D step: loss_D = d_loss(D(x), D(G(z))) + lambda * GP (Gulrajani et al. 2017)
        + gamma/2 * k * R1 every k-th step (lazy R1, Mescheder et al. 2018; Karras et al. 2020)
        + epsilon * D(x)^2 (drift, Karras et al. 2018); optional WGAN weight clipping and
        instance noise (Sonderby et al. 2017), one-sided label smoothing (Salimans et al. 2016).
G step: loss_G = g_loss(D(G(z))) (relativistic losses also see D(x)) [+ beta * ortho(G), BigGAN]
        + pl_weight * k * path-length penalty every k-th step (lazy, StyleGAN2; Karras et al. 2020)
        + gdpp_weight * GDPP(D features of fakes, of reals) (Elfeki et al. 2019).
AC-GAN (D conditioning "acgan"): + acgan_weight * CE(class logits, c) on reals and fakes in
the D step and on fakes in the G step (Odena et al. 2017), with any adversarial loss.
Augmentation (growgan.augment: DiffAugment or ADA) transforms every image D sees, reals and
fakes, in both steps and inside the penalties (so R1/GP differentiate through it); with ADA
the D step sums sign(D(real)) into the state for the loop's adjustment of p.
Penalties run on the plain (uncompiled) D because torch.compile has no double backward.
Every returned statistic stays on the device; the loop reads them once per log tick.
"""

from __future__ import annotations

import torch
from torch.nn.utils import parametrize

from growgan import losses  # called as losses.X at run time, so tests may stand in a loss
from growgan.augment import Augment

from growgan.training.amp import autocast
from growgan.training.task import backward_step
from growgan.training.state import TrainState


def _spectral_normed(net: torch.nn.Module) -> bool:
    return any(parametrize.is_parametrized(m) for m in net.modules())


class StepRunner:
    def __init__(self, config, device: torch.device, amp: torch.dtype | None, gen: torch.Generator, world_size: int):
        self.cfg, self.device, self.amp, self.gen, self.world = config, device, amp, gen, world_size
        self.G_fwd = self.D_fwd = None
        self._fakes = None
        self._wrapped: tuple | None = None
        self.augment = Augment(getattr(config, "augment", "none"), getattr(config, "diffaug_policy", ()), gen)

    def wrap(self, st: TrainState) -> None:
        """(Re)apply memory format and torch.compile to the current networks (after growth)."""
        key = (id(st.G), id(st.D))
        if self._wrapped == key:
            return
        if self.cfg.channels_last:
            for net in (st.G, st.D, st.G_ema):
                net.to(memory_format=torch.channels_last)
        self.G_fwd, self.D_fwd = st.G, st.D
        if self.cfg.compile:
            # spectral norm's power iteration updates its vectors in place inside forward,
            # which compiled autograd graphs reject in backward: such a net runs eagerly
            self.G_fwd = st.G if _spectral_normed(st.G) else torch.compile(st.G)
            self.D_fwd = st.D if _spectral_normed(st.D) else torch.compile(st.D)
        self._wrapped = key

    def _latents(self, n: int, z_dim: int) -> torch.Tensor:
        return torch.randn(n, z_dim, device=self.device, generator=self.gen)  # [N, z_dim]

    def _noisy(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        if sigma <= 0:
            return x
        return losses.instance_noise(x, sigma, generator=self.gen)

    def _aug(self, st: TrainState, x: torch.Tensor) -> torch.Tensor:
        return self.augment(x, st.ada_p) if self.augment.enabled else x

    def _pen_D(self, st: TrainState):
        """D as the penalties see it: the plain D, behind the augmentation when one is on."""
        if not self.augment.enabled:
            return st.D
        return lambda x, c=None: st.D(self.augment(x, st.ada_p), c)

    def _backward_step(self, st: TrainState, loss: torch.Tensor, opt: torch.optim.Optimizer, net) -> None:
        backward_step(st, loss, opt, net, self.world)

    def d_step(self, st: TrainState, reals: torch.Tensor, c: torch.Tensor | None, d_index: int,
               noise_sigma: float = 0.0, keep_fakes: bool = False) -> dict[str, torch.Tensor]:
        """One D update. keep_fakes: run G with autograd and keep its output for the next
        g_step (as the textbook DCGAN loop does), saving the G step a second G forward."""
        cfg = self.cfg
        st.D.requires_grad_(True)
        z = self._latents(reals.shape[0], st.G.z_dim)
        with torch.set_grad_enabled(keep_fakes), autocast(self.amp, self.device):
            fakes = self.G_fwd(z, c)  # [B, C, H, W]
        if cfg.channels_last:
            fakes = fakes.contiguous(memory_format=torch.channels_last)
        self._fakes = (fakes, c) if keep_fakes else None
        fakes = fakes.detach().float()
        reals_in, fakes_in = self._noisy(reals, noise_sigma), self._noisy(fakes, noise_sigma)
        with autocast(self.amp, self.device):
            real_logits = self.D_fwd(self._aug(st, reals_in), c).float()  # [B]
            aux_real = losses.take_class_logits(st.D)  # AC-GAN's class logits, else None
            fake_logits = self.D_fwd(self._aug(st, fakes_in), c).float()
            aux_fake = losses.take_class_logits(st.D)
        loss = losses.d_loss(cfg.loss, real_logits, fake_logits, label_smoothing=cfg.label_smoothing)
        stats = {"loss/D": loss.detach(), "D/real": real_logits.detach().mean(), "D/fake": fake_logits.detach().mean()}
        if self.augment.kind == "ada":  # r_t = E[sign(D(real))] for the adjustment of p
            st.ada_stat += torch.stack([real_logits.detach().sign().sum(), real_logits.new_tensor(real_logits.shape[0])])
        total = loss
        if aux_real is not None and c is not None:  # AC-GAN: D classifies reals and fakes
            ac_real, ac_fake = losses.acgan_loss(aux_real, c), losses.acgan_loss(aux_fake, c)
            total = total + cfg.acgan_weight * (ac_real + ac_fake)
            stats["loss/acgan_real"], stats["loss/acgan_fake"] = ac_real.detach(), ac_fake.detach()
        if cfg.gp_lambda > 0:
            gp = losses.gradient_penalty(self._pen_D(st), reals_in, fakes_in, c, generator=self.gen, target=cfg.gp_target)
            total = total + cfg.gp_lambda * gp
            stats["loss/gp"] = gp.detach()
        if cfg.drift_epsilon > 0:
            drift = losses.drift_penalty(real_logits)
            total = total + cfg.drift_epsilon * drift
            stats["loss/drift"] = drift.detach()
        if cfg.r1_gamma > 0 and d_index % cfg.r1_interval == 0:
            r1 = losses.r1_penalty(self._pen_D(st), reals_in, c)
            total = total + (cfg.r1_gamma / 2) * cfg.r1_interval * r1
            stats["loss/r1"] = r1.detach()
        self._backward_step(st, total, st.opt_D, st.D)
        if cfg.clip_value > 0:
            losses.clip_weights_(st.D, cfg.clip_value)
        return stats

    def g_step(self, st: TrainState, reals: torch.Tensor, c: torch.Tensor | None,
               noise_sigma: float = 0.0) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        st.D.requires_grad_(False)  # no D weight gradients in the G step
        with autocast(self.amp, self.device):
            if self._fakes is not None:  # G's output of the last D step, with its graph
                fakes, self._fakes = self._fakes[0], None
            else:
                fakes = self.G_fwd(self._latents(reals.shape[0], st.G.z_dim), c)
                if cfg.channels_last:
                    fakes = fakes.contiguous(memory_format=torch.channels_last)
            fake_logits = self.D_fwd(self._aug(st, self._noisy(fakes, noise_sigma)), c).float()
            aux_fake = losses.take_class_logits(st.D)
            real_logits = None
            if cfg.loss == "relativistic":
                with torch.no_grad():
                    real_logits = self.D_fwd(self._aug(st, self._noisy(reals, noise_sigma)), c).float()
        loss = losses.g_loss(cfg.loss, fake_logits, real_logits)
        stats = {"loss/G": loss.detach()}
        total = loss
        if aux_fake is not None and c is not None:  # AC-GAN: G makes fakes D classifies as their label
            ac = losses.acgan_loss(aux_fake, c)
            stats["loss/acgan_G"] = ac.detach()
            total = total + cfg.acgan_weight * ac
        if cfg.ortho_reg > 0:  # BigGAN: off-diagonal orthogonal regularisation of G
            ortho = losses.orthogonal_regularization(st.G, cfg.ortho_reg)
            stats["loss/ortho"] = ortho.detach()
            total = total + ortho
        if cfg.pl_weight > 0 and st.step % cfg.pl_interval == 0:
            n = max(1, reals.shape[0] // cfg.pl_batch_shrink)
            z = self._latents(n, st.G.z_dim)
            pl, st.pl_mean = losses.path_length_penalty(st.G, z, None if c is None else c[:n], st.pl_mean,
                                                        cfg.pl_decay, generator=self.gen)
            total = total + cfg.pl_weight * cfg.pl_interval * pl
            stats["loss/pl"] = pl.detach()
        if cfg.gdpp_weight > 0:  # D's features of fakes vs reals (both augmented as D sees them)
            phi_fake = st.D.features(self._aug(st, self._noisy(fakes, noise_sigma)).float())
            with torch.no_grad():
                phi_real = st.D.features(self._aug(st, self._noisy(reals, noise_sigma)))
            gdpp = losses.gdpp_loss(phi_fake, phi_real)
            total = total + cfg.gdpp_weight * gdpp
            stats["loss/gdpp"] = gdpp.detach()
        self._backward_step(st, total, st.opt_G, st.G)
        st.D.requires_grad_(True)
        return stats
