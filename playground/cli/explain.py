"""`python -m playground explain RUN_ID --index 7 --method lime,shap,ig --json`, and for
text runs `explain RUN_ID --text "not good at all" --method lime,shap,ig --json`.

Explains one test example of a finished run with each method and prints, per method, the
attributions (shaped like the input), the class explained and the seconds it took.
Tables: the input as the person uploaded it ("input": column -> value in the CSV's units,
"input_text": as shown) and the run's own decision ("decision", by its decision rule, e.g.
fairness thresholds; "predicted_class" stays the model's most likely class).
Text: the sentence ("text", the test example's when --text is not given), its "words" as
typed, and per method "weights" (each word with its weight, in the sentence's order) beside
the attributions (one per word).
Answers come from (and go into) the same cache the Explain page uses.
"""
from __future__ import annotations

import json
import sys

from playground.data.units import RowCodec
from playground.explain import methods as M
from playground.explain.cache import ExplanationCache, Request
from playground.explain.jobs import explain_cached
from playground.explain.subjects import ModelBank, default_variant
from playground.explain.verdict import verdict_for

ALL = ",".join(M.method_names())


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run_explain(store, args) -> int:
    names = [m.strip() for m in (args.method or ALL).split(",") if m.strip()]
    unknown = [m for m in names if m not in M.METHODS]
    if unknown or not names:
        return _fail(f"--method: unknown method {', '.join(unknown) or '(none)'}; choose from "
                     f"{ALL} (comma-separated)")
    bank = ModelBank(store)
    try:
        loaded = bank.loaded(args.run_id)
    except ValueError as exc:
        return _fail(str(exc))
    kind = loaded.data.info.kind
    if args.method is None:
        names = M.method_names(kind)
    text = getattr(args, "text", None)
    typed = text is not None  # a sentence of the person's, not a test example
    if typed and kind != M.TEXT:
        return _fail(f"--text: run {args.run_id} reads {kind} data, not sentences; leave "
                     "--text out and pick a test example with --index")
    cannot = [m for m in names if not M.method(m).explains(kind)]
    if cannot:
        return _fail(f"--method: {', '.join(cannot)} cannot explain {kind} data; choose from "
                     f"{','.join(M.method_names(kind))}")
    X = loaded.data.X_test
    if not 0 <= args.index < len(X):
        return _fail(f"--index: run {args.run_id}'s test split has {len(X)} examples, so the "
                     f"index must be 0 to {len(X) - 1} (you gave {args.index})")
    variant = args.variant or default_variant(loaded.run)
    if variant == "int8" and default_variant(loaded.run) != "int8":
        return _fail(f"--variant int8: run {args.run_id} was not quantized to int8; leave "
                     "--variant out or use --variant float")
    gradient = [m for m in names if M.method(m).needs_gradients]
    if variant == "int8" and gradient:
        return _fail(f"{', '.join(gradient)} need gradients and an int8 model has none; use "
                     "--variant float to explain the run's float model, or choose from "
                     f"{','.join(M.without_gradients(kind))}")
    subject = bank.subject(args.run_id, variant)
    x = X[args.index]
    if kind == M.TEXT:
        text = text if typed else str(loaded.data.texts[2][args.index])
        if not subject.words(text):
            return _fail("--text: the sentence has no words the model reads; type a few words")
        x = subject.coder.encode([text])[0]
    probs = subject.probs(x[None])[0]
    predicted = int(probs.argmax())
    target = predicted if args.target is None else args.target
    if not 0 <= target < len(probs):
        return _fail(f"--target: classes are 0 to {len(probs) - 1} (you gave {target})")
    cache = ExplanationCache(store)
    out = {"run_id": args.run_id, "index": None if typed else args.index, "variant": variant,
           "input_shape": list(x.shape),
           "true_class": None if typed else int(loaded.data.y_test[args.index]),
           "predicted_class": predicted, "confidence": float(probs[predicted]),
           "class_names": loaded.data.class_names,
           "explains": "log-odds of the target class, log(p / (1 - p))", "methods": {}}
    rule = bank.rule(args.run_id)
    out["decision"] = int(rule.decide(x[None])[0] if typed else rule.stored()[args.index])
    out["decided_by"] = rule.title or "the most likely class"
    if kind == "tabular":
        codec = RowCodec(loaded.data)
        out["input"] = codec.to_raw(x)
        out["input_text"] = {c: codec.format(c, v) for c, v in out["input"].items()}
    if kind == M.TEXT:
        out["text"], out["words"] = text, subject.words(text)
    else:
        text = None
    attributions = {}
    for name in names:
        request = Request(args.run_id, name, variant, target, M.settings(name, subject), x=x,
                          text=text)
        if args.no_cache:
            attribution = M.explain(subject, x, name, target, request.settings, text=text)
            cached = False
            cache.put(request, attribution)
        else:
            attribution, cached = explain_cached(bank, cache, request)
        attributions[name] = attribution
        out["methods"][name] = {**attribution.to_json(), "cached": cached}
        if attribution.words is not None:
            out["methods"][name]["weights"] = [
                {"word": w, "weight": float(v)}
                for w, v in zip(attribution.words, attribution.values, strict=True)]
    out["verdict"] = verdict_for(loaded.data, x, attributions,
                                 loaded.data.class_names[target]).to_json()
    if args.json:
        print(json.dumps(out))
    elif kind == M.TEXT:
        print(_sentence_text(out))
    else:
        print(_text(out, loaded.data.feature_names))
        if "input_text" in out:
            print("  input: " + ", ".join(f"{c} {v}" for c, v in out["input_text"].items()))
    return 0


def _text(out: dict, feature_names: list[str]) -> str:
    import numpy as np

    names = out["class_names"]
    lines = [f"run {out['run_id']} ({out['variant']} model), test example {out['index']}: "
             f"true class {names[out['true_class']]}, predicted {names[out['predicted_class']]} "
             f"({out['confidence']:.0%} sure); every method explains the class's log-odds",
             out["verdict"]["sentence"]]
    for name, m in out["methods"].items():
        values = np.asarray(m["attributions"]).ravel()
        top = np.argsort(-np.abs(values))[:5]
        shown = ", ".join(f"{feature_names[i] if i < len(feature_names) else i} "
                          f"{values[i]:+.3g}" for i in top)
        note = " (cached)" if m["cached"] else ""
        lines.append(f"  {M.method(name).title:<21} class {names[m['target']]}, "
                     f"{m['seconds']:.3f} s{note}: {shown}")
    return "\n".join(lines)


def _sentence_text(out: dict) -> str:
    names = out["class_names"]
    truth = "" if out["true_class"] is None else f"true class {names[out['true_class']]}, "
    where = "your sentence" if out["index"] is None else f"test sentence {out['index']}"
    lines = [f"run {out['run_id']} ({out['variant']} model), {where}: {out['text']!r}",
             f"  {truth}decision {names[out['decision']]} ({out['confidence']:.0%} sure "
             f"of {names[out['predicted_class']]}); every method explains the class's "
             "log-odds", out["verdict"]["sentence"]]
    for name, m in out["methods"].items():
        shown = " ".join(f"{w['word']}({w['weight']:+.2f})" for w in m["weights"])
        note = " (cached)" if m["cached"] else ""
        lines.append(f"  {M.method(name).title:<21} class {names[m['target']]}, "
                     f"{m['seconds']:.3f} s{note}: {shown}")
    return "\n".join(lines)
