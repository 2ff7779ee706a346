"""Masked-word pretraining: the tiny BERT learns the language of unlabelled sentences by
guessing words hidden from it (BERT's recipe: Devlin et al., 2019), before any run teaches
it classes.

The sentences are the training splits of the text datasets named (at the run's seed, so a
later fine-tune on one of them never meets its own validation or test sentences here); a
tenth of them is held back to say whether the guessing improves on sentences it never
trained on. The run's tokenizer is learnt from the rest and kept in the run folder
(`TOKENIZER_FILE`): a fine-tune must read its sentences with it, since the embeddings mean
its word pieces.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from models.base import ModelSpec
from models.masked import MaskedWordBert
from playground.common import device as devices
from playground.common.paths import WEIGHTS_FILE
from playground.data.catalog import load_dataset
from playground.data.text_coder import TextCoder, fit_coder
from playground.data.views import TOKENIZER_FILE
from playground.training.build import make_optimizer, seed_everything
from playground.training.context import Cancelled, Reporter
from playground.training.measure import measure_latency_ms

HELD_OUT = 0.1  # share of the corpus kept back to measure the guessing
IGNORED = -100  # cross-entropy's "no answer here": every position that was not hidden


@dataclass
class Corpus:
    names: list[str]
    train: np.ndarray  # sentences the model learns from
    held_out: np.ndarray  # sentences it is measured on
    coder: TextCoder


def build_corpus(names: list[str], seed: int) -> Corpus:
    """The training sentences of these text datasets, a tokenizer learnt from them, and a
    held-out tenth (seeded)."""
    texts = np.concatenate([np.asarray(load_dataset(n, seed).texts[0], dtype=object)
                            for n in names])
    order = np.random.default_rng(seed).permutation(len(texts))
    k = max(1, round(len(texts) * HELD_OUT))
    train, held_out = texts[order[k:]], texts[order[:k]]
    return Corpus(list(names), train, held_out, fit_coder(train))


def mask_words(ids: torch.Tensor, coder: TextCoder, share: float,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: `share` of the word pieces (never [CLS], [SEP] or padding) become
    answers; of those, 80 % are shown as [MASK], 10 % as a random word piece and 10 % as
    they are. Returns (inputs, answers), answers IGNORED where nothing was hidden."""
    shape = ids.shape
    special = torch.isin(ids, torch.tensor(coder.special_ids, device=ids.device))
    draw = torch.rand(shape, generator=generator).to(ids.device)
    chosen = (draw < share) & ~special
    if not chosen.any():  # a batch of very short sentences: hide one piece all the same
        rows, cols = torch.nonzero(~special, as_tuple=True)
        if len(rows):
            chosen[rows[0], cols[0]] = True
    how = torch.rand(shape, generator=generator).to(ids.device)
    first_word = max(coder.special_ids) + 1  # the specials come first in the vocabulary
    random_ids = torch.randint(first_word, coder.vocab_size, shape,
                               generator=generator).to(ids.device)
    inputs = ids.clone()
    inputs[chosen & (how < 0.8)] = coder.mask_id
    swap = chosen & (how >= 0.8) & (how < 0.9)
    inputs[swap] = random_ids[swap]
    answers = torch.where(chosen, ids, torch.full_like(ids, IGNORED))
    return inputs, answers


def _scores(model, inputs: torch.Tensor, answers: torch.Tensor
            ) -> tuple[torch.Tensor, int, int]:
    """(summed loss, hidden pieces, pieces guessed right) of one batch."""
    hidden = answers != IGNORED
    truth = answers[hidden]
    logits = model(inputs, hidden)
    loss = F.cross_entropy(logits, truth, reduction="sum")
    return loss, len(truth), int((logits.argmax(dim=1) == truth).sum())


@torch.no_grad()
def held_out_scores(model, ids: torch.Tensor, coder: TextCoder, share: float, seed: int,
                    batch: int = 256) -> tuple[float, float]:
    """Mean loss and share guessed on the held-out sentences, the same words hidden every
    time (a fixed seed), so epochs compare."""
    model.eval()
    generator = torch.Generator().manual_seed(seed + 1)
    total, hidden, right = 0.0, 0, 0
    for i in range(0, len(ids), batch):
        inputs, answers = mask_words(ids[i:i + batch], coder, share, generator)
        loss, h, r = _scores(model, inputs, answers)
        total, hidden, right = total + float(loss), hidden + h, right + r
    return total / max(1, hidden), right / max(1, hidden)


def pretrain(config, names: list[str], share: float, reporter: Reporter,
             out_dir: str | Path | None = None
             ) -> tuple[MaskedWordBert, dict[str, Any], list[dict[str, float]]]:
    """Train the masked-word model of `config` (width, depth, epochs, lr, batch size, seed)
    on the corpus `names`; write its weights and tokenizer into `out_dir` if given.
    Returns (model, metrics, history), each epoch reported as a run's are."""
    device = devices.resolve(config.device)
    generator = seed_everything(config.seed)
    corpus = build_corpus(names, config.seed)
    coder = corpus.coder
    X = torch.from_numpy(coder.encode(corpus.train)).long().to(device)
    X_held = torch.from_numpy(coder.encode(corpus.held_out)).long().to(device)
    spec = ModelSpec(input_shape=(coder.max_length,), n_classes=2, width=config.width,
                     depth=config.depth, vocab_size=coder.vocab_size)
    model = MaskedWordBert(spec).to(device)
    optimizer = make_optimizer(model, config.lr)
    n, bs = len(X), config.batch_size
    total_steps, step, history = config.epochs * ((n + bs - 1) // bs), 0, []
    first_loss, _ = held_out_scores(model, X_held, coder, share, config.seed)
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        loss_sum, hidden, right = 0.0, 0, 0
        for i in range(0, n, bs):
            inputs, answers = mask_words(X[order[i:i + bs]], coder, share, generator)
            loss, h, r = _scores(model, inputs, answers)
            optimizer.zero_grad(set_to_none=True)
            (loss / max(1, h)).backward()
            optimizer.step()
            loss_sum, hidden, right = loss_sum + float(loss.detach()), hidden + h, right + r
            step += 1
            reporter.progress(step / total_steps)
            if reporter.should_stop():
                raise Cancelled()
        val_loss, val_acc = held_out_scores(model, X_held, coder, share, config.seed)
        values = {"train_loss": loss_sum / max(1, hidden),
                  "train_accuracy": right / max(1, hidden),
                  "val_loss": val_loss, "val_accuracy": val_acc,
                  "seconds": time.perf_counter() - epoch_start}
        history.append(values)
        reporter.epoch(epoch, values, step / total_steps)
    train_seconds = time.perf_counter() - started
    model.eval()
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    size = sum(t.numel() * t.element_size() for t in state.values())
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        # Cloned: the masked-word head shares the embedding's tensor (tied, as in BERT), and
        # safetensors refuses tensors that share memory.
        save_file(state, str(out / WEIGHTS_FILE))
        (out / TOKENIZER_FILE).write_text(coder.to_json())
        size = (out / WEIGHTS_FILE).stat().st_size
    last = history[-1]
    metrics: dict[str, Any] = {
        # A pretraining run's "accuracy" is the share of hidden words it guessed on the
        # held-out sentences: what it learnt, in the one number every list shows.
        "accuracy": last["val_accuracy"], "val_accuracy": last["val_accuracy"],
        "params": sum(p.numel() for p in model.parameters()),
        "size_bytes": size, "latency_ms": measure_latency_ms(model, X_held[:1]),
        "train_seconds": train_seconds, "epochs_run": len(history),
        "test_examples": len(corpus.held_out), "device": devices.describe(config.device),
        "class_names": [],
        "pretraining": {
            "corpus": corpus.names, "sentences": len(corpus.train),
            "held_out_sentences": len(corpus.held_out), "vocabulary": coder.vocab_size,
            "max_length": coder.max_length, "mask_share": share,
            "loss_before": first_loss, "loss_after": last["val_loss"],
            "guessed": last["val_accuracy"],
        },
    }
    return model, metrics, history
