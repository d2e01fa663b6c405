"""The training engine (issue 3): one loop for every growgan model.

- `config.TrainConfig` (+ `presets`: `get_preset`, `register_preset`) - what a run is
- `state.TrainState` (+ `build_state`, `clone_state`, `state_to_dict`) - what changes
- `loop.Trainer(config, data, state=None, run_dir=None).train_until(images_seen)`
- `step.StepRunner` - one D step / one G step with the configured losses and penalties
- `checkpoint` - save/load (spec + state dicts, weights_only), `load_generator`
- `ema`, `amp`, `distributed` (torchrun), `rundir` (run folders and logging)
- `cli` - `growgan train`, `growgan generate`
Submodules are imported on demand so `import growgan.training` stays cheap.
"""
