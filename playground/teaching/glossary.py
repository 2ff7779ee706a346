"""The glossary: every word the playground uses, in plain language (pure data).

The Learn page shows it with one anchor per term; every control's help text ends with the
term's one-line meaning and a link to it (`glossary_help`), so nobody has to leave the page
to understand a knob.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    key: str  # the anchor: /learn#glossary-<key>
    name: str
    short: str  # one sentence, shown in help tooltips
    more: str = ""  # a few more sentences, shown on the Learn page


TERMS: tuple[Term, ...] = (
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
    # -- techniques -------------------------------------------------------------------------
    Term("dropout", "Dropout",
         "While training, randomly switches off a share of the neurons at every step, so the "
         "model can't lean on any single one.",
         "It usually narrows the gap between training and test accuracy. Too much slows "
         "learning down. Nothing is switched off when the model is used."),
    Term("augmentation", "Data augmentation",
         "Training on slightly changed copies of the examples (a digit turned a little, a "
         "measurement with some noise), so the model learns what matters.",
         "It helps most when data is scarce. For tables the playground adds noise and mixup "
         "(blending two examples and their labels)."),
    Term("weight_decay", "Weight decay (L2)",
         "A small pull of every weight towards zero at every step, which favours simpler "
         "models."),
    Term("early_stopping", "Early stopping",
         "Stop training once the validation loss has not improved for a few epochs, and keep "
         "the best weights seen.",
         "It saves time and stops the model before it starts memorising."),
    Term("lr_schedule", "Learning-rate schedule",
         "Changing the learning rate while training: here big steps first, then smaller ones "
         "(a cosine curve) to settle precisely."),
    Term("pruning", "Pruning",
         "Setting the smallest weights to exactly zero after training, then optionally "
         "training a little more to win back accuracy.",
         "Zeros compress well and special hardware can skip them, so pruned models can be "
         "smaller and faster; the dense file saved here keeps its size."),
    Term("sparsity", "Sparsity",
         "The share of weights that are exactly zero."),
    Term("quantization", "Quantization",
         "Storing a trained model's numbers with fewer bits, e.g. 8-bit whole numbers instead "
         "of 32-bit decimals: smaller, often faster, sometimes a little less accurate.",
         "int8 keeps 256 levels per weight (about 4× smaller than float32); half precision "
         "(fp16 / bf16) keeps 16 bits. The run card shows size, speed and accuracy before "
         "and after, and how many predictions changed."),
    Term("int8", "int8",
         "Whole numbers from -128 to 127: one byte per number instead of four."),
    Term("half_precision", "Half precision (fp16, bf16)",
         "16-bit decimal numbers: half the size of the usual 32-bit ones; fast on GPUs."),
    Term("mixed_precision", "Mixed precision",
         "Training with 16-bit numbers for most of the arithmetic while the weights stay "
         "32-bit: faster and lighter on a GPU, usually with the same accuracy.",
         "fp16 has a narrow range, so the loss is scaled up before the gradients are "
         "computed (loss scaling) to keep small values from vanishing; bf16 keeps 32-bit's "
         "range and needs no scaling."),
    Term("distillation", "Knowledge distillation",
         "A small 'student' model learns from a bigger 'teacher' model's answers, including "
         "how sure the teacher was about each class, not only from the labels.",
         "The teacher's doubts (this 4 looks a bit like a 9) carry information the labels "
         "lack, so students often beat the same small model trained alone. The run card "
         "compares the student with that twin."),
    Term("temperature", "Temperature (distillation)",
         "Softens the teacher's answers so the runner-up classes show: higher shows more of "
         "them."),
    Term("differential_privacy", "Differential privacy (DP-SGD)",
         "Training so that the model reveals almost nothing about any one person in the "
         "data: each example's influence is capped and random noise hides the rest.",
         "DP-SGD clips every example's gradient to a maximum size and adds Gaussian noise to "
         "each step. Opacus does the work here and counts the privacy spent. Privacy usually "
         "costs some accuracy and time."),
    Term("epsilon", "ε (epsilon, privacy budget)",
         "How much the model may reveal about any one person: smaller is more private.",
         "Formally, whether or not one person's data was used changes the chance of any "
         "outcome by at most a factor of e^ε (plus δ). Below 1 is strong, 1–10 is the usual "
         "range in practice, above 10 is loose. It grows with every epoch trained."),
    Term("delta", "δ (delta)",
         "The small chance that the ε guarantee does not hold; it should be well below one "
         "divided by the number of people in the data."),
    Term("clipping", "Clipping (max gradient norm)",
         "The cap on how much any single example may move the model in one step; the noise "
         "is scaled to it."),
    Term("noise_multiplier", "Noise multiplier",
         "How much random noise DP-SGD adds, relative to the clipping cap: more noise, "
         "smaller ε, usually lower accuracy."),
    Term("accountant", "Privacy accountant",
         "The bookkeeping that turns noise, batch size and steps into ε (Opacus' PRV or RDP "
         "accountant)."),
    # -- explanations -----------------------------------------------------------------------
    Term("lime", "LIME",
         "Explains one prediction by nudging the input many times and fitting a simple model "
         "to how the answer changes nearby.",
         "It needs no access to the model's insides, so it also works on quantized models."),
    Term("shap", "SHAP",
         "Splits one prediction fairly among the input features (Shapley values from game "
         "theory): the parts add up to the prediction minus the average prediction."),
    Term("integrated_gradients", "Integrated Gradients",
         "Explains a prediction by following the model's gradients on a path from a blank "
         "input to the real one; the attributions add up to the change in output.",
         "It needs gradients, so it explains the float model, not an int8 one."),
    Term("saliency", "Saliency",
         "Highlights the inputs whose small changes would move the prediction most (the "
         "gradient's size)."),
    Term("occlusion", "Occlusion",
         "Covers parts of the input one at a time and measures how much the prediction drops."),
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

_BY_KEY = {t.key: t for t in TERMS}

# Which term explains which control (run settings and technique switches).
CONTROL_TERMS = {
    "dataset": "dataset", "model": "model", "epochs": "epoch", "lr": "learning_rate",
    "batch_size": "batch_size", "seed": "seed", "width": "width_depth",
    "depth": "width_depth", "noise": "noise_data", "train_fraction": "train_fraction",
    "target": "target",
}
TECHNIQUE_TERMS = {
    "dropout": "dropout", "augmentation": "augmentation", "weight_decay": "weight_decay",
    "early_stopping": "early_stopping", "lr_schedule": "lr_schedule", "pruning": "pruning",
    "quantization": "quantization", "distillation": "distillation",
    "dp": "differential_privacy", "mixed_precision": "mixed_precision",
}
PARAM_TERMS = {
    ("dp", "noise_multiplier"): "noise_multiplier", ("dp", "max_grad_norm"): "clipping",
    ("dp", "target_epsilon"): "epsilon", ("dp", "delta"): "delta",
    ("dp", "accountant"): "accountant", ("distillation", "temperature"): "temperature",
    ("pruning", "amount"): "sparsity", ("quantization", "mode"): "int8",
    ("mixed_precision", "dtype"): "half_precision",
}


def term(key: str) -> Term:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no glossary term {key!r}; known: {', '.join(_BY_KEY)}") from None


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
    key = PARAM_TERMS.get((technique, param)) or TECHNIQUE_TERMS.get(technique)
    return glossary_help(text, key)
