"""tinybeat's bench against emlearn, in small modules (bench/run_bench.py is the one command).

- `toolchain`: avr-gcc with the firmware's flags for a board, the simulated board, the size probe;
- `data`: the bench's data and the scikit-learn fits both engines share;
- `ours`: tinybeat's kernels measured on the simulated MCU (tinybeat.device.measure);
- `emlearn_adapter`: emlearn's generated C, its semantics in numpy, measured the same way;
- `rows`: one measured model (`Row`) and the board-fit and energy rules;
- `sweep`: which models are measured (the jobs) and the fit boundaries;
- `verdict`, `report`, `plots`: results.md and the PNGs from a `Report`.
"""
