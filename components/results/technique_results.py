"""What each switched-on technique bought and cost, in numbers and in words."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.base.format import human_bytes, percent
from playground.runs.store import Run


def _quantization(q: dict, m: dict) -> None:
    if "skipped" in q:
        st.warning(f"Quantization to {q['mode']} was skipped: {q['skipped']}.")
        return
    ratio = q["size_bytes"] / max(1, q["float_size_bytes"])
    st.markdown(f"**Quantization ({q['mode']})**: {ratio:.0%} of the original size; "
                f"{q['changed_predictions']} of {m['test_examples']} test predictions changed.")
    table = pd.DataFrame({
        "original (float32)": [human_bytes(q["float_size_bytes"]), f"{m['latency_ms']:.3f} ms",
                               f"{m.get('latency_ms_batch256', 0):.2f} ms",
                               percent(m["accuracy"])],
        f"quantized ({q['mode']}, {q['device']})": [
            human_bytes(q["size_bytes"]), f"{q['latency_ms']:.3f} ms",
            f"{q['latency_ms_batch256']:.2f} ms", percent(q["accuracy"])],
    }, index=["saved weights", "latency, one example", "latency, 256 examples", "accuracy"])
    st.table(table)
    if q.get("method"):
        st.caption(f"How: {q['method']}.")


def _dp(m: dict) -> None:
    cols = st.columns(3)
    cols[0].metric("Privacy budget ε", f"{m['epsilon']:.2f}",
                   help="Differential privacy's ε, counted by Opacus' accountant "
                        f"({m['accountant'].upper()}). Smaller means more private.")
    cols[1].metric("δ", f"{m['delta']:.1e}",
                   help="The small chance the ε guarantee does not hold (1 / examples).")
    cols[2].metric("Noise multiplier", f"{m['noise_multiplier']:.2f}")
    st.markdown(f"ε = {m['epsilon']:.2f} means **{m['epsilon_meaning']}**.")
    if m.get("dp_layer_changes"):
        st.info("To train privately, these layers were swapped for compatible ones: "
                + "; ".join(m["dp_layer_changes"]))


def technique_results(run: Run) -> None:
    m, techniques = run.metrics, run.config.techniques
    if not techniques:
        return
    if "dp" in techniques and "epsilon" in m:
        _dp(m)
    if "quantized" in m:
        _quantization(m["quantized"], m)
    if "sparsity" in m:
        p = m["pruning"]
        st.markdown(f"**Pruning**: {m['sparsity']:.0%} of the weights are now exactly zero. "
                    f"Validation accuracy {percent(p['val_accuracy_before'])} before pruning, "
                    f"{percent(p['val_accuracy_pruned'])} right after"
                    + (f", then {p['fine_tune_epochs']} epochs of fine-tuning."
                       if p["fine_tune_epochs"] else "."))
    if "teacher_agreement" in m:
        base = m.get("baseline_accuracy")
        line = (f"**Distillation** from run `{m['teacher_run_id']}` (teacher accuracy "
                f"{percent(m['teacher_accuracy'])}): the student agrees with the teacher on "
                f"{m['teacher_agreement']:.0%} of the test examples.")
        if base is not None:
            diff = (m["accuracy"] - base) * 100
            line += (f" Trained alone (run `{m['baseline_run_id']}`, same seed) it scored "
                     f"{percent(base)}: the teacher {'added' if diff >= 0 else 'cost'} "
                     f"{abs(diff):.1f} points.")
        else:
            line += " Its twin trained without the teacher has not finished yet."
        st.markdown(line)
    for note in ("dp_note", "augmentation_note"):
        if m.get(note):
            st.info(m[note])
    if "early_stopping" in techniques:
        stopped = m.get("stopped_epoch")
        st.markdown("**Early stopping**: " + (
            f"stopped after epoch {stopped}; kept the weights of epoch {m['best_epoch']}."
            if stopped else f"never triggered; kept the weights of epoch {m['best_epoch']}."))
