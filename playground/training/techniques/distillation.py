"""Knowledge distillation: a student learns from a finished teacher run's softened outputs.

The teacher's outputs on the training set are computed once, before the first step, so
distillation costs little more than training the student alone. The run card compares
the student with its twin trained without the teacher (same settings and seed).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from models.base import model_info
from playground.common.content import Lesson, Section, Term
from playground.common.formatting import percent, points
from playground.data.catalog import dataset_info
from playground.training.artifacts import load_run
from playground.training.capabilities import (
    BATCH_CHANGE,
    LEARNS_FROM_RUN,
    LOSS_CHANGE,
    NEEDS_LABELS,
)
from playground.training.techniques.base import Param, Technique, finished_twin, register, without

# Lesson "try it" without a finished teacher: the teacher's own setup first.
TEACHER_VALUES = {"dataset": "digits", "model": "cnn", "epochs": 10}


def student_alone(config):
    """The same config without distillation: the twin that shows what the teacher added."""
    return without(config, "distillation")


# "Train a teacher first": a teacher id of this form queues a fresh teacher run (same
# data, seed and epochs, no techniques) and makes the student wait for it.
NEW_TEACHERS = {
    "new-mlp": ("a wide neural network (MLP, 256 wide)", dict(model="mlp", width=256, depth=2)),
    "new-cnn": ("the image network (CNN)", dict(model="cnn")),
    "new-vit": ("a small vision transformer (ViT)", dict(model="vit")),
    # Sentences: the tiny BERT teaches a bag-of-words student (same data and seed, so the
    # same tokenizer and ids).
    "new-bert": ("the tiny BERT (transformer)", dict(model="bert", width=64, depth=2)),
}


def teacher_config(student):
    """The config of the teacher that 'train a teacher first' queues for `student`: same
    data, split, classes and device, no techniques (built as the student's own config
    class). It sees every training example, rare classes included: it is the expert."""
    _, settings = NEW_TEACHERS[student.techniques["distillation"]["teacher"]]
    return type(student)(dataset=student.dataset, seed=student.seed, noise=student.noise,
                         classes=student.classes, device=student.device,
                         epochs=max(student.epochs, 10), batch_size=student.batch_size,
                         lr=model_info(settings["model"]).default_lr, **settings)


def soft_target_loss(student_logits, teacher_logits, temperature: float):
    """Hinton et al. (2015): T² · KL(softmax(teacher / T) ‖ softmax(student / T))."""
    return F.kl_div(F.log_softmax(student_logits / temperature, dim=1),
                    F.softmax(teacher_logits / temperature, dim=1),
                    reduction="batchmean") * temperature ** 2


@register
class Distillation(Technique):
    name = "distillation"
    title = "Knowledge distillation"
    description = ("A small 'student' model learns not only the right answers but also how "
                   "a bigger, finished 'teacher' run spreads its confidence over the classes "
                   "(which wrong answers look plausible). Small models often get closer to "
                   "the teacher this way than on their own.")
    order = 20  # when its hooks run
    short_title = "distillation"
    per_step = frozenset({"on_batch", "loss"})
    provides = (LOSS_CHANGE, LEARNS_FROM_RUN)
    params = (
        Param("teacher", "", "Id of a finished run on the same data (the teacher), or "
              "new-mlp / new-cnn / new-vit / new-bert to train a new teacher first.",
              flag="--distill-from", pick_run=True),
        # Defaults from measurement on digits (BENCHMARKS.md): small students gained most
        # from matching the teacher's plain outputs (T = 1, as in Beyer et al. 2022's
        # "patient and consistent" distillation); higher T cost them accuracy.
        Param("temperature", 1.0, "Softens the teacher's answers; higher shows more of the "
              "runner-up classes.", 1.0, 20.0, flag="--distill-temperature", term="temperature",
              sweep="1, 4, 10"),
        Param("weight", 0.9, "Share of the lesson that comes from the teacher (the rest "
              "from the labels).", 0.0, 1.0, flag="--distill-weight", sweep="0.3, 0.7, 1"),
    )

    @classmethod
    def waits_for(cls, settings):
        teacher = settings.get("teacher")
        return teacher if teacher and teacher not in NEW_TEACHERS else None

    @classmethod
    def label(cls, settings):
        return "distilled"

    @classmethod
    def new_run_choices(cls, param, dataset_kind):
        if param != "teacher":
            return {}
        return {k: f"Train a teacher first: {title}" for k, (title, settings)
                in NEW_TEACHERS.items() if dataset_kind in model_info(settings["model"]).kinds}

    @classmethod
    def prerequisites(cls, config):
        teacher = config.techniques["distillation"].get("teacher")
        return [("teacher", teacher_config(config))] if teacher in NEW_TEACHERS else []

    @classmethod
    def companions(cls, config):
        return [student_alone(config)]

    def check(self, config) -> list[str]:
        if not self.s.teacher:
            return [f"{self.title}: pick the teacher, a finished run to learn from "
                    "(python -m playground runs lists them), or one of "
                    f"{', '.join(NEW_TEACHERS)} to train a new teacher first"]
        if self.s.teacher in NEW_TEACHERS:
            model = NEW_TEACHERS[self.s.teacher][1]["model"]
            kind = dataset_info(config.dataset).kind
            if kind not in model_info(model).kinds:
                fits = [k for k, (_, s) in NEW_TEACHERS.items()
                        if kind in model_info(s["model"]).kinds]
                return [f"{self.title}: the teacher {self.s.teacher} is a {model}, which "
                        f"does not work on {kind} data; use {' or '.join(fits)} or a "
                        "finished run"]
        return []

    def _teacher_run(self, ctx):
        store = ctx.store  # the run store the run belongs to (train(..., store=))
        if store is None:
            raise ValueError("distillation needs the run store to find its teacher: train "
                             "with train(config, store=...)")
        run = store.get(self.s.teacher)
        problem = None
        if run is None:
            problem = "no run has this id"
        elif run.status != "finished":
            problem = f"that run is {run.status}, not finished"
        elif (run.config.dataset, run.config.seed, run.config.noise) != (
                ctx.config.dataset, ctx.config.seed, ctx.config.noise):
            problem = ("it was trained on other data or another split; the teacher needs the "
                       "same dataset, seed and noise")
        elif run.metrics.get("class_names", ctx.data.class_names) != ctx.data.class_names:
            problem = ("it answers other classes; the teacher needs the same classes (set "
                       "its classes setting to the student's)")
        if problem:
            raise ValueError(f"distillation.teacher {self.s.teacher!r}: {problem}")
        return store, run

    def on_model(self, ctx) -> None:
        store, run = self._teacher_run(ctx)
        teacher = load_run(store, run.id).model.to(ctx.device)
        # Changed batches (augmented or attacked copies) differ from the stored inputs, so
        # the teacher has to see what the student sees; otherwise its outputs are computed
        # once.
        self.live_teacher = teacher if ctx.provides(BATCH_CHANGE, besides=self) else None
        with torch.no_grad():  # once: the teacher never changes
            self.teacher_logits = torch.cat([teacher(ctx.X[i:i + 1024])
                                             for i in range(0, ctx.n, 1024)])
            # The teacher's side of the KL term is fixed per example: work it out once.
            t = self.s.temperature
            log_p = F.log_softmax(self.teacher_logits / t, dim=1)
            self.teacher_p = log_p.exp()
            self.teacher_neg_entropy = (self.teacher_p * log_p).sum(1)
            # At T = 1 both halves of the loss use the student's log_softmax(z), so
            #   w·KL(p ‖ s) + (1 - w)·CE(y, s) = CE(q, s) + w·Σ p log p,
            #   q = w·p + (1 - w)·onehot(y):
            # one cross-entropy against per-example soft targets, made here once. The
            # loop's own cross-entropy then is the distillation loss (see on_batch).
            # (A loss that weighs the labels, class weights', needs them apart.)
            self.fused = (self.live_teacher is None and t == 1.0
                          and not any(NEEDS_LABELS in o.needs for o in ctx.techniques))
            if self.fused:
                w = self.s.weight
                self.targets = (w * self.teacher_p
                                + (1 - w) * F.one_hot(ctx.y, ctx.data.n_classes).float())
                self.offset = w * self.teacher_neg_entropy
            test = torch.from_numpy(ctx.data.X_test).to(ctx.device)
            self.teacher_test_pred = teacher(test).argmax(1).cpu().numpy()
        self.teacher_accuracy = run.metrics.get("accuracy")
        self.store = store

    def on_batch(self, ctx, xb, yb):
        if self.fused:  # the blended soft targets in place of the labels
            return xb, self.targets[ctx.batch_idx]
        return xb, yb

    def loss(self, ctx, logits, xb, yb, loss):
        if self.fused:  # `loss` is already CE(q, s); add the constant w·Σ p log p
            return loss + self.offset[ctx.batch_idx].mean()
        # `loss` is the usual cross-entropy against the labels (or mixup's blended labels).
        t = self.s.temperature
        if self.live_teacher is not None:
            with torch.no_grad():
                teacher_logits = self.live_teacher(xb)
            soft = soft_target_loss(logits, teacher_logits, t)
        else:  # the same T²·KL, with the teacher's half precomputed
            idx = ctx.batch_idx
            cross = (self.teacher_p[idx] * F.log_softmax(logits / t, dim=1)).sum(1)
            soft = (self.teacher_neg_entropy[idx] - cross).mean() * t * t
        return self.s.weight * soft + (1 - self.s.weight) * loss

    def finalize(self, ctx, metrics) -> None:
        twin = finished_twin(self.store, student_alone(ctx.config))
        metrics.update({
            "teacher_run_id": self.s.teacher,
            "teacher_accuracy": self.teacher_accuracy,
            "teacher_agreement": float((self.teacher_test_pred == ctx.y_pred).mean()),
            "baseline_run_id": twin.id if twin else None,
            "baseline_accuracy": twin.metrics["accuracy"] if twin else None,
        })

    terms = (
        Term("distillation", "Knowledge distillation",
             "A small 'student' model learns from a bigger 'teacher' model's answers, "
             "including how sure the teacher was about each class, not only from the labels.",
             "The teacher's doubts (this 4 looks a bit like a 9) carry information the labels "
             "lack, so students often beat the same small model trained alone. The run card "
             "compares the student with that twin."),
        Term("temperature", "Temperature (distillation)",
             "Softens the teacher's answers so the runner-up classes show: higher shows more "
             "of them."),
    )
    lesson = Lesson(
        "A small 'student' model learns from a bigger, finished 'teacher' model's answers, "
        "including how sure the teacher was, not only from the labels.",
        "A small, fast model with much of a big model's accuracy, against first training "
        "(and keeping) the big teacher.",
        "A company with a big, accurate model that is too slow or costly to serve, which "
        "trains a small one to imitate it (as the compact versions of large language models "
        "are made).",
        # Measured (BENCHMARKS.md): on digits the teacher helps this student where it
        # labels the turned and shifted copies augmentation makes; on the plain pictures
        # its answers are nearly the labels themselves.
        {"dataset": "digits", "model": "mlp", "epochs": 20, "width": 16, "depth": 1,
         "augment": 1.0},
        "The run card compares the student with the same small model trained alone (queued "
        "for you). Both practise on turned and shifted copies of the digits; the teacher "
        "labels each copy for its student. Honest note: on these tiny pictures the student "
        "does as well with no copies and no teacher; the teacher wins back what the copies "
        "cost it.")

    @classmethod
    def try_it(cls, finished_runs):
        """The lesson's student, with the most accurate finished run on its data (and the
        default split) as teacher; with none, the teacher's setup first."""
        values = dict(cls.lesson.try_values)
        def default(run, field):  # the student starts from the default split
            return type(run.config).model_fields[field].default

        teachers = [r for r in finished_runs
                    if r.config.dataset == values["dataset"] and "accuracy" in r.metrics
                    and r.config.seed == default(r, "seed")
                    and r.config.noise == default(r, "noise")]
        if not teachers:
            return (dict(TEACHER_VALUES),
                    "Distillation needs a teacher first. This opens Train with the teacher "
                    "(a small image network on the digits): train it, and once it has "
                    "finished, press this button again for the student.")
        best = max(teachers, key=lambda r: r.metrics["accuracy"])
        values["distill_from"] = best.id
        return (values, f"The teacher is run {best.id} ({best.metrics['accuracy']:.1%} "
                        "accurate), your most accurate finished run on the digits.")

    @classmethod
    def _agreement(cls, m) -> str:
        return (f"The student agrees with its teacher (run {m['teacher_run_id']}, "
                f"{percent(m['teacher_accuracy'])}) on {m['teacher_agreement']:.0%} of the "
                "test examples.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        m = run.metrics
        if "teacher_agreement" not in m:
            return []
        line = cls._agreement(m)
        twin = baseline if baseline is not None and set(run.config.techniques) - set(
            baseline.config.techniques) == {"distillation"} else None
        if twin is None and m.get("baseline_accuracy") is not None:
            diff = m["accuracy"] - m["baseline_accuracy"]
            line += (f" Trained alone (run {m['baseline_run_id']}) it scored "
                     f"{percent(m['baseline_accuracy'])}: the teacher "
                     f"{'added' if diff >= 0 else 'cost'} {points(diff)}.")
        elif twin is None:
            line += " Its twin trained without the teacher has not finished yet."
        return [line]

    @classmethod
    def result(cls, run):
        m = run.metrics
        if "teacher_agreement" not in m:
            return None
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
        return Section(lines=(line,))
