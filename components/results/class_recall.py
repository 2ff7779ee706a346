"""How often the model found each class (recall), shown when the training classes were
imbalanced: accuracy alone hides a rare class the model never finds."""
from __future__ import annotations

import streamlit as st

from playground.common import escape
from playground.common.formatting import percent
from playground.runs.store import Run
from playground.training.metrics import imbalance_ratio, imbalanced


def recall_tile(run: Run, col) -> None:
    """The tile beside accuracy: the rare classes' recall, or the worst class's."""
    m = run.metrics
    recall = m.get("recall_by_class")
    if not recall or not imbalanced(m):
        return
    if m.get("rare_recall") is not None:
        col.metric("Rare classes found", percent(m["rare_recall"]),
                   help="Recall of the rare classes: of their test examples, the share the "
                        f"model found (mean over {', '.join(m['rare_classes'])}). Accuracy "
                        "counts every test example, so it can look fine while these fail.")
        return
    names = m.get("class_names") or []
    worst = min(range(len(recall)), key=lambda c: recall[c])
    col.metric("Worst class found", percent(recall[worst]),
               help=f"Recall of class {escape.md(names[worst]) if names else worst}, the class the "
                    "model found least often; its training classes were imbalanced.")


def class_recall(run: Run) -> None:
    """Per-class recall with the training examples each class had, when imbalanced."""
    m = run.metrics
    recall, names = m.get("recall_by_class"), m.get("class_names")
    if not recall or not names or not imbalanced(m):
        return
    counts = m.get("train_class_counts") or [None] * len(names)
    rare = set(m.get("rare_classes") or [])
    ratio = imbalance_ratio(counts) if None not in counts else None
    with st.expander("Each class: how often the model found it (recall)",
                     expanded=bool(rare)):
        st.dataframe(
            {"class": [f"{n} (rare)" if n in rare else n for n in names],
             "training examples": counts, "found (recall)": [100 * r for r in recall]},
            hide_index=True, width="stretch",
            column_config={"found (recall)": st.column_config.ProgressColumn(
                "found (recall)", format="%.0f%%", min_value=0.0, max_value=100.0)})
        st.caption(
            "Recall: of a class's test examples, the share the model got right. The classes "
            + (f"had very different numbers of training examples (the largest "
               f"{ratio:.0f}× the smallest)" if ratio and ratio != float("inf") else
               "had very different numbers of training examples")
            + "; the test set keeps them all, so a rare class the model ignores shows here, "
              "not in accuracy.")
