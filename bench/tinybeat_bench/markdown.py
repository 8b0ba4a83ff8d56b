"""results.md: the report's prose and tables, from a Report."""

from __future__ import annotations

from tinybeat_bench.report import Report, fmt_int, kernel_table, main_table, scaling_table, table


def header(rep: Report) -> list[str]:
    i, b = rep.info, rep.info.board
    n_front = len([r for r in rep.main if r.engine == "tinybeat"]) - 1
    cd, cn = rep.same_trees
    e = i.energy
    energy = (f"- Energy per inference = {e['supply_v']:g} V x {e['icc_ma']:g} mA x cycles / {b.f_cpu / 1e6:g} MHz "
              f"= {e['nj_per_cycle']:.2f} nJ per cycle. Source: {e['source']} to {b.f_cpu / 1e6:g} MHz: "
              f"{e['icc_ma']:g} mA." if e.get("icc_ma") else f"- Energy: {e['source']}.")
    return [
        f"# tinybeat vs emlearn on the {b.mcu} (board `{b.id}`)", "",
        f"Produced by `{i.command}` on {i.date} ({i.elapsed_s:.0f} s on {i.host['cpus']} cores)."
        + (" **Quick run (--quick): fewer models; not the reference numbers.**" if i.quick else ""), "",
        f"- Data: `{i.data['train']}` for training, `{i.data['test']}` for every metric ({i.data['test_beats']} test "
        f"beats, {i.data['test_abnormal']} abnormal); AUC and accuracy on the full test split, cycles on "
        f"{i.data['beats_on_device']} evenly spaced test beats run on the simulated board (simavr `avr-vboard`, "
        f"board `{b.id}`: {b.mcu} at {b.f_cpu / 1e6:g} MHz, {fmt_int(b.flash_bytes)} B flash, {b.ram_bytes} B SRAM, "
        f"from its PlatformIO manifest).",
        f"- Ours: `model/trained.json` (fingerprint `{i.trained['fingerprint'][:16]}`); the model chosen for "
        f"`{b.id}` is **{rep.ours.name}**, plus {n_front} other points of its Pareto front."
        + (" **model/trained.json changed during this run: numbers may be stale.**"
           if i.trained["changed_during_run"] else ""),
        f"- Peers: emlearn {i.emlearn_version} (`pip install emlearn=={i.emlearn_version}`), trained on the same "
        f"training split with scikit-learn; RandomForest uses tinybeat's own forest settings (max_features=sqrt, "
        f"min_samples_leaf=5, seed {i.seed})"
        + (f", so `emlearn RF d{cd}x{cn}` runs **the very trees of {rep.ours.name}** (checked node by node)."
           if rep.same_as_chosen else "."),
        f"- Everything is compiled by {i.avr_gcc} with the firmware's flags `{' '.join(i.avr_gcc_flags)}`.",
        energy, ""]


def verdict_lines(rep: Report) -> list[str]:
    v, ours, b = rep.verdict, rep.ours, rep.info.board
    lines: list[str] = []

    def one(title: str, c: dict | None) -> None:
        if c is None:
            lines.append(f"- {title}: no emlearn model qualifies.")
            return
        ok = lambda flag: "ours at least as good" if flag else "ours WORSE"  # noqa: E731
        lines.append(
            f"- {title}: **{c['peer']}** — AUC {c['peer_auc']:.4f} vs ours {c['ours_auc']:.4f} "
            f"({ok(c['auc_at_least_as_good'])}), accuracy {100 * c['peer_accuracy']:.1f} % vs "
            f"{100 * c['ours_accuracy']:.1f} % ({ok(c['accuracy_at_least_as_good'])}), cycles "
            f"{fmt_int(c['peer_cycles'])} vs {fmt_int(c['ours_cycles'])} "
            f"({'ours faster' if c['faster'] else 'ours SLOWER'}, peer/ours = {c['cycles_ratio_peer_over_ours']:.2f})"
            + ("" if c["peer_fits_project_budget"] else
               "; note: it does not fit the project budget (board less the config reserves)") + ".")

    one(f"Most accurate (AUC) emlearn model that fits the {b.mcu}", v["best_auc_fitting_board"])
    one(f"Most accurate (accuracy) emlearn model that fits the {b.mcu}", v["best_accuracy_fitting_board"])
    one(f"Most accurate emlearn model within our chosen model's own footprint (flash ≤ {fmt_int(ours.flash_total)} B, "
        f"RAM ≤ {fmt_int(ours.ram_total)} B)", v["best_auc_within_our_footprint"])
    one("Fastest emlearn model that fits", v["fastest_fitting_board"])
    best = v["best_auc_fitting_board"]
    if best:
        ok = best["auc_at_least_as_good"] and best["accuracy_at_least_as_good"] and best["faster"]
        lines.insert(0, f"**Is our chosen model ({ours.name}) at least as accurate as the best emlearn peer that "
                        f"fits the same flash and RAM, and faster?** {'Yes.' if ok else 'No.'}")
    return lines


def same_section(rep: Report) -> list[str]:
    cd, cn = rep.same_trees
    ee = ("Our kernels: `tb_trees_score` (complete trees, every level of every tree: nodes visited = depth x trees) "
          "and `tb_etree_score` (preorder byte streams: `early exit` stops each path at its leaf, nodes visited = "
          "mean path length over the measured beats from the Python reference; `etree complete` is its padded "
          "layout, with int16 leaves like ours or, `int8`, 8-bit leaves).")
    return ["", f"## Same trees, every engine: random forest depth {cd} x {cn} trees", "",
            "One scikit-learn forest (fitted on the bytes; for float features the identical forest fitted on x/255), "
            "run by each of tinybeat's tree kernels and by emlearn's generated code. This isolates the engine: "
            "differences in AUC come only from the leaf representation (tinybeat: int16 probabilities; emlearn: "
            "majority vote, or 8-bit class proportions for `soft`) and from emlearn's int16 threshold truncation. "
            + ee, ""] + kernel_table(rep.same)


def gbt_section(rep: Report) -> list[str]:
    if not rep.gbt:
        return []
    same = ("the very trees of the front entry (checked: identical integer model)" if rep.gbt_same_as_entry
            else "refitted with the entry's settings (NOT identical to the saved entry)")
    return ["", f"## Gradient boosting: {rep.gbt_entry}", "",
            f"One scikit-learn HistGradientBoostingClassifier, {same}, through our tree kernels; the scikit-learn row "
            "is the float model on the host (no device), to show what the integer conversion costs. Classes here are "
            "score > 0 (probability > 0.5) for every row, so float and integer compare; the main table applies the "
            "entry's decision threshold from model/trained.json instead. "
            f"**emlearn has no boosted trees**: emlearn {rep.info.emlearn_version}'s `emlearn.convert` supports "
            "RandomForest, ExtraTrees and DecisionTree (classifier and regressor) only "
            f"(`emlearn.trees.SUPPORTED_ESTIMATORS`); given this model it raises `{rep.emlearn_gbt}`, so there is "
            "no emlearn row.", ""] + kernel_table(rep.gbt)


def limits_section(rep: Report) -> list[str]:
    lim, br = rep.tree_limits, rep.mlp_boundary
    by_h = ", ".join(f"{k}: {v['static_ram']} B{'' if v['links'] else ' (link fails)'}" for k, v in br["by_hidden"].items())
    stack = (f"{br['stack_measured_at_largest']} B measured" if br.get("stack_measured_at_largest")
             else f"{br['stack_assumed']} B assumed")
    L = ["", "## Where models stop fitting", "",
         f"- **emlearn float MLP** (`eml_net`, the 'loadable' method emlearn uses by default for MLPClassifier): weights "
         f"and biases are `static const float` arrays, which avr-gcc keeps in SRAM (.data: no PROGMEM), plus two "
         f"{rep.info.n_inputs}-float activation buffers (.bss). Each hidden unit costs "
         f"{br.get('bytes_per_hidden_unit') or '~780'} B of SRAM. The largest hidden layer that fits is "
         f"**{br['largest_fitting_hidden']} units** (static RAM + stack ({stack}) ≤ {br['ram_limit']} B); "
         f"**{br['first_not_fitting_hidden']} units does not fit** (the link fails: `.bss` not within region `data`). "
         f"With the project's {rep.info.ram_reserve} B RAM reserve for the firmware the limit would be "
         f"{br.get('project_model_ram_limit')} B. Static RAM by hidden units: {by_h}."]
    for s, x in lim.items():
        if s == "tinybeat":
            continue
        if x.get("largest_fitting") is None:
            L.append(f"- **{s} random forest**, depth {x['depth']}: even {x.get('at_least')} trees fit the flash.")
            continue
        probes = ", ".join(f"{k} trees {fmt_int(v) + ' B' if v else 'link fails'}" for k, v in x["flash_by_trees"].items())
        L.append(f"- **{s} random forest** (the trees become inline if/else code in flash), depth {x['depth']}: "
                 f"**{x['largest_fitting']} trees fit, {x['first_not_fitting']} do not** (program flash > "
                 f"{fmt_int(x['flash_limit'])} B; probes: {probes}).")
    t = lim.get("tinybeat")
    if t:
        L.append(f"- **tinybeat random forest** (`tb_trees_score`), depth {t['depth']}: **{t['largest_working']} trees "
                 f"work, {t['first_failing']} do not** (at {t['first_failing']}: {t['first_failing_result']}). The kernel reads the model with "
                 f"`pgm_read_byte/word` (16-bit addresses, lib/tinybeat/tb_flash.h), so its arrays must lie in the "
                 f"first 64 KB of flash, and avr-gcc accepts no array over 32767 B; at {t['largest_working']} trees the "
                 f"arrays take {fmt_int(t['model_array_bytes_at_largest'])} B.")
    return L


NOTES = [
    "", "## Notes on semantics", "",
    "- emlearn trees compare `x < threshold`; scikit-learn's threshold is a midpoint such as 127.5. With float "
    "features emlearn prints it as `%.6f` (exact here); with int16 features it truncates it to 127, so `x < 127` "
    "replaces scikit-learn's `x <= 127.5`: values equal to the threshold go the other way. *sklearn agreement* in "
    "results.json shows how often each emlearn model predicts the same class as the scikit-learn model it came from "
    "(majority vote instead of averaged probabilities also counts).",
    "- emlearn's default leaf representation is a majority vote (the class); its probability is votes/trees, "
    "coarse, which lowers AUC. `soft` rows use `leaf_bits=8` (class proportions), like tinybeat's probability leaves.",
    "- Classes: tinybeat predicts class 1 when the integer score is above the decision threshold stored with each "
    "front entry in model/trained.json (0 when absent), as the firmware does; emlearn predicts with its own rule "
    "(majority / argmax, i.e. probability above 0.5). AUC does not depend on either.",
    "- Float features: the device converts its input bytes with `(float)x * (1.0f/255.0f)` (soft-float on AVR); that "
    "conversion is included in emlearn's cycles and shown separately in results.json. int16 features take the "
    "bytes as they are.",
    "- Nodes visited: emlearn's from the numpy emulation of its generated code, tinybeat's early exit from "
    "`early_exit.nodes_visited`, both on the measured beats; the complete kernel always visits depth x trees.",
    "- tinybeat cycles come from `tinybeat.device.measure.measure` (bench/firmware/cycles_main.c) and, for the "
    "early-exit kernel, from `tinybeat.device.etree_measure.measure_avr` (bench/firmware/etree_cycles_main.c); both check bit-exact "
    "scores against the Python reference. emlearn cycles come from bench/firmware/emlearn_main.c with the same "
    "Timer1 method (tbavr), the same inputs and flags.", ""]


def markdown(rep: Report) -> str:
    """results.md."""
    i, b = rep.info, rep.info.board
    L = header(rep) + [
        "## Results", "",
        "Ratios are against our chosen model (bold); cycles and energy per beat are medians. emlearn cycles = "
        f"converting the {i.n_inputs} input bytes to emlearn's feature type + `<model>_predict()` (the class), and the "
        "next column shows `<model>_predict()` alone; `predict_proba` costs are in results.json. tinybeat's cycles "
        "are one `tb_model_score()` call on the input bytes.", ""]
    L += main_table(rep.main, b)
    L += ["", "Columns: *model bytes* = the model itself in flash (tinybeat: its arrays and descriptor; emlearn: the "
          "generated tree code or weight arrays, from `avr-nm`); *flash total* = .text + .data of the smallest "
          "application around the model (`bench/firmware/size_main.c`: UART in, model, UART out; the same app with "
          f"no model is {fmt_int(i.empty_app['flash'])} B), with the growth over that empty app in brackets; *static "
          f"RAM* = .data + .bss of that app (the empty app: {i.empty_app['static_ram']} B, its {i.n_inputs}-byte input "
          "buffer included); *stack* = painted-stack high-water mark of the cycle run (harness included); "
          f"*fits {b.id}* = flash total ≤ {fmt_int(b.flash_bytes)} B and static RAM + stack ≤ {b.ram_bytes} B; "
          "*device = Python* = the simulated MCU's class and probability agree with the numpy model used for the "
          "test metrics on every measured beat.", "", "## Verdict", ""]
    L += verdict_lines(rep) + same_section(rep) + gbt_section(rep)
    if "nodes" in rep.plots:
        L += ["", "## Cycles against nodes visited", "",
              "Every tree model measured above (the identical forest, the boosted model, the scaling sweep), its "
              "median cycles against the mean number of internal nodes it visits per inference: the slope is each "
              f"kernel's cost per node. ![cycles vs nodes]({rep.plots['nodes']})", "",
              "Least-squares line per kernel over those points (cycles of the model call alone; emlearn's without "
              "the input conversion):", ""]
        L += table(["kernel", "points", "cycles per node visited", "intercept (cycles)", "largest deviation"],
                   [[c["kernel"], str(c["points"]), f"{c['cycles_per_node']:.1f}", fmt_int(c["intercept"]),
                     f"{c['max_abs_residual_pct']:.0f} %"] for c in rep.node_costs])
    L += limits_section(rep)
    L += ["", "## Cost against model size", "",
          "The same random forests (trained on the bytes; for emlearn float on x/255, the identical trees) through "
          f"every engine, {i.data['beats_on_device_scaling']} beats per point. ![scaling]({rep.plots.get('scaling', '')})",
          ""]
    L += scaling_table(sorted(rep.scaling, key=lambda r: (r.series, r.depth, r.n_trees)))
    L += NOTES
    return "\n".join(L) + "\n"
