"""Fairness post-processing: per-group decision thresholds that even out who gets a "yes".

fairlearn's ThresholdOptimizer (Hardt et al. 2016) around the trained network, as is
(`prefit=True`, through a small scikit-learn estimator wrapper with `predict_proba`): on the
validation split and its groups it picks, for each group, the threshold on the model's
probability of the positive class (possibly a coin flip between two thresholds) that keeps
the most accuracy while meeting the constraint, demographic parity (every group approved at
the same rate) or equalized odds (the same true- and false-positive rates in every group).
The test split is then decided with those thresholds (seeded by the run's seed), through
the loop's `decide` hook: the run's accuracy, confusion matrix and saved predictions are the
mitigated decisions, and the fairness audit keeps the model's own ones as
`before_mitigation`, so its price and what it bought come from the same trained model.

Why not fairlearn's reductions (ExponentiatedGradient, GridSearch)? They retrain the model
once per step of their search (tens of times) with reweighted examples; with our networks
trained by our own loop, that is tens of runs in one: too slow for a run meant to finish in
seconds, and it would change what the run's network is. Post-processing works for every
model and costs one pass over the validation split. No twin run is queued: the before and
after are the same network's decisions, measured in the run itself.

It needs a sensitive attribute (the run's `sensitive` setting or the dataset's own) and a
yes-or-no task (two classes): ThresholdOptimizer decides one positive class per group.
"""
from __future__ import annotations

import numpy as np

from playground.common.content import Lesson, Section, Term, Tile
from playground.common.formatting import percent, points
from playground.data.builtin import DATASETS
from playground.data.catalog import dataset_info, load_dataset
from playground.data.views import class_positions
from playground.training.capabilities import DECISION_RULE, QUANTIZED_COPY, Conflict
from playground.training.techniques.base import Param, PlainChoice, Technique, register

CONSTRAINTS = ("demographic_parity", "equalized_odds")
# Said wherever per-group thresholds decide on a person's own data (the built-in loans story
# says it in its own words).
LEGAL_CAUTION = ("Check the law before using this: thresholds per group use each person's "
                 "group when deciding, which some places forbid (in lending and hiring, "
                 "for example).")
WORDS = {"demographic_parity": "demographic parity", "equalized_odds": "equalized odds"}


def torch_scores(model, device, n_classes: int):
    """A trained torch classifier as scikit-learn sees a fitted one (what fairlearn's
    ThresholdOptimizer with prefit=True asks for): predict_proba / predict on arrays."""
    import torch
    from sklearn.base import BaseEstimator, ClassifierMixin

    class TorchScores(ClassifierMixin, BaseEstimator):
        def __init__(self, model=None, device=None, n_classes: int = 2):
            self.model, self.device, self.n_classes = model, device, n_classes

        def fit(self, X, y):  # never called with prefit=True: our loop trained it
            return self

        def predict_proba(self, X) -> np.ndarray:  # float64: fairlearn mixes in its own
            self.model.eval()
            X = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device)
            with torch.no_grad():
                return torch.cat([self.model(X[i:i + 1024]).float().softmax(1)
                                  for i in range(0, len(X), 1024)]).cpu().double().numpy()

        def predict(self, X) -> np.ndarray:
            return self.predict_proba(X).argmax(axis=1)

    scores = TorchScores(model, device, n_classes)
    scores.classes_ = np.arange(n_classes)  # fitted already: check_is_fitted looks for it
    return scores


@register
class FairnessPostprocessing(Technique):
    name = "fairness"
    title = "Fairness post-processing"
    short_title = "fairness post-processing"
    description = ("After training, picks a decision threshold per group (fairlearn's "
                   "ThresholdOptimizer, fitted on the validation data) so that the groups of "
                   "the sensitive attribute are treated alike: approved at the same rate "
                   "(demographic parity) or with the same error rates (equalized odds). "
                   "Usually costs some accuracy against the historical labels.")
    order = 87  # decides after training (after pruning, before quantization, which it refuses)
    kinds = ("tabular",)  # only tables have a column that names groups
    not_for = {"text": "sentences come without a column that says which group each "
                       "writer belongs to, and the thresholds are set group by group"}
    provides = (DECISION_RULE,)
    conflicts = (Conflict(QUANTIZED_COPY, "the shipped quantized copy would decide without the "
                                          "per-group thresholds"),)
    params = (Param("constraint", "demographic_parity",
                    "Equal approval rates: every group gets a yes at the same rate. Equal "
                    "error rates: every group is wrongly approved and wrongly refused at the "
                    "same rates.",
                    choices=CONSTRAINTS, flag="--fairness", term="fairness_postprocessing",
                    sweep="off, demographic_parity, equalized_odds", label="Fair in what sense",
                    words=(("demographic_parity", "equal approval rates across groups"),
                           ("equalized_odds", "equal error rates across groups"))),)
    plain = PlainChoice(
        "Treat groups fairly", "Fair in what sense?",
        (("equal approval rates across groups", {"constraint": "demographic_parity"}),
         ("equal error rates across groups", {"constraint": "equalized_odds"})),
        cost="Usually agrees a little less with the past decisions it learned from.",
        needs_groups=True, rank=30)

    def check(self, config) -> list[str]:
        info = dataset_info(config.dataset)
        if info.kind != "tabular":
            return []  # the kinds check says it
        if not (config.sensitive or info.default_sensitive):
            known = ", ".join(f"'{c}'" for c in info.sensitive_columns) or "none"
            return [f"{self.title}: needs a column that says which group each example "
                    f"belongs to; pick one under \"Sensitive attribute\" (columns of "
                    f"{config.dataset} that can: {known}), or use the loans data"]
        names = load_dataset(config.dataset, config.seed, config.noise).class_names
        kept = class_positions(config.classes, names) or names
        if len(kept) != 2:
            return [f"{self.title}: needs a yes-or-no task (two classes), but "
                    f"{config.dataset} has {len(kept)} here; keep two under \"Which classes\" "
                    "(e.g. 0,1)"]
        return []

    def decide(self, ctx, probs):
        from fairlearn.postprocessing import ThresholdOptimizer

        data = ctx.data
        missing = sorted(set(data.groups[2]) - set(data.groups[1]))
        if missing:
            raise ValueError(
                f"{self.title}: the group(s) {', '.join(missing)} have no validation examples to "
                "fit their threshold on; pick a sensitive column with larger groups")
        fitted = getattr(self, "fitted", None)  # Explain asks again and again: fit once
        if fitted is not None and fitted[0] is ctx.model:
            optimizer = fitted[1]
        else:
            optimizer = ThresholdOptimizer(
                estimator=torch_scores(ctx.model, ctx.device, data.n_classes),
                constraints=self.s.constraint, objective="accuracy_score",
                predict_method="predict_proba", prefit=True)
            optimizer.fit(data.X_val, data.y_val, sensitive_features=data.groups[1])
            self.fitted, self.fitted_on = (ctx.model, optimizer), len(data.y_val)
        return np.asarray(optimizer.predict(data.X_test, sensitive_features=data.groups[2],
                                            random_state=ctx.config.seed), dtype=np.int64)

    def finalize(self, ctx, metrics) -> None:
        metrics["fairness_postprocessing"] = {
            "constraint": self.s.constraint, "fitted_on": "validation",
            "fitted_examples": getattr(self, "fitted_on", 0),
            "method": "fairlearn ThresholdOptimizer (prefit, objective accuracy)",
            "changed_predictions": int((ctx.y_pred != ctx.plain_pred).sum()),
        }

    terms = (
        Term("fairness_postprocessing", "Fairness post-processing",
             "Changing only where a trained model draws its line, group by group, so the "
             "groups are treated alike; the model itself stays as it is.",
             "The playground uses fairlearn's ThresholdOptimizer: it picks a threshold per "
             "group on the validation data. It needs to know each person's group when "
             "deciding, which some laws forbid; and measured against biased past decisions, "
             "being fairer usually looks like losing accuracy."),
        Term("demographic_parity", "Demographic parity",
             "Every group gets a yes (say, a loan) at the same rate.",
             "The demographic-parity difference is the largest gap in approval rates between "
             "two groups: 0 is parity, 0.2 means one group is approved 20 points more often."),
        Term("equalized_odds", "Equalized odds",
             "Among people who deserve a yes, every group gets it equally often, and among "
             "those who don't, every group is wrongly approved equally often.",
             "The equalized-odds difference is the larger of the gaps in true-positive rate "
             "and false-positive rate between groups: 0 means the model errs alike for all."),
        Term("selection_rate", "Selection rate",
             "The share of a group that gets a yes from the model (the approval rate).",
             "Comparing it across groups is the first thing a fairness audit looks at."),
    )
    lesson = Lesson(
        "Moves the model's decision threshold group by group so that groups are approved at "
        "the same rate, or wrongly refused and approved at the same rates.",
        "A smaller gap between groups against some accuracy measured on past decisions (which "
        "may be the biased ones).",
        "A lender or hiring team whose past decisions, and so its training data, treated one "
        "group worse, and who must show regulators the model does not repeat it.",
        {"dataset": "loans", "model": "mlp", "epochs": 10, "fairness": "demographic_parity"},
        "Compare the per-group approval rates on the run card with the same run without it, "
        "or read the card's before and after.")

    @classmethod
    def label(cls, settings):
        return f"fair ({WORDS.get(settings.get('constraint'), '?')})"

    @classmethod
    def bought(cls, metrics):
        f = metrics.get("fairness") or {}
        before = f.get("before_mitigation")
        if not before or f.get("demographic_parity_difference") is None:
            return None
        odds = (metrics.get("fairness_postprocessing") or {}).get("constraint") == \
            "equalized_odds"
        key, words = (("equalized_odds_difference", "error rates") if odds else
                      ("demographic_parity_difference", "approval rates"))
        return (f"a gap in {words} between groups of {points(f[key] or 0)} (the model "
                f"alone: {points(before[key] or 0)})")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        f = run.metrics.get("fairness") or {}
        before = f.get("before_mitigation")
        if not before:
            return []
        c = (run.config.techniques.get("fairness") or {}).get("constraint", "")
        price = before["accuracy"] - f["accuracy"]
        key = ("demographic_parity_difference" if c == "demographic_parity"
               else "equalized_odds_difference")
        gap_words = ("gap in approval rates" if c == "demographic_parity"
                     else "gap in error rates (equalized odds)")
        if before.get(key) is None or f.get(key) is None:
            return []
        return [f"Fairness post-processing ({WORDS.get(c, c)}) took the {gap_words} between "
                f"groups from {points(before[key])} to {points(f[key])}; it "
                f"{'cost' if price >= 0 else 'added'} {points(price)} of accuracy measured "
                f"against the past decisions ({percent(before['accuracy'])} → "
                f"{percent(f['accuracy'])})."
                + ("" if run.config.dataset in DATASETS else " " + LEGAL_CAUTION)]

    @classmethod
    def result(cls, run):
        f = run.metrics.get("fairness") or {}
        before = f.get("before_mitigation")
        if not before:
            return None
        c = (run.config.techniques.get("fairness") or {}).get("constraint", "")
        table = {
            "Model alone": {
                "Accuracy": percent(before["accuracy"]),
                "Approval-rate gap": points(before["demographic_parity_difference"]),
                "Error-rate gap": points(before["equalized_odds_difference"] or 0)},
            "With per-group thresholds": {
                "Accuracy": percent(f["accuracy"]),
                "Approval-rate gap": points(f["demographic_parity_difference"]),
                "Error-rate gap": points(f["equalized_odds_difference"] or 0)},
        }
        caution = () if run.config.dataset in DATASETS else (LEGAL_CAUTION,)
        return Section(
            lines=(f"**Fairness post-processing** ({WORDS.get(c, c)}): thresholds per group "
                   "fitted on the validation data, applied to the test data.", *caution),
            tiles=(Tile("Accuracy change (its price)",
                        f"{(f['accuracy'] - before['accuracy']) * 100:+.1f} points",
                        "Accuracy with the thresholds minus the model's own, measured against "
                        "the past decisions (the test labels). Negative: what fairness cost."),),
            table=table,
            caption="Gaps are the largest difference between two groups (fairlearn's "
                    "demographic-parity and equalized-odds differences), in points.")
