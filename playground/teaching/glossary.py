"""The glossary: every word the playground uses, in plain language (pure data).

The Learn page shows it with one anchor per term; every control's help text ends with the
term's one-line meaning and a link to it (`glossary_help`), so nobody has to leave the page
to understand a knob. The words of the techniques and of the explanation methods come with
them (their `terms`, in their own files); the rest are here.
"""
from __future__ import annotations

from functools import cache

from playground.common.content import Term
from playground.explain.methods import all_terms as explanation_terms
from playground.training.techniques import all_techniques, technique_class

GENERAL: tuple[Term, ...] = (
    # -- results --------------------------------------------------------------------------
    Term("accuracy", "Accuracy",
         "The share of test examples the model got right.",
         "Measured on the test split, which the model never saw while training. Accuracy can "
         "flatter a model when one class is much more common: always answering 'benign' on a "
         "table that is 63 % benign already scores 63 %. Compare it with that guessing level."),
    Term("f1", "F1 score (macro F1)",
         "A score from 0 to 1 that punishes both missed cases and false alarms, averaged so "
         "every class counts equally, even rare ones.",
         "For each class, F1 combines precision (of the examples the model put in this class, "
         "how many belong there) and recall (of the examples that belong there, how many it "
         "found). Macro F1 averages the classes, so a model that ignores a rare class gets a "
         "low F1 even when its accuracy looks high."),
    Term("recall", "Recall (per class)",
         "Of the test examples that belong to a class, the share the model found.",
         "Accuracy averages over every example, so a class with few examples can be missed "
         "almost every time while accuracy still looks good. Each class's recall shows it: "
         "a fraud detector with 98 % accuracy that finds 10 % of the frauds is no good."),
    Term("confusion_matrix", "Confusion matrix",
         "A table of counts: rows are the true class, columns what the model said; the "
         "diagonal holds the right answers.",
         "Anything off the diagonal is a mistake, and where it sits tells which classes the "
         "model mixes up (a 4 read as a 9, a malignant tumour called benign). Two models with "
         "the same accuracy can make very different mistakes."),
    Term("baseline", "Baseline",
         "The run to compare against: the same settings without the technique being tried.",
         "The story on each run card compares with the closest finished baseline, so a "
         "difference in accuracy, size or time can be put down to the technique."),
    Term("parameters", "Parameters (weights)",
         "The numbers a model learns; more of them can capture more, and cost memory and time.",
         "A logistic regression on 30 measurements has 62 of them; the small image network "
         "has tens of thousands."),
    Term("latency", "Latency",
         "How long the model takes to answer for one example.",
         "Measured here as the median of many repeats on the training device, after a "
         "warm-up. Phones and web services care about it as much as about accuracy."),
    Term("size", "Model size",
         "The bytes of the saved weights file: what a phone would have to download and keep "
         "in memory."),
    # -- training ---------------------------------------------------------------------------
    Term("epoch", "Epoch",
         "One pass of the model over all the training examples.",
         "More epochs let the model learn more, take longer, and past some point make it "
         "memorise the training examples (overfitting)."),
    Term("learning_rate", "Learning rate",
         "How big a step the model takes each time it corrects itself.",
         "Too small and it learns slowly; too large and it overshoots and jumps around "
         "without settling. A schedule can start large and end small."),
    Term("batch_size", "Batch size",
         "How many examples the model looks at before each correction.",
         "Small batches give many noisy steps; large ones fewer, steadier steps. With privacy "
         "noise, it also decides how much each step's noise is diluted."),
    Term("seed", "Seed",
         "A number that fixes every random choice (how the data is split, the starting "
         "weights), so the same settings give the same run.",
         "Change it to see how much of a result is luck."),
    Term("dataset", "Dataset",
         "The examples a model learns from, each with its answer (its class): pictures, rows "
         "of a table or points.",
         "The playground ships small ones (digits, breast cancer, wine, generated 2-D "
         "shapes) and takes your own on the Your data page: a CSV table or a ZIP of "
         "pictures with one folder per class."),
    Term("split", "Training, validation and test data",
         "The examples are split 60 / 20 / 20: the model learns from the first, is watched "
         "on the second while training, and is graded once on the third.",
         "Keeping the test data unseen is what makes accuracy an honest guess of how the "
         "model will do on new data. Scaling and filling of missing values are fitted on the "
         "training data only, for the same reason."),
    Term("loss", "Loss",
         "The number training tries to push down: how wrong and how unsure the model is.",
         "Accuracy only counts right and wrong; loss also counts confidence, so it keeps "
         "moving when accuracy stands still."),
    Term("overfitting", "Overfitting",
         "Memorising the training examples instead of learning patterns that carry over: high "
         "accuracy on training data, lower on new data.",
         "The gap between training and validation accuracy measures it. Dropout, data "
         "augmentation, weight decay, early stopping and more data all narrow the gap."),
    Term("underfitting", "Underfitting",
         "A model too simple or trained too briefly to capture the pattern: low accuracy "
         "everywhere.",
         "More epochs, a larger learning rate or a bigger model help."),
    Term("model", "Model",
         "The kind of program being trained: from a straight-line rule (logistic regression) "
         "to a small neural network, an image network (CNN) or a tiny Vision Transformer."),
    Term("width_depth", "Width and depth",
         "Width is how many neurons a layer has; depth how many layers are stacked. Bigger "
         "learns more and costs more."),
    Term("noise_data", "Noise (2-D data)",
         "How much the generated points are scattered; more noise blurs the shapes and makes "
         "them harder to separate."),
    Term("train_fraction", "Share of training data",
         "Train on only part of the training examples to see what scarce data does; the "
         "validation and test data stay whole so scores remain comparable."),
    Term("classes", "Classes kept",
         "Train on only some of the dataset's classes (for example the digits 0 to 4); the "
         "others leave the training, validation and test data alike."),
    Term("imbalance", "Rare classes (imbalance)",
         "Some classes keep only a small share of their training examples, as fraud or a "
         "rare disease do in real data; validation and test stay as they are.",
         "A model can then score high accuracy while missing nearly every rare case: look "
         "at each class's recall, not only at accuracy."),
    Term("sensitive", "Sensitive attribute",
         "A column such as an age band or a group that decisions should not treat unfairly; "
         "the run's accuracy and decisions are reported group by group."),
    Term("leave_out", "Leave out of the model",
         "Columns the model never sees. A column left out can still name the groups the "
         "fairness check compares.",
         "Leaving a column such as gender out does not always close a gap between groups: "
         "other columns (a postcode, an income band) can stand in for it. The check then "
         "shows whether it did."),
    # -- attacks ----------------------------------------------------------------------------
    Term("membership_inference", "Membership inference",
         "An attack that guesses whether a given record (a customer, a patient) was in a "
         "model's training data, from how the model answers on it.",
         "Models tend to be more sure, and less wrong, on examples they trained on. The "
         "playground attacks every finished run this way (the Adversarial Robustness "
         "Toolbox) and reports how often the attacker was right; 50 % is a coin toss. "
         "Differential privacy puts a ceiling on every such attack, set by ε."),
    Term("fgsm", "FGSM (fast gradient sign method)",
         "An attack that changes every pixel or feature by the same small amount, in the "
         "direction that raises the model's error most, in one step.",
         "Quick and crude: a first test of how easily a model is fooled."),
    Term("pgd", "PGD (projected gradient descent)",
         "An attack that takes several smaller FGSM-like steps, pulling the input back "
         "within the allowed distance after each one.",
         "Stronger than FGSM at the same strength, so accuracy under PGD is the number to "
         "trust when asking how robust a model is."),
    Term("robustness", "Robustness",
         "How well a model keeps its answers when someone changes the input a little on "
         "purpose (an adversarial example).",
         "The playground measures accuracy under FGSM and PGD at the run's attack strength; "
         "adversarial training raises it."),
    Term("attack_strength", "Attack strength",
         "How far the attacker may move each pixel (on a 0 to 1 scale) or each standardised "
         "feature: 0.1 is a tenth of the way from black to white.",
         "Small enough and a person sees no difference; the question is whether the model "
         "does."),
    # -- your own data ----------------------------------------------------------------------
    Term("target", "Target column",
         "The column the model should learn to predict (the label); every other column is "
         "an input."),
    Term("one_hot", "One-hot encoding",
         "Turning a category column (city = Paris, Lyon, Nice) into 0/1 columns, one per "
         "category, so the model does not read an order into names.",
         "Columns with many categories get numbered codes instead (ordinal encoding); that "
         "imposes an alphabetical order that means nothing, so treat those with care."),
    Term("missing_values", "Missing values",
         "Empty cells. Missing numbers are filled with the median of the training rows; a "
         "missing category becomes a category of its own."),
    Term("class_balance", "Class balance",
         "How many examples each class has. A rare class is harder to learn and easy to "
         "ignore; watch macro F1 and the confusion matrix."),
)

def terms() -> tuple[Term, ...]:
    """Every term: the general ones, each explanation method's, then each technique's, in
    the order of the loop."""
    return GENERAL + explanation_terms() + tuple(t for cls in all_techniques() for t in cls.terms)


@cache
def _by_key(techniques: int) -> dict[str, Term]:  # (cached per number of techniques)
    return {t.key: t for t in terms()}


# Which term explains which control of a run's settings (technique switches: the technique's
# first term, or its setting's own).
CONTROL_TERMS = {
    "dataset": "dataset", "model": "model", "epochs": "epoch", "lr": "learning_rate",
    "batch_size": "batch_size", "seed": "seed", "width": "width_depth",
    "depth": "width_depth", "noise": "noise_data", "train_fraction": "train_fraction",
    "target": "target", "attack_strength": "attack_strength", "classes": "classes",
    "imbalance": "imbalance", "rare_classes": "imbalance", "sensitive": "sensitive",
    "leave_out": "leave_out",
}


def technique_term(technique: str, param: str | None = None) -> str | None:
    """The glossary key that explains a technique's switch or one of its settings."""
    cls = technique_class(technique)
    setting = next((p for p in cls.params if p.name == param), None)
    if setting is not None and setting.term:
        return setting.term
    return cls.terms[0].key if cls.terms else None


def term(key: str) -> Term:
    try:
        return _by_key(len(all_techniques()))[key]
    except KeyError:
        raise KeyError(f"no glossary term {key!r}; known: "
                       f"{', '.join(t.key for t in terms())}") from None


def anchor(key: str) -> str:
    return f"glossary-{key.replace('_', '-')}"


def link(key: str) -> str:
    """The Learn page's glossary entry (relative, so it works under any base URL)."""
    return f"learn#{anchor(key)}"


def glossary_help(text: str, key: str | None) -> str:
    """A control's help text followed by the term's meaning and a link to the glossary."""
    if not key:
        return text
    t = term(key)
    return (f"{text.strip()}\n\n**{t.name}**: {t.short}\n\n"
            f"More: Learn → Glossary → [{t.name}]({link(key)})")


def control_help(control: str, text: str) -> str:
    return glossary_help(text, CONTROL_TERMS.get(control))


def technique_help(technique: str, text: str, param: str | None = None) -> str:
    return glossary_help(text, technique_term(technique, param))
