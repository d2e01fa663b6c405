"""Sliced Wasserstein distance between Laplacian-pyramid patches (Karras et al. 2018, ProGAN).

Follows the official `metrics/sliced_wasserstein.py` of progressive_growing_of_gans:

- images are taken as uint8 values (0..255) converted to float32;
- a Laplacian pyramid with the 5x5 binomial filter ([1,4,6,4,1] outer product / 256),
  mirror ("reflect") borders, levels from full resolution down to 16 (the coarsest level
  is the low-pass image itself, the others are band-pass differences);
- 128 random 7x7 neighbourhoods per image per level (centres drawn uniformly where the
  whole patch fits);
- descriptors normalised per colour channel (mean and population std over all
  neighbourhoods and patch pixels), separately for the real and the fake set;
- 4 repeats x 128 random unit directions; the distance of one repeat is the mean absolute
  difference of the sorted projections; repeats are averaged; x1000 per level; the
  average over levels is the headline number.

Rules where the official code is silent (it assumes square power-of-two images >= 16):
levels halve (H, W) while the smaller side stays >= 16; images whose smaller side is
below 16 get a single level at full resolution (a 7x7 patch needs at least 7 pixels);
both sets use the same number of images (the smaller of the two and `num_images`).

Speed (issue #4): the pyramid is computed once per set for all levels; with numba installed
the patch gather and the per-direction sum |sort(a) - sort(b)| run as compiled kernels, the
latter exactly but without sorting everything (`exact_abs_diff_sum`); without numba the
same numbers come from torch's gather and numpy's sort (`sorted_abs_diff_sum`, the reference).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.utils.progress import bar

try:  # optional: compiles the exact sort-free W1 kernel; without it the sort-based path is used
    import numba
except ImportError:  # pragma: no cover - exercised by the fallback test through `use_numba=False`
    numba = None

# Source of images: returns uint8 [n, C, H, W] for the index range [start, stop).
ImageFn = Callable[[int, int], torch.Tensor]

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64)
_KERNEL = (torch.outer(_BINOMIAL, _BINOMIAL) / 256.0).to(torch.float32)  # [5, 5], sums to 1


@dataclass
class SWDConfig:
    """Options of the ProGAN sliced Wasserstein distance (defaults = the paper's)."""

    nhood_size: int = 7
    nhoods_per_image: int = 128
    dir_repeats: int = 4
    dirs_per_repeat: int = 128
    min_resolution: int = 16
    batch_size: int = 256


def swd_levels(resolution: tuple[int, int], min_resolution: int = 16) -> list[tuple[int, int]]:
    """Pyramid level sizes, finest first: (H, W), (ceil(H/2), ceil(W/2)), ... while min side >= 16."""
    h, w = resolution
    if min(h, w) < 7:
        raise GrowganError(f"SWD needs images of at least 7x7 pixels, got {h}x{w}; use a larger resolution")
    levels = [(h, w)]
    while min(math.ceil(h / 2), math.ceil(w / 2)) >= min_resolution:
        h, w = math.ceil(h / 2), math.ceil(w / 2)
        levels.append((h, w))
    return levels


def swd_rule(resolution: tuple[int, int], min_resolution: int = 16) -> str:
    """One line saying which levels are used, for the output."""
    h, w = resolution
    levels = swd_levels(resolution, min_resolution)
    names = ", ".join(f"{lh}x{lw}" for lh, lw in levels)
    if min(h, w) < min_resolution:
        return f"SWD: images {h}x{w} are smaller than {min_resolution}: one level at full resolution ({names})"
    return f"SWD: Laplacian levels {names} (halving while the smaller side is >= {min_resolution})"


def _blur(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """5x5 binomial filter with mirror borders, per channel. [N, C, H, W] -> same.
    (The plain definition; pyr_down/pyr_up compute the same separably, tested against it.)"""
    c = x.shape[1]
    k = (_KERNEL * gain).to(x.device).expand(c, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=c)


def _down1d(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Along dim (2 or 3): [1, 4, 6, 4, 1] / 16 with mirror borders, even positions kept."""
    n = x.shape[dim]
    m = (n + 1) // 2
    xp = F.pad(x, (2, 2, 0, 0) if dim == 3 else (0, 0, 2, 2), mode="reflect")

    def tap(off: int) -> torch.Tensor:  # xp[off + 2i], i < m
        return xp[..., off : off + 2 * m - 1 : 2] if dim == 3 else xp[:, :, off : off + 2 * m - 1 : 2]

    return ((tap(0) + tap(4)) + 4.0 * (tap(1) + tap(3)) + 6.0 * tap(2)) * (1.0 / 16.0)


def _up1d(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Along dim (2 or 3), n -> 2n: zero insertion then [1, 4, 6, 4, 1] / 8 with mirror borders
    on the 2n grid, computed polyphase: even outputs (x[i-1] + 6 x[i] + x[i+1]) / 8, odd ones
    (x[i] + x[i+1]) / 2, where the 2n grid's mirror gives x[-1] = x[1] and x[n] = x[n-1]."""
    n = x.shape[dim]
    xp = torch.cat([x.narrow(dim, min(1, n - 1), 1), x, x.narrow(dim, n - 1, 1)], dim)  # [.., n + 2, ..]
    left, mid, right = xp.narrow(dim, 0, n), xp.narrow(dim, 1, n), xp.narrow(dim, 2, n)
    even = ((left + right) + 6.0 * mid) * (1.0 / 8.0)
    odd = (mid + right) * 0.5
    return torch.stack([even, odd], dim + 1).flatten(dim, dim + 1)


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, ceil(H/2), ceil(W/2)] (as cv2.pyrDown / the official code): the
    5x5 binomial filter with mirror borders, every other pixel (separable, only kept outputs)."""
    return _down1d(_down1d(x, 2), 3)


def pyr_up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[N, C, h, w] -> [N, C, H, W]: zero insertion then the filter x4 (as cv2.pyrUp),
    separable and polyphase (no multiplications by the inserted zeros)."""
    return _up1d(_up1d(x, 2), 3)[:, :, : size[0], : size[1]]


def laplacian_pyramid(images: torch.Tensor, num_levels: int) -> list[torch.Tensor]:
    """uint8/float [N, C, H, W] -> num_levels float32 tensors, finest (band-pass) first."""
    pyramid = [images.to(torch.float32)]
    for _ in range(1, num_levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1], pyramid[-2].shape[2:])
    return pyramid


def _patches(level: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, size: int) -> torch.Tensor:
    """Gather patches. level [B, C, h, w]; ys, xs [B, K] centres -> [B*K, C, size, size]."""
    b, c, h, w = level.shape
    r = size // 2
    level = level.contiguous()
    # all size x size windows as a strided view, then one index op (no per-pixel index tensors)
    sb, sc, sh, sw = level.stride()
    win = level.as_strided((b, c, h - 2 * r, w - 2 * r, size, size), (sb, sc, sh, sw, sh, sw))
    img = torch.arange(b, device=level.device).view(b, 1).expand_as(ys).reshape(-1)
    return win[img, :, (ys - r).reshape(-1), (xs - r).reshape(-1)]  # [B*K, C, s, s]


def _gather_kernel(level, ys, xs, size, out, sums):  # pragma: no cover - compiled by numba
    """out[i*K + k, (c, dy, dx)] = level[i, c, ys[i,k] - r + dy, xs[i,k] - r + dx]; adds each
    column's sum and sum of squares (float64) to sums [2, C * size * size]."""
    nimg, nch = level.shape[0], level.shape[1]
    kk = ys.shape[1]
    r = size // 2
    for i in range(nimg):
        for k in range(kk):
            row = i * kk + k
            y0 = ys[i, k] - r
            x0 = xs[i, k] - r
            col = 0
            for c in range(nch):
                for dy in range(size):
                    for dx in range(size):
                        v = level[i, c, y0 + dy, x0 + dx]
                        out[row, col] = v
                        sums[0, col] += v
                        sums[1, col] += np.float64(v) * v
                        col += 1


_gather_jit: list = []
_jit_lock = threading.Lock()


def _gather_fn():
    with _jit_lock:
        if not _gather_jit:
            _gather_jit.append(numba.njit(nogil=True, cache=True)(_gather_kernel))
    return _gather_jit[0]


def _level_images(images: ImageFn, num: int, sizes: list[tuple[int, int]], cfg: SWDConfig, device) -> list[torch.Tensor]:
    """The Laplacian pyramid of a whole set, computed once: float32 [num, C, h, w] per level
    (band-pass levels, then the low-pass one), on the CPU; the images are read once."""
    levels: list[torch.Tensor] = []
    for start in range(0, num, cfg.batch_size):
        stop = min(start + cfg.batch_size, num)
        pyr = laplacian_pyramid(images(start, stop).to(device), len(sizes))
        if not levels:
            levels = [torch.empty((num, *p.shape[1:]), dtype=torch.float32) for p in pyr]
        for out, p in zip(levels, pyr):
            out[start:stop] = p.cpu()
    return levels


_DESC_CHUNK = 256  # images per gather chunk: fixed, so results never depend on cfg.batch_size


def _prefaulted(shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 buffer whose pages are already mapped (torch.zeros). Large fresh buffers
    first touched by the numba gather or by transposed copies cost ~3 s per GB of page faults
    on this VM, against ~0.35 s per GB for zero-filling them up front."""
    return torch.zeros(shape, dtype=torch.float32)


def _centres(shape: torch.Size, cfg: SWDConfig, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Patch centres (ys, xs) [num, K] for level images of `shape`, drawn for all images up
    front, so nothing depends on any batch size."""
    num, _, h, w = shape
    r, k = cfg.nhood_size // 2, cfg.nhoods_per_image
    return torch.randint(r, h - r, (num, k), generator=gen), torch.randint(r, w - r, (num, k), generator=gen)


def _descriptors(
    level_images: torch.Tensor, cfg: SWDConfig, gen: torch.Generator, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Normalised descriptors of one pyramid level for a whole set: [num * K, C * s * s] float32.

    level_images: float32 [num, C, h, w] (one entry of `_level_images`). out: a buffer of that
    shape to fill (reused across levels: fresh memory costs page faults, ~1 s per GB here).
    """
    ys, xs = _centres(level_images.shape, cfg, gen)
    return _descriptors_at(level_images, ys, xs, cfg, out)


def _descriptors_at(
    level_images: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, cfg: SWDConfig, out: torch.Tensor | None
) -> torch.Tensor:
    num, c, h, w = level_images.shape
    size, k = cfg.nhood_size, cfg.nhoods_per_image
    shape = (num * k, c * size * size)
    desc = out if out is not None and tuple(out.shape) == shape else _prefaulted(shape)
    col_sums = np.zeros((2, shape[1]), np.float64)
    if numba is not None:
        _gather_fn()(level_images.contiguous().numpy(), ys.numpy(), xs.numpy(), size, desc.numpy(), col_sums)
    else:
        for start in range(0, num, _DESC_CHUNK):
            stop = min(start + _DESC_CHUNK, num)
            p = _patches(level_images[start:stop], ys[start:stop], xs[start:stop], size).reshape(-1, shape[1])
            desc[start * k : stop * k] = p
            p = p.double()
            col_sums[0] += p.sum(dim=0).numpy()
            col_sums[1] += p.square().sum(dim=0).numpy()
    sums = col_sums.reshape(2, c, size * size).sum(axis=2)  # per channel
    count = num * k * size * size
    mean = sums[0] / count
    std = np.sqrt(np.maximum(sums[1] / count - mean**2, 0.0))  # population std per channel
    mean_col = torch.from_numpy(np.repeat(mean, size * size)).float()
    std_col = torch.from_numpy(np.repeat(std, size * size)).float().clamp_min(1e-8)
    for chunk in desc.split(1 << 16):
        chunk.sub_(mean_col).div_(std_col)
    return desc


def sorted_abs_diff_sum(pa: torch.Tensor, pb: torch.Tensor) -> torch.Tensor:
    """sum_i |sort(pa)_i - sort(pb)_i| per row. [k, n] x 2 -> float64 [k]. The reference definition.

    numpy's sort (vectorised with AVX-512/AVX2) is about twice as fast as torch.sort here;
    the two sets are sorted in two threads (numpy releases the GIL).
    """
    with ThreadPoolExecutor(2) as pool:
        sa, sb = pool.map(lambda p: np.sort(p.numpy(), axis=1), (pa, pb))
    return torch.from_numpy(np.abs(sa - sb, out=sa).sum(axis=1, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# Exact sort-free W1 (numba). For equal sizes, sum_i |sort(a)_i - sort(b)_i| = integral |c(x)| dx
# with c(x) = #{a <= x} - #{b <= x}. A grid of `nbins` equal bins covers the bulk of the values
# ([lo, hi): ~0.1% / 99.9% quantiles of a subsample), plus two open bins for the tails. One
# pass counts each set per bin, which gives c at every bin start. Inside a bin c only moves by
# the bin's own points, so where c_start >= count_b (c stays >= 0) or c_start <= -count_a (c
# stays <= 0) the integral of |c| over the bin is linear in the points:
#     +-(c_start * w + sum_{p in bin} label_p * (bin_end - x_p)),  label = +1 for a, -1 for b,
# and needs no order. Only the points of the other ("ambiguous") bins - where c may change
# sign, and the two open tail bins - are sorted and swept exactly. Sums are in float64.
# ---------------------------------------------------------------------------------------------


def _w1_bin(x, lo, scale, nbins):  # pragma: no cover - compiled by numba
    """Bin of a value: 0 below lo, 1..nbins on the grid, nbins + 1 from hi up (monotone in x)."""
    t = (np.float64(x) - lo) * scale
    if t < 0.0:
        return 0
    if t >= nbins:
        return nbins + 1
    return int(t) + 1


def _w1_linear(a, b, lo, hi, nbins):  # pragma: no cover - compiled by numba
    """Pass 1 (counts) and 2 (linear bins). -> (linear part, cnt_a, cnt_b, cstart, ambiguous a, b)."""
    n = a.size
    scale = nbins / (hi - lo)
    w = (hi - lo) / nbins
    nb = nbins + 2
    cnt_a = np.zeros(nb, np.int32)
    cnt_b = np.zeros(nb, np.int32)
    for i in range(n):
        cnt_a[_w1_bin(a[i], lo, scale, nbins)] += 1
    for i in range(n):
        cnt_b[_w1_bin(b[i], lo, scale, nbins)] += 1
    state = np.empty(nb, np.int8)
    cstart = np.empty(nb, np.int64)
    c = 0
    lin = 0.0
    na_amb = 0
    nb_amb = 0
    for j in range(nb):
        ca = np.int64(cnt_a[j])
        cb = np.int64(cnt_b[j])
        cstart[j] = c
        if j == 0 or j == nb - 1:
            s = 0  # open tail bins: always swept exactly
        elif c >= cb:
            s = 1
        elif c <= -ca:
            s = -1
        else:
            s = 0
        if s == 0:
            na_amb += ca
            nb_amb += cb
        else:  # coordinates relative to lo: grid bin j is [(j-1)*w, j*w)
            lin += s * (c * w + (ca - cb) * (j * w))
        state[j] = s
        c += ca - cb
    amb_a = np.empty(na_amb, np.float32)
    amb_b = np.empty(nb_amb, np.float32)
    acc_a = 0.0
    acc_b = 0.0
    m = 0
    for i in range(n):
        x = a[i]
        s = state[_w1_bin(x, lo, scale, nbins)]
        if s == 0:
            amb_a[m] = x
            m += 1
        else:
            acc_a += s * (np.float64(x) - lo)
    m = 0
    for i in range(n):
        x = b[i]
        s = state[_w1_bin(x, lo, scale, nbins)]
        if s == 0:
            amb_b[m] = x
            m += 1
        else:
            acc_b += s * (np.float64(x) - lo)
    return lin + (acc_b - acc_a), cnt_a, cnt_b, cstart, state, amb_a, amb_b


def _w1_sweep(amb_a, amb_b, cnt_a, cnt_b, cstart, state, lo, hi, nbins):  # pragma: no cover - numba
    """Exact integral of |c| over the ambiguous bins from their sorted points (bins are monotone
    in x, so the sorted arrays hold each bin's points together, in bin order)."""
    w = (hi - lo) / nbins
    nb = nbins + 2
    tot = 0.0
    ia = 0
    ib = 0
    for j in range(nb):
        if state[j] != 0:
            continue
        c = cstart[j]
        ea = ia + cnt_a[j]
        eb = ib + cnt_b[j]
        first = True
        pos = (j - 1) * w
        while ia < ea or ib < eb:
            if ib >= eb or (ia < ea and amb_a[ia] <= amb_b[ib]):
                x = np.float64(amb_a[ia]) - lo
                ia += 1
                step = 1
            else:
                x = np.float64(amb_b[ib]) - lo
                ib += 1
                step = -1
            if first and j == 0:
                pos = x  # c = 0 left of the lowest point
            first = False
            tot += abs(c) * (x - pos)
            pos = x
            c += step
        if j < nb - 1:  # right of the highest point c = 0 again
            tot += abs(c) * (j * w - pos)
    return tot


_w1_jit: dict = {}


def _w1_kernels():
    with _jit_lock:
        return _w1_kernels_locked()


def _w1_kernels_locked():
    if not _w1_jit:
        jit = numba.njit(nogil=True, cache=True)
        _w1_jit["bin"] = jit(_w1_bin)
        # the later functions call the compiled `_w1_bin` through the module global
        globals()["_w1_bin"] = _w1_jit["bin"]
        _w1_jit["linear"] = jit(_w1_linear)
        _w1_jit["sweep"] = jit(_w1_sweep)
    return _w1_jit["linear"], _w1_jit["sweep"]


def _num_bins(n: int) -> int:
    """Grid bins per direction: ~8 points of each set per bin (few ambiguous bins), capped so
    that the counts stay in a core's L2 cache."""
    return int(min(1 << 18, max(1, n // 8)))


def _w1_row(a: np.ndarray, b: np.ndarray, lo: float, hi: float, nbins: int) -> float:
    linear, sweep = _w1_kernels()
    part, cnt_a, cnt_b, cstart, state, amb_a, amb_b = linear(a, b, lo, hi, nbins)
    amb_a.sort()  # numpy's sort: vectorised, fast on ties (flat image areas give many)
    amb_b.sort()
    return part + sweep(amb_a, amb_b, cnt_a, cnt_b, cstart, state, lo, hi, nbins)


def _grid_ranges(pa: torch.Tensor, pb: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per row [lo, hi): ~0.1% and 99.9% quantiles of a strided subsample of both sets (float64);
    the full range where those coincide; lo = hi only if a row is constant."""
    n = pa.shape[1]
    step = max(1, n // 4096)
    sample = torch.cat([pa[:, ::step], pb[:, ::step]], dim=1).sort(dim=1).values
    r = sample.shape[1] // 1000
    lo, hi = sample[:, r].double(), sample[:, -1 - r].double()
    flat = ~(hi > lo)
    if flat.any():
        lo = torch.where(flat, torch.minimum(pa.amin(dim=1), pb.amin(dim=1)).double(), lo)
        hi = torch.where(flat, torch.maximum(pa.amax(dim=1), pb.amax(dim=1)).double(), hi)
    return lo.numpy(), hi.numpy()


def exact_abs_diff_sum(pa: torch.Tensor, pb: torch.Tensor, use_numba: bool | None = None) -> torch.Tensor:
    """Same as `sorted_abs_diff_sum` (exact, to float64 rounding) without sorting everything.

    [k, n] float32 x 2 -> float64 [k]. Rows are processed in torch.get_num_threads() threads
    (the compiled kernels release the GIL). Without numba (or with use_numba=False) this is
    `sorted_abs_diff_sum`.
    """
    if use_numba is None:
        use_numba = numba is not None
    n = pa.shape[1]
    if not use_numba or n == 0 or n >= 1 << 31:
        return sorted_abs_diff_sum(pa, pb)
    _w1_kernels()  # set up once here, not concurrently in the worker threads
    pa, pb = pa.contiguous(), pb.contiguous()
    lo, hi = _grid_ranges(pa, pb)
    na, nb = pa.numpy(), pb.numpy()
    bins = _num_bins(n)

    def job(r: int) -> float:
        if not hi[r] > lo[r]:
            return 0.0  # the row is constant in both sets: the sorted sets coincide
        return _w1_row(na[r], nb[r], float(lo[r]), float(hi[r]), bins)

    threads = min(torch.get_num_threads(), pa.shape[0])
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            out = list(pool.map(job, range(pa.shape[0])))
    else:
        out = [job(r) for r in range(pa.shape[0])]
    return torch.tensor(out, dtype=torch.float64)


def sliced_wasserstein(
    a: torch.Tensor,
    b: torch.Tensor,
    cfg: SWDConfig,
    gen: torch.Generator,
    use_numba: bool | None = None,
    work: dict | None = None,
    on_repeat: Callable[[], None] | None = None,
) -> float:
    """Mean over repeats of the mean |sorted(a @ dirs) - sorted(b @ dirs)|. a, b: [n, D].

    work: a dict to keep the projection buffers in between calls (fresh memory page-faults).
    on_repeat: called after each of the cfg.dir_repeats repeats (progress).
    """
    if a.shape != b.shape:
        raise ValueError(f"descriptor sets differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    n = a.shape[0]
    if use_numba is None:
        use_numba = numba is not None
    # directions per pass: bounds the memory of the [k, n] projections (the sort path holds
    # two more sorted copies, the exact path only the projections)
    budget = (1 << 28) if use_numba else (1 << 25)
    chunk = max(1, min(cfg.dirs_per_repeat, budget // n))
    work = {} if work is None else work
    bufs = work.get("proj")
    results = []
    for _ in range(cfg.dir_repeats):
        dirs = torch.randn(a.shape[1], cfg.dirs_per_repeat, generator=gen, dtype=torch.float64)
        dirs = (dirs / dirs.square().sum(dim=0, keepdim=True).sqrt()).to(torch.float32)  # unit columns
        total = torch.zeros((), dtype=torch.float64)
        for j in range(0, cfg.dirs_per_repeat, chunk):
            d = dirs[:, j : j + chunk].T.contiguous()
            if bufs is None or tuple(bufs[0].shape) != (d.shape[0], n):  # reused: fresh memory page-faults
                bufs = work["proj"] = None  # free the old pair first
                bufs = work["proj"] = _prefaulted((d.shape[0], n)), _prefaulted((d.shape[0], n))
            pa, pb = _project(a, d, bufs[0]), _project(b, d, bufs[1])  # [k, n] projections
            total += exact_abs_diff_sum(pa, pb, use_numba).sum()
        results.append(float(total) / (n * cfg.dirs_per_repeat))
        if on_repeat is not None:
            on_repeat()
    return float(np.mean(results))


def _project(x: torch.Tensor, d: torch.Tensor, out: torch.Tensor, block: int = 4096) -> torch.Tensor:
    """out[k, n] = d[k, D] @ x[n, D].T, as row blocks x_blk @ d.T transposed into place: with
    D = 147 this runs ~1.6x faster on 2 cores than one [k, D] x [D, n] product (benchmarks/metrics.md)."""
    dt = d.T.contiguous()  # [D, k]
    tmp = torch.empty(min(block, x.shape[0]), d.shape[0], dtype=x.dtype)
    for r in range(0, x.shape[0], block):
        blk = torch.mm(x[r : r + block], dt, out=tmp[: min(block, x.shape[0] - r)])  # [b, k]
        out[:, r : r + blk.shape[0]].copy_(blk.T)
    return out


def swd(
    real: ImageFn | torch.Tensor | np.ndarray,
    fake: ImageFn | torch.Tensor | np.ndarray,
    num_images: int | None = None,
    seed: int = 0,
    cfg: SWDConfig | None = None,
    device: torch.device | str | None = None,
    resolution: tuple[int, int] | None = None,
    num_real: int | None = None,
    num_fake: int | None = None,
) -> dict[str, float]:
    """SWD x1e3 per level and averaged: {"swd_32": .., "swd_16": .., "swd": avg}.

    real/fake: uint8 [N, C, H, W] tensors/arrays, or functions (start, stop) -> uint8 batch
    (then give `resolution`, `num_real`, `num_fake`). Keys name a level by its height, or
    "HxW" for non-square images.
    """
    cfg = cfg or SWDConfig()
    real_fn, n_real, res_r = _as_source(real, num_real, resolution)
    fake_fn, n_fake, res_f = _as_source(fake, num_fake, resolution)
    if res_r != res_f:
        raise GrowganError(f"SWD: real images are {res_r[0]}x{res_r[1]} but fake ones {res_f[0]}x{res_f[1]}")
    num = min(n_real, n_fake, num_images or n_real)
    if num < 2:
        raise GrowganError("SWD needs at least 2 images per set")
    sizes = swd_levels(res_r, cfg.min_resolution)
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, float] = {}
    # progress in steps: the two pyramids, then per level its descriptors and each projection repeat
    pb = bar(total=2 + len(sizes) * (1 + cfg.dir_repeats), desc=f"SWD ({num} images per set)", unit="step")
    with pb:
        _swd_levels(real_fn, fake_fn, num, sizes, cfg, device, gen, out, pb)
    out["swd"] = float(np.mean(list(out.values())))
    return out


def _swd_levels(real_fn, fake_fn, num, sizes, cfg, device, gen, out, pb) -> None:
    """The body of `swd`: fills out["swd_<h>"] level by level, ticking the bar `pb`."""
    real_levels = _level_images(real_fn, num, sizes, cfg, device)
    pb.update()
    fake_levels = _level_images(fake_fn, num, sizes, cfg, device)
    pb.update()
    a = b = None  # descriptor buffers, reused across levels (same shape)
    work: dict = {}  # projection buffers, likewise
    for level, (h, w) in enumerate(sizes):
        ca = _centres(real_levels[level].shape, cfg, gen)
        cb = _centres(fake_levels[level].shape, cfg, gen)
        jobs = ((real_levels[level], *ca, cfg, a), (fake_levels[level], *cb, cfg, b))
        if torch.get_num_threads() > 1:  # the two sets in parallel (the gather releases the GIL)
            with ThreadPoolExecutor(2) as pool:
                a, b = pool.map(lambda job: _descriptors_at(*job), jobs)
        else:
            a, b = (_descriptors_at(*job) for job in jobs)
        pb.update()
        key = f"swd_{h}" if h == w else f"swd_{h}x{w}"
        out[key] = sliced_wasserstein(a, b, cfg, gen, work=work, on_repeat=pb.update) * 1e3
        real_levels[level] = fake_levels[level] = None  # free as we go


def _as_source(x, num: int | None, resolution) -> tuple[ImageFn, int, tuple[int, int]]:
    """Tensor/array/function -> (fn(start, stop) -> uint8 tensor, count, (H, W))."""
    if callable(x):
        if num is None or resolution is None:
            raise ValueError("an image function needs num_real/num_fake and resolution")
        return x, num, tuple(resolution)
    if x.ndim != 4 or x.dtype not in (np.uint8, torch.uint8):
        raise GrowganError(f"SWD needs uint8 images [N, C, H, W], got {getattr(x, 'dtype', type(x))} {tuple(x.shape)}")
    return (lambda s, e: torch.as_tensor(np.asarray(x[s:e]))), x.shape[0], tuple(x.shape[2:])
