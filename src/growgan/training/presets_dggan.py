"""Presets of this family (filled in by its issue)."""
