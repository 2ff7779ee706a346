"""Masked-word pretraining: instead of learning the dataset's classes, the tiny BERT reads
unlabelled sentences and learns to guess words hidden from it. The finished run is a
starting point: another run fine-tunes it on labelled sentences (transfer learning, "Start
from a finished run"), reading them with this run's tokenizer.

It swaps the run's objective, so it replaces the whole training (training/pretraining.py)
rather than hooking into the classification loop, and it runs alone.
"""
from __future__ import annotations

from models.base import model_info
from models.masked import MaskedWordBert
from playground.common.content import Lesson, Section, Term, Tile
from playground.common.escape import md
from playground.common.formatting import percent
from playground.data.catalog import dataset_exists, dataset_info
from playground.training import pretraining
from playground.training.capabilities import PRETRAINS_ENCODER
from playground.training.techniques.base import Param, Technique, register

# The one model with an encoder to pretrain (models/masked.py shares its config).
PRETRAINED_MODEL = "bert"


def corpus_names(config, also: str) -> list[str]:
    """The run's dataset, then the other text datasets named, each once."""
    names = [config.dataset] + [n.strip() for n in (also or "").split(",") if n.strip()]
    return list(dict.fromkeys(names))


@register
class MaskedWords(Technique):
    name = "masked_words"
    title = "Masked-word pretraining"
    short_title = "masked-word pretraining"
    description = ("Teaches the tiny BERT the language before any labels: it reads the "
                   "training sentences of the datasets you name, with some words hidden, "
                   "and learns to guess them. The finished run has no classes; start a "
                   "labelled run from it (Transfer learning) to use what it learnt.")
    order = 2  # alone in its run: it replaces the whole training
    provides = (PRETRAINS_ENCODER,)
    kinds = ("text",)
    params = (
        Param("corpus", "", "Other text datasets (built-in or your uploads with sentences) "
              "whose training sentences it reads too, separated by commas, e.g. sms_spam.",
              flag="--pretrain-also", label="Also read"),
        Param("mask_share", 0.15, "Share of the word pieces hidden for it to guess (BERT "
              "hides 0.15).", min=0.05, max=0.5, flag="--mask-share", label="Words hidden"),
    )

    def check(self, config) -> list[str]:
        problems = []
        if config.model != PRETRAINED_MODEL:
            problems.append(
                f"{self.title}: {model_info(config.model).title} has no encoder to "
                f"pretrain; choose {model_info(PRETRAINED_MODEL).title}")
        others = [n for n in config.techniques if n != self.name]
        if others:
            problems.append(f"{self.title}: it replaces the whole training, so it runs "
                            f"alone; switch off {', '.join(o.replace('_', ' ') for o in others)}"
                            " and use them when you fine-tune")
        for name in corpus_names(config, self.s.corpus)[1:]:
            if not dataset_exists(name):
                problems.append(f"{self.title}: also read: there is no dataset {name!r}")
            elif dataset_info(name).kind != "text":
                problems.append(f"{self.title}: also read: {name} is "
                                f"{dataset_info(name).kind} data, not sentences")
        return problems

    def train_run(self, config, reporter, out_dir=None
                  ) -> tuple[MaskedWordBert, dict, list[dict]]:
        """The whole run: pretraining on the corpus (training/pretraining.py)."""
        return pretraining.pretrain(config, corpus_names(config, self.s.corpus),
                                    float(self.s.mask_share), reporter, out_dir)

    # -- what people read --------------------------------------------------------------------

    terms = (
        Term("masked_word_pretraining", "Masked-word pretraining",
             "Training a language model to guess words hidden from a sentence, on text with "
             "no labels.",
             "It is how BERT and its descendants start: guessing 'the film was [MASK]' "
             "teaches which words go together and what they mean, with no one labelling "
             "anything. A model that learnt this first then needs fewer labelled examples "
             "for a task such as telling good reviews from bad ones (fine-tuning)."),
    )
    lesson = Lesson(
        "Teaches the tiny BERT the language from unlabelled sentences before it learns "
        "any classes.",
        "A second run and its time, against better accuracy from few labels; it only helps "
        "when the unlabelled text resembles the task's.",
        "A company with many unlabelled messages or reviews and only a few labelled ones "
        "(the recipe behind every large language model, in miniature).",
        {"dataset": "reviews", "model": PRETRAINED_MODEL, "epochs": 5, "width": 64,
         "depth": 2, "lr": 0.001, "pretrain_also": "sms_spam"},
        "Then train reviews from 5 % of the labels, starting from this run, and compare "
        "with the same run from scratch (the story 'Pretrain, then fine-tune').")

    @classmethod
    def label(cls, settings):
        also = settings.get("corpus")
        return "masked-word pretraining" + (f" (also {also})" if also else "")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        p = run.metrics.get("pretraining")
        if not p:
            return []
        return [f"It read {p['sentences']:,} unlabelled sentences of "
                f"{md(', '.join(p['corpus']))} and learnt to guess hidden words: on sentences "
                f"it never trained on it now guesses {percent(p['guessed'])} of them."]

    @classmethod
    def result(cls, run):
        p = run.metrics.get("pretraining")
        if not p:
            return None
        line = (f"**Masked-word pretraining**: guesses {percent(p['guessed'])} of the hidden "
                f"words in sentences it never trained on; its guessing loss fell from "
                f"{p['loss_before']:.2f} to {p['loss_after']:.2f}.")
        tiles = (Tile("Hidden words guessed", percent(p["guessed"]),
                      "On the held-out tenth of the sentences."),
                 Tile("Sentences read", f"{p['sentences']:,}",
                      "Training sentences of " + md(", ".join(p["corpus"])) + "; no labels."),
                 Tile("Word pieces", f"{p['vocabulary']:,}",
                      "Its tokenizer, learnt from these sentences and kept with the run."))
        notes = (f"Start a labelled run from run {run.id} (Transfer learning) to use it: "
                 "that run reads its sentences with this run's word pieces.",)
        return Section(lines=(line,), tiles=tiles, notes=notes)
