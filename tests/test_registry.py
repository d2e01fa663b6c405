import pytest

from growgan.errors import GrowganError
from growgan.networks import build_generator


def test_misspelled_spec_key_is_a_one_line_error_naming_it():
    spec = {"family": "dcgan", "G": {"z_dim": 8, "img_channels": 1, "img_resolution": 32, "g_chanels": 8}, "D": {}}
    with pytest.raises(GrowganError, match="g_chanels"):
        build_generator(spec)
