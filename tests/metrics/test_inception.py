"""FID Inception-v3: the reference's layer shapes and outputs, and loading its weight names."""

from __future__ import annotations

import pytest
import torch

from growgan.errors import GrowganError
from growgan.metrics.inception import WEIGHTS_NAME, FIDInceptionV3, find_weights, load_inception

# Shapes of pytorch-fid's state dict (torchvision's Inception3 with 1008 classes, no aux head).
REFERENCE_SHAPES = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_1a_3x3.bn.running_var": (32,),
    "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
    "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
    "Mixed_5d.branch5x5_2.conv.weight": (64, 48, 5, 5),
    "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
    "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
    "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
    "Mixed_7a.branch3x3_2.conv.weight": (320, 192, 3, 3),
    "Mixed_7b.branch3x3dbl_1.conv.weight": (448, 1280, 1, 1),
    "Mixed_7c.branch3x3_2b.conv.weight": (384, 384, 3, 1),
    "Mixed_7c.branch_pool.conv.weight": (192, 2048, 1, 1),
    "fc.weight": (1008, 2048),
    "fc.bias": (1008,),
}


@pytest.fixture(scope="module")
def net() -> FIDInceptionV3:
    torch.manual_seed(0)
    return FIDInceptionV3().eval()


def test_parameter_names_and_shapes_match_the_reference(net):
    sd = net.state_dict()
    for name, shape in REFERENCE_SHAPES.items():
        assert tuple(sd[name].shape) == shape, name
    assert not any("AuxLogits" in k for k in sd)
    assert all(m.eps == 0.001 for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_outputs_and_batch_independence(net):
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = net(x)
        single = net(x[:1])
    assert out["pool"].shape == (2, 2048) and out["logits"].shape == (2, 1008)
    assert (out["pool"] >= 0).all()  # average of ReLU outputs
    torch.testing.assert_close(single["pool"], out["pool"][:1], atol=1e-4, rtol=1e-4)


def test_preprocess_range_and_grayscale():
    gray = torch.tensor([[[[0, 255], [255, 0]]]], dtype=torch.uint8)
    x = FIDInceptionV3.preprocess(gray)
    assert x.shape == (1, 3, 299, 299)
    assert x.min() == -1 and x.max() == 1
    torch.testing.assert_close(x, FIDInceptionV3.preprocess(gray.repeat(1, 3, 1, 1)))


def test_loads_a_reference_named_state_dict(net, tmp_path, monkeypatch):
    path = tmp_path / WEIGHTS_NAME
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}  # as in the file
    torch.save(state, path)
    loaded = load_inception(path)
    for k, v in state.items():
        assert torch.equal(loaded.state_dict()[k], v), k
    monkeypatch.setenv("GROWGAN_INCEPTION_WEIGHTS", str(path))
    assert find_weights(None) == path
    bad = tmp_path / "bad.pth"
    torch.save({k: v for k, v in state.items() if not k.startswith("fc.")}, bad)
    with pytest.raises(GrowganError, match="not the FID Inception weights"):
        load_inception(bad)


def test_missing_weights_say_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("GROWGAN_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("GROWGAN_NO_DOWNLOAD", "1")
    with pytest.raises(GrowganError) as err:
        find_weights(None, cache_dir=tmp_path)
    msg = str(err.value)
    assert WEIGHTS_NAME in msg and str(tmp_path / WEIGHTS_NAME) in msg and "\n" not in msg
    with pytest.raises(GrowganError, match="not found"):
        find_weights(tmp_path / "nope.pth")
