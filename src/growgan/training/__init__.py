"""The training engine (issue 3): one loop for every growgan model.

- `config.TrainConfig`, `parse_config`, `config_keys` (+ `growth_config`, `resolve.resolve_config`,
  `presets`: `get_preset`, `register_preset`) - what a run is, parsed strictly
- `state.TrainState`, `GrowthState`, `set_alpha`, the `Growth` protocol (+ `build_state`,
  `clone_state`, `state_to_dict`) - what changes
- `loop.Trainer(config, data, state=None, run_dir=None, make_growth=None, evaluator=None)
  .train_until(images_seen)`; `growgan.growth.build_trainer` supplies the plug-ins
- `task.Task` - the contract between what is trained (a task: its data, batches, D/G steps,
  grids, metrics, own state) and the engine; `task_generation` (the zoo, `config.task` null),
  `task_pix2pix`; `task_config` (the `task` section); `translate` (`growgan translate`)
- `step.StepRunner` - one D step / one G step with the configured losses and penalties
- `checkpoint` - save/load (spec + state dicts, weights_only), `load_generator`
- `ema`, `amp`, `distributed` (torchrun), `rundir` (run folders, logging, `append_metric`)
Submodules are imported on demand so `import growgan.training` stays cheap.
"""
