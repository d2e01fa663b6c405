"""Continuity of the DGGAN search on the real engine: every candidate resumes its parent's
data stream and RNG states, so (1) a child's first batch is the batch after its parent's
last, (2) along the winning line, search and final continuation included, the images seen
are the archive's shuffled stream without a repeat (distinct = processed up to the dataset
size), and (3) a "keep" child is bit for bit its parent trained on without a break."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growgan.data.loader import BatchLoader
from growgan.growth.search import Search, progan_path, action_space, propose, Candidate, SearchConfig
from growgan.networks.dggan import apply_action, initial_spec, settle
from growgan.training.config import TrainConfig

BATCH = 8


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "training"))
    from engine_helpers import make_archive

    return make_archive(tmp_path_factory.mktemp("data") / "blobs", n=160, res=16)


def tiny_search_config(**search) -> TrainConfig:
    spec = initial_spec(img_channels=1, z_dim=8, base_resolution=(4, 4), width=4)
    s = {"K": 2, "p": 0.5, "kernels": [3], "widths": [4], "root_widths": [4, 8], "max_layers_per_stage": 2,
         "max_children": 1, "settle_kimg": 0.008, "target_resolution": 8, "max_steps": 2, "final_kimg": 0.096,
         "metric": "swd", "eval_images": 32, "seed": 1, **search}
    return TrainConfig(network=spec, growth={"kind": "dggan", "fade_kimg": 0.008, "search": s}, batch_size=BATCH,
                       loss="wgan", gp_lambda=10.0, ema_kimg=0.01, ema_rampup=None, tensorboard=False,
                       grid_size=4, checkpoint_kimg=1.0, grid_kimg=1.0, log_kimg=1.0)


def test_lineages_continue_the_data_stream_without_repeats(archive, tmp_path, monkeypatch):
    drawn: dict[str, list[np.ndarray]] = {}
    current = {"id": None}
    orig = BatchLoader.next_indices

    def recording(self):
        idx = orig(self)
        drawn.setdefault(current["id"], []).append(idx.copy())
        return idx

    monkeypatch.setattr(BatchLoader, "next_indices", recording)
    search = Search(tiny_search_config(), archive, tmp_path / "run", log=lambda s: None)
    train = search._train

    def tagged(cand, parent, *rest):
        current["id"] = cand.id
        return train(cand, parent, *rest)

    search._train = tagged
    best = search.run()
    current["id"] = "final"
    assert search.train_final(best, verbose=False) is not None

    # the reference: one uninterrupted loader over the same archive and seed
    ref = BatchLoader(archive, BATCH, seed=0)
    stream = np.concatenate([orig(ref) for _ in range(100)])  # unrecorded
    parents = {}
    for cand in (search._load_result(p.name) for p in (tmp_path / "run" / "candidates").iterdir()):
        parents[cand.id] = cand.parent
    assert len(parents) > 5 and any(p is not None and p.startswith("s1") for p in parents.values())

    def line(cid):
        out = []
        while cid is not None:
            out.append(cid)
            cid = parents[cid]
        return out[::-1]

    for cid in parents:  # every candidate: its line's batches are the stream, in order
        seen = np.concatenate([b for c in line(cid) for b in drawn[c]])
        assert np.array_equal(seen, stream[: len(seen)]), cid
        if parents[cid] is not None:  # its first batch is the batch after its parent's last
            before = sum(len(b) for c in line(parents[cid]) for b in drawn[c])
            assert np.array_equal(drawn[cid][0], stream[before: before + BATCH])
    winning = np.concatenate([b for c in line(best.id) + ["final"] for b in drawn[c]])
    assert len(winning) == 96  # final_kimg: 0.096
    assert len(set(winning.tolist())) == min(len(winning), 160)  # no image seen twice along the line


def test_keep_child_equals_its_parent_trained_without_a_break(archive, tmp_path):
    from growgan.growth import build_trainer

    cfg = tiny_search_config(root_widths=[4], max_steps=1, target_resolution=4, p=0.01, max_children=1)
    search = Search(cfg, archive, tmp_path / "run", log=lambda s: None)
    search.run()
    keep = search._load_result("s1c0")
    assert keep.action == {"op": "keep"}
    from growgan.training.checkpoint import load_checkpoint

    saved = load_checkpoint(tmp_path / "run" / "candidates" / "s1c0" / "checkpoint.pt")["state"]
    straight = build_trainer(search._config_for(search._load_result("s0c0")), archive, verbose=False)
    straight.train_until(keep.images_seen)
    assert straight.state.images_seen == keep.images_seen == 32
    for name, t in straight.state.G_ema.state_dict().items():
        assert torch.equal(t, saved["G_ema"][name]), name
    for name, t in straight.state.D.state_dict().items():
        assert torch.equal(t, saved["D"][name]), name
    assert straight.flops == keep.lineage_flops == 2 * keep.flops > 0


def test_progan_is_one_path_through_the_search_space():
    """ProGAN's layer layout (progan-mnist-32: two 3x3 convs per stage, nf = 64, 64, 32 at
    8, 16, 32 px) is reachable: every action of the path is in the space the search samples
    from at its step, under the preset's budget."""
    from growgan.networks.progan import stage_channels
    from growgan.training.presets import get_preset

    pro = get_preset("progan-mnist-32").network["G"]
    nf = stage_channels(4, pro["fmap_base"], pro["fmap_max"], 1.0, None)[1:]  # per stage 4, 8, 16, 32 px
    widths = nf[1:]  # from 8x8 on
    cfg = SearchConfig.from_dict(get_preset("dggan-mnist-32").growth["search"])
    root_w, path = progan_path(widths)
    assert root_w in cfg.root_widths and len(path) <= cfg.max_steps
    spec = settle(initial_spec(width=root_w, base_resolution=(8, 8)))
    for step, action in enumerate(path, start=1):
        parent = Candidate(id="x", parent=None, step=step - 1, action=None, history=[], spec=spec)
        assert action in action_space(spec, cfg)
        forced = [a["op"] for a in propose(parent, step, cfg)]
        assert "keep" in forced or action["op"] == "grow-resolution"  # the deadline never forbids the path
        spec = settle(apply_action(spec, action))
    want = [[{"k": 3, "w": w}, {"k": 3, "w": w}] for w in widths]
    assert spec["G"]["stages"] == want and spec["D"]["stages"] == want


def test_selection_by_fid_classifier(archive, tmp_path):
    """The search can select by fid-classifier (with a classifier file) instead of SWD."""
    from growgan.metrics.classifier import train_classifier

    clf = tmp_path / "clf.pt"
    train_classifier(archive, clf, epochs=1, width=4, log=lambda s: None)
    cfg = tiny_search_config(root_widths=[4, 8], max_steps=0, metric="fid-classifier", classifier=str(clf))
    search = Search(cfg, archive, tmp_path / "run", log=lambda s: None)
    best = search.run()
    cands = [search._load_result(f"s0c{i}") for i in range(2)]
    for c in cands:
        assert c.score == pytest.approx(sum(c.score_by_seed) / 2) and "fid_classifier" in c.scores
        assert c.score == c.scores["fid_classifier"] and "swd" not in c.scores
    assert best.score == min(c.score for c in cands)
