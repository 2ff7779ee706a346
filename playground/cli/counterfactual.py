"""`python -m playground counterfactual RUN_ID --index 7 [--fixed group,age] --json`.

What would change a finished run's decision on one test example: a few small changes (in
the uploaded units) and the run's decision on each changed input, decided by the run's own
rule (its fairness thresholds, say). Answers come from (and go into) the same cache the
Explain page uses. Importing this module also lets a worker started here do the
"counterfactual" jobs the page queues.
"""
from __future__ import annotations

import json
import sys

from playground.data.units import RowCodec
from playground.explain import counterfactual as CF
from playground.explain.subjects import ModelBank


def add_parser(sub, store_of) -> None:
    cf = sub.add_parser("counterfactual",
                        help="what would change a finished run's decision on one example")
    cf.add_argument("run_id")
    cf.add_argument("--index", type=int, default=0, help="test example (default 0)")
    cf.add_argument("--fixed", default=None, metavar="COL,...",
                    help="columns no change may touch (default: the sensitive column and "
                         "age-like columns); --fixed '' lets every column change")
    cf.add_argument("--total", type=int, default=4, help="how many changes (default 4)")
    cf.add_argument("--no-cache", action="store_true", help="compute again")
    cf.add_argument("--json", action="store_true", help="print one JSON object")
    cf.set_defaults(func=lambda args: run_counterfactual(store_of(args), args))


def run_counterfactual(store, args) -> int:
    bank = ModelBank(store)
    try:
        loaded = bank.loaded(args.run_id)
        fixed = (None if args.fixed is None
                 else [c.strip() for c in args.fixed.split(",") if c.strip()])
        fixed = CF.resolve_fixed(bank, args.run_id, fixed)
        if args.no_cache:
            answer = CF.find(bank, args.run_id, args.index, fixed, args.total)
            CF.CounterfactualCache(store).put(
                CF.cache_key(args.run_id, args.index, fixed, args.total), answer)
            cached = False
        else:
            answer, cached = CF.find_cached(bank, CF.CounterfactualCache(store), args.run_id,
                                            args.index, fixed, args.total)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = loaded.data
    names = data.class_names
    codec = RowCodec(data) if data.info.kind == "tabular" else None
    out = {**answer.to_json(codec), "cached": cached, "class_names": names,
           "decision_name": names[answer.decision],
           "decided_by": bank.rule(args.run_id).title or "the most likely class"}
    if codec is not None:
        out["input"] = codec.to_raw(data.X_test[args.index])
        out["sentences"] = [CF.sentence(codec, c, names) for c in answer.changes]
    if args.json:
        print(json.dumps(out, default=float))
        return 0
    print(f"run {args.run_id}, test example {args.index}: decided {names[answer.decision]} "
          f"(by {out['decided_by']}); kept fixed: {', '.join(answer.fixed) or 'nothing'}")
    if answer.nearest is not None:
        print(f"  the nearest test example decided otherwise: #{answer.nearest} "
              f"({names[answer.target]})")
    for line in out.get("sentences", []):
        print(f"  {line}")
    if answer.note:
        print(f"  {answer.note}")
    return 0
