"""File formats named on the command line, kept free of heavy imports so that the parser
(`growgan --help`) can list them without importing torch (tests/test_cli_imports.py)."""

EXPORT_FORMATS = ("torchscript", "onnx", "safetensors")  # growgan export --format (growgan.training.export)
EXPORT_SUFFIXES = {".pt": "torchscript", ".onnx": "onnx", ".safetensors": "safetensors"}  # --out suffix -> format
GRID_SUFFIXES = (".png", ".jpg", ".jpeg")  # growgan generate --out: one grid image (else a folder of PNGs)
VIDEO_FORMATS = (".gif", ".mp4")  # growgan interpolate --out suffixes (growgan.training.walk)
