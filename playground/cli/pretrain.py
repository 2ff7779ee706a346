"""`python -m playground pretrain`: a masked-word pretraining run of the tiny BERT on the
training sentences of text datasets; prints its run id, which `train --init-from` takes."""
from __future__ import annotations

import argparse
import sys

from playground.cli.flags import _emit, _store
from playground.cli.train import train_with_bar
from playground.runs.queue import submit
from playground.training.config import ConfigError, make_config


def add_parser(sub) -> None:
    p = sub.add_parser("pretrain", help="pretrain the tiny BERT on unlabelled sentences "
                       "(masked words); its run id goes to train --init-from")
    p.add_argument("--corpus", default="reviews,sms_spam",
                   help="text datasets whose training sentences it reads, separated by "
                        "commas (default: reviews,sms_spam)")
    p.add_argument("--model", default="bert", help="the model whose encoder it pretrains")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--width", type=int, default=64, help="size of each word's vector")
    p.add_argument("--depth", type=int, default=2, help="transformer layers")
    p.add_argument("--seed", type=int, default=0,
                   help="fixes the datasets' splits (use the fine-tune's seed) and weights")
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--mask-share", type=float, default=0.15,
                   help="share of word pieces hidden for it to guess")
    p.add_argument("--device", default="auto")
    p.add_argument("--background", action="store_true",
                   help="queue it for the workers and print its id at once")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_pretrain)


def _pretrain(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.corpus.split(",") if n.strip()]
    if not names:
        print("error: --corpus: name at least one text dataset, e.g. reviews", file=sys.stderr)
        return 2
    try:
        config = make_config(
            dataset=names[0], model=args.model, epochs=args.epochs, width=args.width,
            depth=args.depth, seed=args.seed, lr=args.lr, batch_size=args.batch_size,
            device=args.device, pretrain_also=",".join(names[1:]),
            mask_share=args.mask_share)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    store = _store(args)
    run_id = submit(store, config).run_id
    if args.background:
        _emit(args, {"run_id": run_id, "status": "queued", "config": config.model_dump()},
              f"queued pretraining run {run_id}; a worker will train it")
        return 0
    train_with_bar(store, run_id, config.label(), args.json,
                   lambda values: f"guessing loss {values['val_loss']:.2f}")
    run = store.get(run_id)
    data = run.to_json()
    _emit(args, data, _summary(data))
    return 0 if run.status == "finished" else 1


def _summary(data: dict) -> str:
    if data["status"] != "finished":
        return f"run {data['run_id']}: {data['status']} {data.get('error') or ''}".strip()
    p, c = data["metrics"]["pretraining"], data["config"]
    return (f"pretraining run {data['run_id']} finished: read {p['sentences']:,} sentences "
            f"of {', '.join(p['corpus'])}; guessing loss {p['loss_before']:.2f} -> "
            f"{p['loss_after']:.2f}, {p['guessed']:.1%} of hidden words guessed. Fine-tune "
            f"it: python -m playground train --dataset {p['corpus'][0]} --model {c['model']} "
            f"--width {c['width']} --depth {c['depth']} --init-from {data['run_id']}")
