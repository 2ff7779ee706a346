"""Explain for text runs: a sentence (a test sentence, or one typed into the what-if box),
each chosen run's answer, and its words highlighted by every chosen method, run under run;
the tiny BERT's attention as a heat map.

The maps come from the workers through the same jobs and cache as pictures and tables
(each request carries the sentence); answers and attention are single forward passes,
made here by the runner's loaded models like the other inputs' predictions. The sentence is
user data: it reaches HTML only through `playground.explain.words`, which escapes it, and
Markdown only through `escape.md`.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components.base.chart_cache import cached_chart
from components.base.keys.explain import FLOAT_FOR_GRADIENTS, REPLAN
from components.base.polling import end_polling, live_fragment
from components.experiments.workshop_session import session_actor
from components.explain.grid import cell_variant, replan_if_asked
from components.explain.pick import Row, ask, owner_words, run_words
from playground.common import escape
from playground.explain import methods as M
from playground.explain.cache import Request
from playground.explain.charts import attention_chart
from playground.explain.jobs import ExplainJobs
from playground.explain.subjects import default_variant
from playground.explain.verdict import verdict_for
from playground.explain.words import attention_by_word, has_attention, legend_html, sentence_html
from playground.runs.store import Run

SENTENCE = "explain_sentence"  # the test sentence picked (its index)
WHAT_IF = "explain_text_whatif"  # a sentence typed into the what-if box
PREVIEW = 70  # characters of a test sentence in the picker


@dataclass
class SentenceChoice:
    text: str
    index: int | None  # the test sentence's place; None for a typed one
    true_class: int | None
    before: SentenceChoice | None = None  # a typed sentence: the test sentence it replaced

    @property
    def label(self) -> str:
        return "your sentence" if self.index is None else f"test sentence #{self.index}"


@dataclass
class _About:
    kind: str
    quantized: bool


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= PREVIEW else text[:PREVIEW - 1] + "…"


def pick_sentence(runner: ExplainJobs, runs: list[Run]) -> SentenceChoice:
    """A test sentence of the first run's test split, or the what-if box's sentence."""
    data = runner.bank.loaded(runs[0].id).data
    texts, y, names = data.texts[2], data.y_test, data.class_names
    index = st.selectbox(
        "Test sentence", list(range(len(texts))), key=SENTENCE,
        format_func=lambda i: f"#{i} · true class {names[y[i]]} · {_short(texts[i])}",
        help=f"The {len(texts)} sentences of run {runs[0].id}'s test split, which it never "
             "trained on.")
    typed = st.text_input(
        "What if? Type your own sentence", key=WHAT_IF,
        placeholder="e.g. not good at all",
        help="Every chosen run answers your sentence and explains its answer. Try a word "
             "at a time: 'good', then 'not good'.")
    test = SentenceChoice(str(texts[index]), index, int(y[index]))
    if typed.strip():
        return SentenceChoice(typed, None, None, before=test)
    return test


def make_text_rows(runner: ExplainJobs, runs: list[Run], text: str,
                   target: int | None) -> list[Row]:
    """Each run's answer to the sentence, read through its own tokenizer."""
    rows = []
    for run in runs:
        variant = default_variant(run)
        subject = runner.bank.subject(run.id, variant)
        x = subject.coder.encode([text])[0]
        probs = subject.probs(x[None])[0]
        decided = int(runner.bank.rule(run.id).decide(x[None])[0])
        rows.append(Row(run, variant, probs, decided if target is None else target, decided))
    return rows


def plan_text(runner: ExplainJobs, rows: list[Row], methods: list[str],
              choice: SentenceChoice) -> dict[tuple[int, str], Request | None]:
    """One request per run and method (None: a gradient method on an int8 model), asked
    of the workers in one job."""
    use_float = bool(st.session_state.get(FLOAT_FOR_GRADIENTS))
    cells: dict[tuple[int, str], Request | None] = {}
    for i, row in enumerate(rows):
        coder = runner.bank.loaded(row.run.id).data.coder
        x = coder.encode([choice.text])[0]
        for method in methods:
            variant = cell_variant(row, method, use_float)
            if variant is None:
                cells[(i, method)] = None
                continue
            about = _About(M.TEXT, variant == "int8")
            cells[(i, method)] = Request(row.run.id, method, variant, row.target,
                                         M.settings(method, about), x=x, text=choice.text)
    ask(runner, [r for r in cells.values() if r is not None])
    return cells


def sentence_section(runner: ExplainJobs, runs: list[Run], methods: list[str],
                     target: int | None) -> None:
    """The whole text part of Explain."""
    st.subheader("Choose a sentence")
    choice = pick_sentence(runner, runs)
    if not runner.bank.subject(runs[0].id).words(choice.text):
        st.warning("The sentence has no words the model reads. Type a few words.")
        return
    data = runner.bank.loaded(runs[0].id).data
    rows = make_text_rows(runner, runs, choice.text, target)
    before = None if choice.before is None else \
        make_text_rows(runner, runs, choice.before.text, target)
    _answers(rows, data.class_names, choice, before)
    cells = plan_text(runner, rows, methods, choice)
    asked = [r for r in cells.values() if r is not None]
    waiting = not runner.progress(asked).finished

    @live_fragment(waiting)
    def results() -> None:
        replan_if_asked()
        progress = runner.progress(asked)
        if not progress.finished:
            now = (f" Now: {progress.running}." if progress.running else
                   " Waiting for a free worker (runs and explanations take turns).")
            st.progress(progress.done / max(1, progress.total),
                        text=f"Explaining in a background worker: {progress.done} of "
                             f"{progress.total} ready.{now}")
        st.subheader(f"Explanations of {choice.label}")
        _grid(runner, rows, methods, cells, data, choice)
        if waiting and progress.finished:
            end_polling()

    results()
    _attention(runner, rows, choice)
    st.caption("Pixel maps, counterfactuals, attacks and the overall view are for pictures "
               "and tables. For sentences, the what-if box plays the counterfactual's part: "
               "change a word and watch the answers and the highlights move.")


def _answers(rows: list[Row], names: list[str], choice: SentenceChoice,
             before: list[Row] | None) -> None:
    """Each run's answer; for a typed sentence, how it moved from the test sentence's."""
    truth = "" if choice.true_class is None else \
        f" Its true class is **{escape.md(names[choice.true_class])}**."
    st.markdown(f"“{escape.md(choice.text)}”{truth}")
    for k, row in enumerate(rows):
        said = escape.md(names[row.predicted])
        sure = f"{row.probs[row.predicted]:.0%} sure"
        if before is not None:
            was = before[k]
            st.markdown(f"- Run **{row.run.id}**: {escape.md(names[was.predicted])} "
                        f"({was.probs[was.predicted]:.0%}) on the test sentence → "
                        f"**{said}** ({sure}) on yours")
            continue
        mark = "" if choice.true_class is None else \
            (" ✓" if row.predicted == choice.true_class else " ✗")
        st.markdown(f"- Run **{row.run.id}** says **{said}**, {sure}{mark}")
    if before is not None:
        st.caption("Clear the what-if box to go back to the test sentence.")


def _grid(runner: ExplainJobs, rows: list[Row], methods: list[str],
          cells: dict[tuple[int, str], Request | None], data, choice: SentenceChoice) -> None:
    names = data.class_names
    with st.container(key="explain_text_grid"):
        for i, row in enumerate(rows):
            if i:
                st.divider()
            row_cells = {m: cells[(i, m)] for m in methods}
            st.markdown(f"**{escape.md(owner_words(row.run, session_actor()).capitalize())}**"
                        f": {escape.md(run_words(row.run))} · run {row.run.id}  \n"
                        f"says **{escape.md(names[row.predicted])}**, "
                        f"{row.probs[row.predicted]:.0%} sure")
            done = {m: runner.result(r) for m, r in row_cells.items() if r is not None}
            ready = {m: a for m, a in done.items() if a is not None}
            if ready and len(ready) == len(done):
                verdict = verdict_for(data, None, ready, names[row.target])
                icon = {True: "✅ ", False: "⚠️ "}.get(verdict.agree, "")
                st.markdown(f"{icon}**Verdict:** {escape.md(verdict.sentence)}")
            st.html(legend_html(names[row.target]))
            for col, method in zip(st.columns(len(methods)), methods, strict=True):
                with col:
                    _cell(runner, row, method, row_cells[method], choice, names)
            if ready and len(ready) == len(done):
                with st.expander("Details: how far to trust each highlight"):
                    for name, a in ready.items():
                        m = M.method(name)
                        check = m.note(a)
                        line = f"- **{m.title}**: computed in {a.seconds:.2f} s"
                        if check:
                            line += f"; {escape.md(check)}"
                        st.markdown(line)


def _cell(runner: ExplainJobs, row: Row, method: str, request: Request | None,
          choice: SentenceChoice, names: list[str]) -> None:
    m = M.method(method)
    st.markdown(f"**{m.title}**", help=m.blurb)
    if request is None:
        others = M.without_gradients(M.TEXT)
        st.info(f"{m.title} needs gradients; an int8 model has none. "
                f"{M.titles(others, last='and')} explain the int8 model itself.")
        st.button("Use this run's float model", key=f"explain_text_float_{row.run.id}_{method}",
                  on_click=_use_float)
        return
    attribution = runner.result(request)
    if attribution is None:
        error = runner.error(request)
        if error:
            st.error(f"{m.title} could not explain this: {escape.md(error)}")
        else:
            st.caption(f"{m.title}: working on it…")
        return
    spans = runner.bank.loaded(row.run.id).data.coder.words(choice.text)
    st.html(sentence_html(choice.text, spans, attribution.values, names[row.target],
                          signed=m.signed))


def _use_float() -> None:
    st.session_state[FLOAT_FOR_GRADIENTS] = True
    st.session_state[REPLAN] = True  # the click lands in the polling fragment: plan again


def _attention(runner: ExplainJobs, rows: list[Row], choice: SentenceChoice) -> None:
    """The tiny BERT's last layer, averaged over its heads: which word looked at which."""
    shown = [r for r in rows if r.variant == "float"
             and has_attention(runner.bank.subject(r.run.id).model)]
    if not shown:
        return
    st.subheader("Where the tiny BERT looked")
    st.caption("Each row is a word; its colour across the row shows how it spread its "
               "attention over the sentence's words in the model's last layer (averaged "
               "over its attention heads). Attention is where the model looked, not why it "
               "answered: the highlights above say what counted.")
    for col, row in zip(st.columns(min(2, len(shown))) * len(shown), shown, strict=False):
        subject = runner.bank.subject(row.run.id)
        words, matrix = attention_by_word(subject.model, subject.coder, choice.text)
        with col:
            st.caption(f"Run {row.run.id}")
            cached_chart(("explain_attention", row.run.id, choice.text),
                         lambda w=words, m=matrix: attention_chart(w, m),
                         key=f"explain_attention_{row.run.id}", width="content")
