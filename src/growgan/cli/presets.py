"""`growgan presets`: every named preset with its family, resolution and purpose (read from
the presets themselves, `growgan.training.presets.preset_table`).

    growgan presets
    growgan train --preset NAME --show-keys      # every config key of one preset
"""

from __future__ import annotations


def register(subparsers) -> None:
    """Add `growgan presets` to the `growgan` parser."""
    p = subparsers.add_parser("presets", help="list the training presets (name, family, resolution, purpose)")
    p.set_defaults(func=cmd_presets)


def cmd_presets(args) -> int:
    from growgan.training.presets import preset_table

    rows = preset_table()
    w = [max(len(r[i]) for r in rows + [("preset", "family", "resolution", "")]) for i in range(3)]
    print(f"{'preset':<{w[0]}}  {'family':<{w[1]}}  {'resolution':<{w[2]}}  purpose")
    for name, family, res, purpose in rows:
        print(f"{name:<{w[0]}}  {family:<{w[1]}}  {res:<{w[2]}}  {purpose}")
    print("# growgan train --preset NAME --show-keys lists a preset's config keys; `from data`: the archive's size")
    return 0
