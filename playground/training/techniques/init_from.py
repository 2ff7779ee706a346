"""Transfer learning: a run starts from a finished run's trained weights, not random ones.

The source run must be the same model family with the same size (width, depth) on inputs of
the same shape. When the two runs' classes differ (digits 0-4, then 5-9), the output layer
(the family's `head`, see models/base.py) starts fresh and every other layer starts from the
source; with the same classes, every weight does. With `freeze_features` only the output
layer trains: the rest keeps the source's weights (requires_grad off, so the optimizer and
DP-SGD's clipping leave them alone). The run card compares the run with its twin trained
from scratch (same settings and seed, queued with it).
"""
from __future__ import annotations

from safetensors.torch import load_file

from models.base import head_name, model_info
from playground.common.content import Lesson, Section, Term, Tile
from playground.common.formatting import percent, points
from playground.common.paths import WEIGHTS_FILE
from playground.data.views import TOKENIZER_RUNS, run_coder, run_data
from playground.training.artifacts import load_run
from playground.training.capabilities import LEARNS_FROM_RUN, PRETRAINS_ENCODER, ZEROES_WEIGHTS
from playground.training.techniques.base import (
    TECHNIQUES,
    Param,
    Technique,
    finished_twin,
    register,
    without,
)

# Lesson "try it" without a finished source: the source's own setup first.
SOURCE_VALUES = {"dataset": "digits", "model": "cnn", "epochs": 10, "classes": "0-4"}
TARGET_VALUES = {"dataset": "digits", "model": "cnn", "epochs": 10, "classes": "5-9",
                 "train_fraction": 0.05}


def from_scratch(config):
    """The same config without the head start: the twin that shows what it was worth."""
    return without(config, "init_from")


def _in_head(name: str, head: str) -> bool:
    return name == head or name.startswith(head + ".")


def _classes(names) -> str:
    return ", ".join(map(str, names))


def pretrained(run) -> bool:
    """Whether a run is a pretraining run (an encoder with no classes)."""
    return any(n in TECHNIQUES and PRETRAINS_ENCODER in TECHNIQUES.get(n).provides
               for n in run.config.techniques)


@register
class InitFrom(Technique):
    name = "init_from"
    title = "Transfer learning (start from a finished run)"
    short_title = "the head start"
    description = ("Starts from the weights a finished run learned instead of random ones, "
                   "so what it learned about the inputs (strokes, edges, useful patterns) "
                   "carries over. When the classes differ, only the last layer, which names "
                   "the classes, starts fresh. Often worth a lot when there is little data.")
    order = 5  # first: the weights are in place before any other technique touches the model
    provides = (LEARNS_FROM_RUN,)
    kinds = ("image", "tabular", "points", "text")
    params = (
        Param("run", "", "Id of a finished run to start from: the same model family and "
              "size, on inputs of the same shape (its classes may differ).",
              flag="--init-from", pick_run=True),
        Param("freeze_features", False, "Train only the output layer; every other layer "
              "keeps the finished run's weights (a fixed feature extractor).",
              flag="--freeze-features", term="frozen_layers"),
    )

    @classmethod
    def waits_for(cls, settings):
        return settings.get("run") or None

    @classmethod
    def label(cls, settings):
        return f"from run {settings.get('run')}" + (
            ", frozen" if settings.get("freeze_features") else "")

    @classmethod
    def companions(cls, config):
        return [from_scratch(config)]

    together = {
        ZEROES_WEIGHTS: "Pruning also zeroes weights in the frozen layers, and only the layers "
                   "that train can make up for it in its fine-tuning epochs.",
    }

    def check(self, config) -> list[str]:
        if not self.s.run:
            return ["init_from.run: give the id of a finished run to start from (python -m "
                    "playground runs lists them)"]
        return []

    # -- the hooks ---------------------------------------------------------------------------

    def _source(self, ctx):
        """The finished source run, or ValueError naming what does not fit."""
        store = ctx.store
        if store is None:
            raise ValueError("init_from needs the run store to find the run to start from: "
                             "train with train(config, store=...)")
        where = f"init_from.run {self.s.run!r}"
        run = store.get(self.s.run)
        if run is None:
            raise ValueError(f"{where}: no run has this id (python -m playground runs lists "
                             "them)")
        if run.status != "finished":
            raise ValueError(f"{where}: that run is {run.status}, not finished; only a "
                             "finished run has weights to start from")
        mine, theirs = ctx.config, run.config
        if theirs.model != mine.model:
            raise ValueError(
                f"{where}: that run is a {model_info(theirs.model).title}, this one a "
                f"{model_info(mine.model).title}; start from a run of the same model family")
        if model_info(mine.model).uses_width_depth and (theirs.width, theirs.depth) != (
                mine.width, mine.depth):
            raise ValueError(
                f"{where}: that run's model has width {theirs.width} and depth "
                f"{theirs.depth}, this one width {mine.width} and depth {mine.depth}; give "
                "this run the same width and depth")
        if pretrained(run):
            if ctx.data.texts is None:
                raise ValueError(f"{where}: that run learnt from sentences; this one's data "
                                 f"({mine.dataset}) has none to read")
            coder = run_coder(run.id, store.home)
            if coder is None:
                raise ValueError(f"{where}: that pretraining run's tokenizer is missing from "
                                 "its folder; without it its word pieces mean nothing")
            if ctx.data.coder is None or ctx.data.coder.to_json() != coder.to_json():
                # run_data reads the tokenizer from this process's data folder; another
                # folder (a remote node without the run's files) would read other pieces.
                raise ValueError(f"{where}: this run could not read its sentences with that "
                                 "run's tokenizer here; train it where that run's folder is")
            return store, run
        shape = run_data(theirs).input_shape
        if tuple(shape) != tuple(ctx.data.input_shape):
            raise ValueError(
                f"{where}: that run's inputs are shaped {tuple(shape)} ({theirs.dataset}), "
                f"this run's {tuple(ctx.data.input_shape)} ({mine.dataset}); start from a run "
                "on inputs of the same shape")
        return store, run

    def on_model(self, ctx) -> None:
        store, run = self._source(ctx)
        model = ctx.model
        head = head_name(ctx.config.model, model)
        self.head = head
        self.pretrained = pretrained(run)
        if self.pretrained:
            self._load_encoder(store, run, model)
        else:
            source = load_run(store, run.id)
            self.replaced = list(source.data.class_names) != list(ctx.data.class_names)
            weights = {k: v for k, v in source.model.state_dict().items()
                       if not (self.replaced and _in_head(k, head))}
            missing, unexpected = model.load_state_dict(weights, strict=False)
            if unexpected or any(not _in_head(k, head) for k in missing):
                raise ValueError(f"init_from.run {run.id!r}: its weights do not fit this "
                                 f"model (missing {missing}, unexpected {unexpected})")
            self.source_classes = list(source.data.class_names)
        # A fresh head starts at zero, as Dosovitskiy et al. (2021) fine-tune ViTs: every
        # class starts equally likely, however large the reused features are. Measured
        # (digits 0-4 -> 5-9, 5% of the data, CNN, seeds 0-4): 84% on average, against 73%
        # with a randomly initialised head, whose first answers were wildly confident.
        if self.replaced:
            for name, p in model.named_parameters():
                if _in_head(name, head):
                    p.data.zero_()
        if self.s.freeze_features:
            for name, p in model.named_parameters():
                if not _in_head(name, head):
                    p.requires_grad_(False)
        self.trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        self.source = run

    def _load_encoder(self, store, run, model) -> None:
        """A pretraining run's encoder, tensor for tensor (the run's data view reads the
        sentences with its tokenizer, so the word embeddings mean the same pieces). What it
        lacks, the layers that name classes, starts fresh."""
        weights = load_file(str(store.artifact_dir(run.id) / WEIGHTS_FILE))
        own = model.state_dict()
        encoder = {k: v for k, v in weights.items() if k in own}
        wrong = [k for k, v in encoder.items() if v.shape != own[k].shape]
        if not encoder or wrong:
            raise ValueError(f"init_from.run {run.id!r}: its encoder does not fit this model"
                             + (f" (differently shaped: {', '.join(wrong)})" if wrong else ""))
        model.load_state_dict(encoder, strict=False)
        self.replaced = True  # a pretraining run names no classes
        self.fresh = sorted({k.rsplit(".", 1)[0] for k in own if k not in encoder})
        self.source_classes = []

    def finalize(self, ctx, metrics) -> None:
        twin = finished_twin(ctx.store, from_scratch(ctx.config))
        m = self.source.metrics
        metrics["transfer"] = {
            "source_run_id": self.source.id,
            "source_accuracy": m.get("accuracy"),
            "source_train_seconds": m.get("train_seconds"),
            "source_classes": self.source_classes,
            "pretrained": self.pretrained,
            "head": self.head,
            "head_replaced": self.replaced,
            "frozen": bool(self.s.freeze_features),
            "trainable_params": self.trainable,
            "baseline_run_id": twin.id if twin else None,
            "baseline_accuracy": twin.metrics["accuracy"] if twin else None,
            "baseline_train_seconds": twin.metrics.get("train_seconds") if twin else None,
        }

    # -- what people read --------------------------------------------------------------------

    terms = (
        Term("transfer_learning", "Transfer learning",
             "Starting a new model from the weights of one already trained on a related task, "
             "instead of from random numbers.",
             "What the first model learned about its inputs (strokes, edges, shapes) is "
             "often useful for the new task, so the new model needs far less data. When the "
             "classes differ, the last layer (the one that names the classes) starts fresh. "
             "The run card compares it with the same model trained from scratch."),
        Term("fine_tuning", "Fine-tuning",
             "Training a model that starts from another model's weights a little further, on "
             "the new task's data.",
             "Every layer may still change (unlike frozen layers), usually only a little: the "
             "starting point is already good."),
        Term("frozen_layers", "Frozen layers (feature extractor)",
             "Layers whose weights are kept as they are while the rest of the model trains.",
             "Freezing everything but the output layer turns the trained model into a fixed "
             "feature extractor: only the last layer learns to name the new classes from the "
             "features the old model computes. Fewer numbers train, so it is faster and "
             "needs less data, but the features can't adapt to the new task."),
    )
    lesson = Lesson(
        "Starts a new model from the weights of one you already trained on related data, "
        "instead of from random numbers.",
        "Much better accuracy from little data, against first training (and keeping) the "
        "earlier model; the earlier task must resemble the new one, or the head start is "
        "worth little.",
        "A company that trained a model on one product line and needs one for a new line "
        "with only a few labelled examples (as nearly every image and language model today "
        "starts from a large pretrained one).",
        dict(TARGET_VALUES),
        "The run card compares it with the same model trained from scratch on the same "
        "examples (queued for you). The story 'Reuse what you learned' runs the whole "
        "experiment.")

    @classmethod
    def try_it(cls, finished_runs):
        """Digits 5-9 from 5% of the data, starting from the most accurate finished CNN on
        other digits; with none, that source run's setup first."""
        sources = [r for r in finished_runs if r.config.dataset == "digits"
                   and r.config.model == "cnn" and r.config.classes not in ("", "5-9")
                   and "accuracy" in r.metrics]
        if not sources:
            return (dict(SOURCE_VALUES),
                    "Transfer learning needs a finished run to start from. This opens Train "
                    "with one: an image network learning the digits 0 to 4. Train it, and "
                    "once it has finished, press this button again: the new run learns 5 to "
                    "9 from 5% of their examples, starting from it.")
        best = max(sources, key=lambda r: r.metrics["accuracy"])
        return (dict(TARGET_VALUES, init_from=best.id),
                f"The head start is run {best.id} (classes {best.config.classes}, "
                f"{best.metrics['accuracy']:.1%} accurate).")

    @classmethod
    def bought(cls, metrics):
        t = metrics.get("transfer")
        if not t or not t["frozen"]:
            return None
        return (f"training only the output layer ({t['trainable_params']:,} of "
                f"{metrics['params']:,} learned numbers)")

    @classmethod
    def _start(cls, t) -> str:
        if t.get("pretrained"):
            return (f"It started from run {t['source_run_id']}'s encoder, pretrained by "
                    f"guessing hidden words in unlabelled sentences (it guessed "
                    f"{percent(t['source_accuracy'])} of them), reading the sentences with "
                    "its word pieces; the layers that name the classes started fresh"
                    + (", and only they trained." if t["frozen"] else "."))
        line = (f"It started from run {t['source_run_id']}'s trained weights "
                f"({percent(t['source_accuracy'])} accurate on classes "
                f"{_classes(t['source_classes'])})")
        if t["head_replaced"]:
            line += "; its output layer started fresh, as these classes differ"
        if t["frozen"]:
            line += ", and only that layer trained: the others stayed frozen"
        return line + "."

    @classmethod
    def story(cls, run, baseline=None, told=False):
        t = run.metrics.get("transfer")
        if not t:
            return []
        line = cls._start(t)
        twin = baseline is not None and set(run.config.techniques) - set(
            baseline.config.techniques) == {"init_from"}
        if not twin and t.get("baseline_accuracy") is not None:
            diff = run.metrics["accuracy"] - t["baseline_accuracy"]
            line += (f" From scratch (run {t['baseline_run_id']}, same settings and seed) "
                     f"it scored {percent(t['baseline_accuracy'])}: the head start "
                     f"{'added' if diff >= 0 else 'cost'} {points(diff)}.")
        elif not twin:
            line += " Its twin trained from scratch has not finished yet."
        return [line]

    @classmethod
    def result(cls, run):
        t = run.metrics.get("transfer")
        if not t:
            return None
        m, base = run.metrics, t.get("baseline_accuracy")
        data = (f", on {run.config.train_fraction:.0%} of the training data"
                if run.config.train_fraction < 1 else "")
        line = (f"**Transfer learning**: starting from run `{t['source_run_id']}`'s weights: "
                f"{percent(m['accuracy'])}")
        if base is None:
            line += f"{data}. Its twin trained from scratch has not finished yet."
        else:
            line += (f" vs {percent(base)} from scratch (run `{t['baseline_run_id']}`, same "
                     f"settings and seed){data}.")
        tiles = [Tile("From the head start", percent(m["accuracy"]))]
        if base is not None:
            tiles.append(Tile("From scratch", percent(base)))
        seconds, twin_seconds = m.get("train_seconds"), t.get("baseline_train_seconds")
        if seconds is not None:
            tiles.append(Tile(
                "Training time", f"{seconds:.1f} s" + (
                    f" vs {twin_seconds:.1f} s" if twin_seconds is not None else ""),
                "This run, against its twin from scratch."))
        notes = [cls._start(t)]
        if t.get("source_train_seconds") is not None:
            notes.append(f"The price of the head start: training run {t['source_run_id']} "
                         f"first took {t['source_train_seconds']:.1f} s.")
        return Section(lines=(line,), tiles=tuple(tiles), notes=tuple(notes))


@TOKENIZER_RUNS.register(InitFrom.name)
def _source_tokenizer(config) -> str | None:
    """A run started from another reads its sentences with that run's tokenizer, when it
    kept one (a pretraining run): its embeddings mean those word pieces."""
    return (config.techniques.get(InitFrom.name) or {}).get("run") or None
