"""From upload to answer: free text stays out of the model, the column count is the person's,
a run can leave columns out of its inputs and still be audited by them, one click queues the
right runs (through the same queue and permissions as Train) and the walkthrough is written
from their numbers; the CLI saves an upload; Runs filters mine / stories / everything."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.common.permissions import Actor
from playground.data import uploads
from playground.data.catalog import load_dataset
from playground.data.units import RowCodec
from playground.data.views import leave_out, run_data
from playground.experiments import tradeoffs as T
from playground.experiments.stories import STORIES, queue_story, story_run_ids
from playground.results import luck
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.audits import fairness as fairness_audit
from playground.training.config import ConfigError, make_config
from playground.training.techniques.fairness import LEGAL_CAUTION, FairnessPostprocessing

ROOT = Path(__file__).resolve().parent.parent
NOTES = ["Applicant has a stable job and a long history with us",
         "Needs the money for a new car before winter",
         "Self employed, income is seasonal in summer",
         "Referred by a friend who banks at the branch"]


def loans_csv(n: int = 300, seed: int = 0) -> bytes:
    """Past loan decisions that held gender against women, with a free-text note column."""
    rng = np.random.default_rng(seed)
    lines = ["age,annual_income,years_employed,loan_amount,region,gender,notes,approved"]
    for i in range(n):
        g = rng.choice(["F", "M"])
        income = round(float(rng.normal(52000 if g == "M" else 46000, 12000)))
        years, amount = int(rng.integers(0, 30)), round(float(rng.normal(15000, 5000)))
        score = income / 1000 - amount / 1000 + years - (6 if g == "F" else 0) + rng.normal(0, 6)
        note = f"{NOTES[i % 4]} (case {i})"
        lines.append(f"{int(rng.integers(18, 70))},{income},{years},{amount},"
                     f"{rng.choice(['north', 'south', 'east'])},{g},\"{note}\","
                     f"{'yes' if score > 35 else 'no'}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def saved(home: Path, name: str = "my_loans", sensitive: str = "gender",
          left: tuple[str, ...] = ()) -> dict:
    p = uploads.prepare(loans_csv(), "loans.csv", "approved", name)
    uploads.save(replace(p, sensitive=sensitive, leave_out=left), home)
    return uploads.manifest_of(name, home)


# -- the upload -------------------------------------------------------------------------------


def test_free_text_is_left_out_with_a_note_and_columns_counted_as_the_persons(home):
    p = uploads.prepare(loans_csv(), "loans.csv", "approved", "my_loans")
    assert p.schema.names == ["age", "annual_income", "years_employed", "loan_amount",
                              "region", "gender"]
    assert not any(n.startswith("notes") for n in p.feature_names)  # never coded
    note = next(n for n in p.notes if "'notes'" in n)
    assert "Free text left out of the model" in note and "Read it as words" in note
    assert p.kind == "tabular" and p.text_column == "notes"
    # Seven columns besides the target, six used; "region" spreads over three inputs.
    assert "6 input columns" in p.description and len(p.feature_names) == 8
    assert p.inputs_note.startswith("The 6 columns became 8 inputs")
    # A short category with spaces is still a category, not free text.
    cats = ("x,kind,label\n" + "".join(f"{i},{['new car', 'used car', 'home repair'][i % 3]},"
                                       f"{'yes' if i % 2 else 'no'}\n" for i in range(60)))
    q = uploads.prepare(cats.encode(), "c.csv", "label", "cats")
    assert q.schema.get("kind").kind == "one_hot"


def test_a_leave_out_choice_is_checked_and_saved(home):
    p = uploads.prepare(loans_csv(), "loans.csv", "approved", "my_loans")
    with pytest.raises(uploads.UploadError, match="'wage' is not an input column"):
        uploads.save(replace(p, leave_out=("wage",)), home)
    assert not (home / "data" / "my_loans").exists()
    m = saved(home, left=("gender",))
    assert m["leave_out"] == ["gender"] and m["sensitive"] == "gender"


# -- leaving columns out of a run -------------------------------------------------------------


def test_leave_out_drops_exactly_that_columns_inputs_and_keeps_its_groups(home):
    saved(home)
    full = run_data(make_config(dataset="my_loans", model="mlp", sensitive="gender"))
    blind = run_data(make_config(dataset="my_loans", model="mlp", sensitive="gender",
                                 leave_out="gender, region"))
    kept = [i for i, n in enumerate(full.feature_names)
            if not n.startswith(("gender", "region"))]
    assert blind.feature_names == [full.feature_names[i] for i in kept]
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(blind, f"X_{part}"),
                                      getattr(full, f"X_{part}")[:, kept])
    for a, b in zip(blind.groups, full.groups, strict=True):  # still audited by gender
        np.testing.assert_array_equal(a, b)
    assert blind.sensitive == "gender" and set(blind.groups[2]) == {"F", "M"}
    # The rows still read in the person's units, without the columns left out.
    codec, full_codec = RowCodec(blind), RowCodec(full)
    row, full_row = codec.to_raw(blind.X_test[0]), full_codec.to_raw(full.X_test[0])
    assert list(row) == ["age", "annual_income", "years_employed", "loan_amount"]
    assert all(row[c] == full_row[c] for c in row)
    np.testing.assert_allclose(codec.to_model(row), blind.X_test[0], atol=1e-5)


def test_unknown_columns_are_refused_with_a_clear_message(home):
    saved(home)
    with pytest.raises(ConfigError) as exc:
        make_config(dataset="my_loans", model="mlp", leave_out="wage")
    assert exc.value.problems == [
        "leave_out: my_loans has no input column 'wage'; its input columns: age, "
        "annual_income, years_employed, loan_amount, region, gender"]
    with pytest.raises(ConfigError, match="keep at least one input column"):
        make_config(dataset="my_loans", model="mlp",
                    leave_out="age,annual_income,years_employed,loan_amount,region,gender")
    with pytest.raises(ConfigError, match="only the columns of a table"):
        make_config(dataset="digits", model="mlp", leave_out="pixel")
    data = load_dataset("loans", 0, 0.2)
    assert leave_out(data, "") is data


# -- one click: the runs it queues and the walkthrough ----------------------------------------


def _techniques(record: T.TradeoffRecord, store: Store) -> dict[str, dict]:
    return {role: store.get(i).config for role, i in record.runs.items()}


def test_one_click_queues_plain_private_fair_blind_and_smaller_with_a_sensitive_column(home):
    store = Store(home)
    record = T.queue_tradeoffs(store, saved(home))
    configs = _techniques(record, store)
    assert list(configs) == ["plain", "private", "fair", "blind", "smaller"]
    plain = configs["plain"]
    assert plain.techniques == {} and plain.sensitive == "gender" and plain.leave_out == ""
    # Each other run is the plain one with one change.
    assert {role: set(c.techniques) for role, c in configs.items() if role != "plain"} == {
        "private": {"dp"}, "fair": {"fairness"}, "blind": set(), "smaller": {"quantization"}}
    assert configs["blind"].leave_out == "gender"
    for role, c in configs.items():
        assert c.model_copy(update={"techniques": {}, "leave_out": ""}) == plain, role
    assert T.load_record(home, "my_loans") == record


def test_one_click_without_a_sensitive_column_queues_no_fair_run(home):
    store = Store(home)
    record = T.queue_tradeoffs(store, saved(home, sensitive=""))
    assert list(record.runs) == ["plain", "private", "smaller"]
    assert all(not store.get(i).config.sensitive for i in record.runs.values())


def test_one_click_goes_through_the_same_permissions_as_train(home):
    store = Store(home)
    manifest = saved(home)
    stranger = Actor("participant", "room", "Bo", "p1")  # not in any open workshop
    with pytest.raises((PermissionError, ValueError)):
        T.queue_tradeoffs(store, manifest, stranger)
    assert store.count_runs() == 0  # refused: nothing queued


def test_the_walkthrough_is_written_from_the_runs_numbers(home, one_thread):
    store = Store(home)
    manifest = saved(home)
    record = T.queue_tradeoffs(store, manifest)
    assert T.walkthrough(store, manifest, record) is None  # still waiting
    assert T.state(store, record) == "active"
    while (run := store.claim(os.getpid())) is not None:
        assert execute(store, run) == "finished", store.get(run.id).error
    walk = T.walkthrough(store, manifest, record)
    runs = T.record_runs(store, record)
    text = " ".join([walk.headline, *walk.paragraphs])
    gaps = {role: fairness_audit.report(r.metrics)["demographic_parity_difference"] * 100
            for role, r in runs.items()}
    assert f"{gaps['plain']:.1f} points" in text and f"{gaps['fair']:.1f} points" in text
    # Leaving gender out is judged against the run with it, in the very words of the verdict.
    verdict = T.blind_verdict(gaps["plain"], gaps["blind"], "gender")
    assert verdict in text
    assert LEGAL_CAUTION in text  # per-group thresholds on the person's own data
    assert f"{runs['plain'].metrics['accuracy']:.1%}" in text
    assert list(walk.table.index) == [record.labels[r] for r in record.runs]
    # The fairness technique's own sentence carries the caution on uploaded data only.
    assert LEGAL_CAUTION in FairnessPostprocessing.story(runs["fair"])[0]
    # Each comparison with the plain run says whether it is bigger than luck, as McNemar's
    # test on the same test rows finds it.
    for role, opening in (("private", "With privacy noise"), ("fair", "With equal approval"),
                          ("blind", "Leaving gender out")):
        measured = luck.compare(store, runs["plain"], runs[role])
        assert measured.paired, role
        line = next(p for p in walk.paragraphs if p.startswith(opening))
        if abs(measured.diff) < 0.0005:
            assert "cost no accuracy" in line, line
        elif measured.beyond:
            assert "beyond luck (95 % interval" in line, line
        else:
            assert "cost no accuracy beyond luck" in line and "within luck" in line, line
    assert "luck" in walk.headline


def test_pressing_twice_queues_once_and_again_only_when_asked(home):
    store = Store(home)
    manifest = saved(home, sensitive="")
    first, queued = T.ensure_tradeoffs(store, manifest)
    assert queued and store.count_runs() == len(first.runs) == 3
    second, queued = T.ensure_tradeoffs(store, manifest)
    assert not queued and second == first and store.count_runs() == 3
    # Someone else's press is theirs: a workshop participant's record is not the operator's.
    assert T.record_for(home, manifest, Actor("participant", "room", "Bo", "p1")) is None
    again, queued = T.ensure_tradeoffs(store, manifest, again=True)
    assert queued and set(again.runs.values()).isdisjoint(first.runs.values())
    assert store.count_runs() == 6 and T.latest_record(home) == again


def test_a_comparison_whose_run_is_gone_is_queued_again_and_a_new_upload_starts_fresh(home):
    store = Store(home)
    manifest = saved(home, sensitive="")
    first, _ = T.ensure_tradeoffs(store, manifest)
    store.request_cancel(first.runs["private"])
    assert T.state(store, first) == "broken"
    second, queued = T.ensure_tradeoffs(store, manifest)
    assert queued and second.runs["plain"] != first.runs["plain"]
    # The same name uploaded again later is other data: the old comparison is not its own.
    assert T.record_for(home, dict(manifest, created=second.queued_at + 1)) is None


def test_the_blind_verdict_says_plainly_whether_the_gap_closed():
    assert "closed the gap" in T.blind_verdict(20.0, 1.0, "gender")
    assert "did not close" in T.blind_verdict(20.0, 19.0, "gender")
    assert "narrowed the gap but did not close it" in T.blind_verdict(20.0, 12.0, "gender")
    assert "widened" in T.blind_verdict(5.0, 12.0, "gender")


# -- the command line -------------------------------------------------------------------------


def test_cli_upload_round_trip_and_refusals(home, tmp_path):
    csv = tmp_path / "loans.csv"
    csv.write_bytes(loans_csv())
    env = dict(os.environ, PLAYGROUND_HOME=str(home))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "playground", "upload", str(csv), *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    done = cli("--name", "my_loans", "--target", "approved", "--sensitive", "gender",
               "--leave-out", "gender", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    manifest = uploads.manifest_of("my_loans", home)
    assert out["columns"] == [c["name"] for c in manifest["columns"]] == [
        "age", "annual_income", "years_employed", "loan_amount", "region", "gender"]
    assert out["sensitive"] == "gender" and out["leave_out"] == ["gender"]
    assert out["rows"] == 300 and out["inputs"] == 8
    # The saved dataset trains like any other (the config takes the upload's columns).
    config = make_config(dataset="my_loans", model="mlp", sensitive="gender",
                         leave_out="gender")
    assert "gender = M" not in run_data(config).feature_names
    for args, words in ((("--name", "other", "--target", "approved", "--sensitive", "age"),
                         "age' has"),
                        (("--name", "other", "--target", "approved", "--leave-out", "wage"),
                         "'wage' is not an input column"),
                        (("--name", "my_loans", "--target", "approved"), "already exists")):
        refused = cli(*args, "--json")
        assert refused.returncode == 2 and words in refused.stderr, refused.stderr
    assert [m["name"] for m in uploads.manifests(home)] == ["my_loans"]


def test_a_new_session_shows_the_walkthrough_and_pressing_again_queues_nothing(app_home):
    from tests.app_support import plain
    from tests.test_pages import open_app

    store = Store(app_home)
    manifest = saved(app_home, sensitive="")
    record, _ = T.ensure_tradeoffs(store, manifest)
    while (run := store.claim(os.getpid())) is not None:
        assert execute(store, run) == "finished", store.get(run.id).error
    walk = T.walkthrough(store, manifest, record)
    at = open_app("pages/your_data.py")  # a reload: nothing in the session
    assert walk.headline in [plain(i.value).strip("*") for i in at.info]
    row = at.button(key="your_data_row_my_loans")
    assert row.label == "Show the trade-offs on this data"
    row.click().run()
    assert not at.exception and store.count_runs() == len(record.runs)
    assert walk.headline in [plain(i.value).strip("*") for i in at.info]
    at.button(key="your_data_tradeoffs_again_my_loans").click().run()
    assert store.count_runs() == 2 * len(record.runs)  # only when asked


# -- Runs: mine / stories / everything --------------------------------------------------------


def test_runs_filters_mine_stories_everything_and_by_dataset(app_home):
    from tests.test_pages import open_app

    store = Store(app_home)
    story = queue_story(store, STORIES["privacy"])  # what Home queues
    mine = store.enqueue(make_config(dataset="breast_cancer", model="mlp", epochs=1))
    other = store.enqueue(make_config(dataset="wine", model="mlp", epochs=1))
    assert set(story.values()) <= story_run_ids(app_home)
    for run_id in [*story.values(), mine, other]:  # ended, so they list as cards
        store.request_cancel(run_id)
    at = open_app("pages/runs.py")
    assert not at.exception, [e.value for e in at.exception]

    def shown() -> set[str]:
        return {b.key.split("_")[-1] for b in at.button if b.key.startswith("runs_delete_")}

    assert at.segmented_control(key="runs_scope").value == "mine"  # the person has runs
    assert shown() == {mine, other}
    at.segmented_control(key="runs_scope").set_value("stories").run()
    assert shown() == set(story.values())
    at.segmented_control(key="runs_scope").set_value("everyone").run()
    assert shown() == {mine, other, *story.values()}
    at.selectbox(key="runs_dataset").set_value("wine").run()
    assert shown() == {other}
