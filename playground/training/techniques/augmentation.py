"""Data augmentation: new variations of the training examples at every step.

Images: a random rotation, shift and scale drawn per example and applied to the whole batch
at once (one affine grid), then torchvision transforms.v2 Gaussian noise. Calling
v2.RandomAffine once per example cost ~2 ms each here, which made a 1 s run 20 s long.
Tabular and 2-D points: Gaussian feature noise and mixup. Text: whole words dropped and
neighbouring words swapped, on the token ids (a word is a piece and its "##" continuations),
so nothing is downloaded and [CLS], [SEP] and padding stay where the model expects them.
Training batches only; validation and test data are never touched.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from playground.common.content import Lesson, Section, Term
from playground.data.text_coder import TextCoder
from playground.training.capabilities import BATCH_CHANGE, PRIVACY_GUARANTEE
from playground.training.techniques.base import Param, Technique, register

# At full strength, each word is dropped with this chance, and each pair of neighbours
# swapped with the same chance: a sentence keeps most of its words and their rough order.
WORD_CHANGE = 0.15


def word_starts(coder: TextCoder) -> torch.Tensor:
    """Per token id, True where the piece begins a word (WordPiece marks the rest "##")."""
    starts = torch.ones(coder.vocab_size, dtype=torch.bool)
    for piece, i in coder.tokenizer.get_vocab().items():
        starts[i] = not piece.startswith("##")
    return starts


def change_words(ids: torch.Tensor, starts: torch.Tensor, specials: set[int], pad: int,
                 chance: float, generator: torch.Generator) -> torch.Tensor:
    """Each sentence of `ids` (batch × length, float ids) with words dropped and neighbours
    swapped, each with probability `chance`; the leading and trailing special tokens stay,
    at least one word is kept, and the freed positions become padding."""
    out = torch.full_like(ids, float(pad))
    for r, row in enumerate(ids.long().tolist()):
        used = [i for i in row if i != pad]
        head = used[:1] if used and used[0] in specials else []
        tail = used[-1:] if len(used) > len(head) and used[-1] in specials else []
        words: list[list[int]] = []
        for i in used[len(head):len(used) - len(tail)]:
            if not words or (i in specials or bool(starts[i])):
                words.append([i])
            else:
                words[-1].append(i)
        if len(words) > 1:
            drop = torch.rand(len(words), generator=generator) < chance
            kept = [w for w, d in zip(words, drop.tolist(), strict=True) if not d]
            words = kept or [words[int(torch.randint(len(words), (1,), generator=generator))]]
            swap = (torch.rand(len(words), generator=generator) < chance).tolist()
            k = 0
            while k < len(words) - 1:
                if swap[k]:
                    words[k], words[k + 1] = words[k + 1], words[k]
                    k += 1  # a word moves one place at most
                k += 1
        new = head + [i for w in words for i in w] + tail
        out[r, :len(new)] = torch.tensor(new, dtype=ids.dtype)
    return out


@register
class Augmentation(Technique):
    name = "augmentation"
    title = "Data augmentation"
    description = ("Shows the model slightly changed copies of the training examples (a "
                   "digit turned or shifted a little, a measurement with a bit of noise, a "
                   "sentence with a word left out or two words swapped), so "
                   "it learns what matters instead of memorising. Helps most when data is "
                   "scarce.")
    order = 10  # when its hooks run
    harder_batches = True
    regularises = True
    per_step = frozenset({"on_batch"})
    provides = (BATCH_CHANGE,)
    params = (Param("strength", 0.5, "How far the copies may differ from the originals.",
                    0.0, 1.0, flag="--augment", sweep="0.2, 0.5, 1"),)

    def on_model(self, ctx) -> None:
        s = self.s.strength
        self.image = ctx.data.info.kind == "image"
        self.text = ctx.data.info.kind == "text"
        if self.text:
            coder = ctx.data.coder
            self.starts, self.specials, self.pad = (word_starts(coder), set(coder.special_ids),
                                                    coder.pad_id)
        if self.image:
            from torchvision.transforms import v2

            self.noise = v2.GaussianNoise(mean=0.0, sigma=0.08 * s, clip=False)
        self.generator = torch.Generator(device="cpu").manual_seed(ctx.config.seed + 1)
        # Mixup blends two people's rows into one example; a privacy guarantee bounds each
        # example's influence, so one person in two blends would be counted once: ε would
        # be wrong. Token ids can't be blended at all.
        self.mixup = not (self.image or self.text) and not ctx.provides(PRIVACY_GUARANTEE)

    def on_batch(self, ctx, xb, yb):
        if self.s.strength == 0:
            return xb, yb
        if self.image:
            return self.noise(self._affine(xb)), yb
        if self.text:
            changed = change_words(xb.cpu(), self.starts, self.specials, self.pad,
                                   WORD_CHANGE * self.s.strength, self.generator)
            return changed.to(xb.device), yb
        noise = torch.randn(xb.shape, generator=self.generator).to(xb.device)
        xb = xb + 0.3 * self.s.strength * noise
        if not self.mixup:
            return xb, yb
        # Mixup: blend pairs of examples and their labels.
        alpha = 0.4 * self.s.strength
        lam = torch.distributions.Beta(alpha, alpha).sample((len(xb), 1)).to(xb.device)
        perm = torch.randperm(len(xb), generator=self.generator).to(xb.device)
        targets = F.one_hot(yb, ctx.data.n_classes).float()
        return lam * xb + (1 - lam) * xb[perm], lam * targets + (1 - lam) * targets[perm]

    def _affine(self, xb: torch.Tensor) -> torch.Tensor:
        """Rotate (±15°), shift (±12 %) and scale (±15 %) each image by its own amounts."""
        n, s = len(xb), self.s.strength

        def uniform(limit: float) -> torch.Tensor:
            return ((torch.rand(n, generator=self.generator) * 2 - 1) * limit).to(xb.device)

        angle = uniform(torch.pi / 12 * s)
        scale = 1 + uniform(0.15 * s)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([
            torch.stack([cos, -sin, uniform(0.24 * s)], dim=1),
            torch.stack([sin, cos, uniform(0.24 * s)], dim=1),
        ], dim=1)
        grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
        return F.grid_sample(xb, grid, align_corners=False, padding_mode="zeros")

    def finalize(self, ctx, metrics) -> None:
        if not (self.image or self.text) and not self.mixup:
            metrics["augmentation_note"] = (
                "Augmentation added feature noise only: mixup, which blends two rows into "
                "one, is off with privacy noise, because ε counts each person in one "
                "training example.")

    terms = (Term("augmentation", "Data augmentation",
                  "Training on slightly changed copies of the examples (a digit turned a "
                  "little, a measurement with some noise), so the model learns what matters.",
                  "It helps most when data is scarce. For tables the playground adds noise and "
                  "mixup (blending two examples and their labels); for sentences it leaves "
                  "out a few words and swaps a few neighbouring ones."),)
    lesson = Lesson(
        "Trains on slightly changed copies of the examples (turned, shifted, a little noise) "
        "so the model learns what matters, not the exact pictures.",
        "More accuracy from scarce data, against longer training and changes that must make "
        "sense for the data (a 6 turned upside down is a 9).",
        "A start-up with a few hundred labelled photos of product defects, where labelling "
        "more is slow and expensive.",
        {"dataset": "digits", "model": "cnn", "epochs": 15, "train_fraction": 0.2,
         "augment": 0.5},
        "Train it again with augmentation off: with only 20 % of the data the gap shows.")

    @classmethod
    def story(cls, run, baseline=None, told=False):
        note = run.metrics.get("augmentation_note")
        return [note] if note else []

    @classmethod
    def result(cls, run):
        note = run.metrics.get("augmentation_note")
        return Section(notes=(note,)) if note else None
