"""growgan: train, grow and evaluate generative adversarial networks with PyTorch."""

__version__ = "0.1.0"
