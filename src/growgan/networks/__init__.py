"""Network families. Every family honours one contract (see `registry`)."""

from growgan.networks.registry import (  # noqa: F401
    Network,
    build_discriminator,
    build_generator,
    build_networks,
    family_names,
    network_spec,
    register_family,
)
