"""Bring your own data: every bad file is refused with a message naming problem and fix,
writes nothing and loses nothing; CSV columns are typed and encoded as described; a ZIP of
pictures goes from upload to a run trained by a real worker process and the CLI."""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground.data import uploads
from playground.data.base import _split
from playground.data.catalog import dataset_info, load_dataset, uploaded_dataset_infos
from playground.runs.store import Store
from playground.runs.worker import drain_jobs
from playground.training.config import ConfigError, make_config

ROOT = Path(__file__).resolve().parent.parent


# -- building files ---------------------------------------------------------------------------
def csv_bytes(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def good_csv(n: int = 60) -> bytes:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(n):
        a = rng.normal()
        rows.append(f"{a:.3f},{rng.normal():.3f},{'yes' if a > 0 else 'no'}")
    return csv_bytes("x1,x2,label", rows)


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def bars(kind: str, rng, size: int = 24, colour: tuple | None = None) -> bytes:
    """A picture of a horizontal or vertical bar at a random place."""
    a = np.zeros((size, size, 3), np.uint8)
    k = int(rng.integers(4, size - 4))
    sl = (slice(k - 2, k + 2), slice(None)) if kind == "horizontal" else (slice(None),
                                                                           slice(k - 2, k + 2))
    a[sl] = colour or (255, 255, 255)
    return png(a if colour else a[..., 0])


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def picture_zip(per_class: int = 12, colour: bool = False, prefix: str = "shapes/") -> bytes:
    rng = np.random.default_rng(1)
    colours = {"horizontal": (230, 40, 40), "vertical": (40, 60, 230)}
    return zip_bytes({f"{prefix}{cls}/{i:03}.png": bars(cls, rng, colour=colours[cls]
                                                         if colour else None)
                      for cls in ("horizontal", "vertical") for i in range(per_class)})


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` with a hash of its content."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# -- the bad files ----------------------------------------------------------------------------
class Exploit:
    """Unpickling this would create a marker file: proof that nothing is unpickled."""

    marker = ""

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def pickle_file(tmp_path: Path) -> bytes:
    Exploit.marker = str(tmp_path / "UNPICKLED")
    return pickle.dumps(Exploit())


def forged_size_zip() -> bytes:
    """A member that declares 1,000 bytes but expands to 5 MB (sizes patched in both headers)."""
    data = bytearray(zip_bytes({"a/x.png": b"\0" * 5_000_000}))
    real = struct.pack("<I", 5_000_000)
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(header) + offset
        assert data[at:at + 4] == real
        data[at:at + 4] = struct.pack("<I", 1000)
    return bytes(data)


def symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("cats/link.png")
        info.external_attr = (0o120777 << 16)  # a symbolic link to /etc/passwd
        zf.writestr(info, "/etc/passwd")
        for i in range(12):
            zf.writestr(f"dogs/{i}.png", png(np.full((8, 8), i * 20, np.uint8)))
    return buf.getvalue()


def huge_picture_zip() -> bytes:
    rng = np.random.default_rng(0)
    members = {f"small/{i}.png": bars("horizontal", rng) for i in range(12)}
    members["big/huge.png"] = png(np.zeros((4100, 4100), np.uint8))  # 16.8 M pixels
    return zip_bytes(members)


def many_rows() -> bytes:
    return csv_bytes("x,label", [f"{i},{i % 2}" for i in range(uploads.MAX_ROWS + 1)])


BAD = {
    # case: (file name, bytes or a function of tmp_path, target, words the message must hold)
    "pdf": ("report.pdf", b"%PDF-1.7\n...", None, ["PDF", "Fix:"]),
    "excel workbook": ("sales.xlsx", zip_bytes({"[Content_Types].xml": b"<x/>"}), "y",
                       ["spreadsheet", "save the sheet as CSV"]),
    "pickle": ("model.pkl", pickle_file, None, ["never opened", "Fix:"]),
    "numpy": ("arrays.npy", b"\x93NUMPY\x01\x00", None, ["NumPy", "Fix:"]),
    "json": ("data.json", b'{"a": 1}', None, [".json", "Fix:"]),
    "empty": ("empty.csv", b"", "label", ["empty", "Fix:"]),
    "not a zip": ("pics.zip", b"hello", None, ["not a valid ZIP", "Fix:"]),
    "ragged csv": ("ragged.csv", b"a,b,label\n1,2,x\n1,2,3,4,5\n", "label",
                   ["well-formed", "Fix:"]),
    "no target chosen": ("t.csv", good_csv(), None, ["No target column", "'label'"]),
    "no such target": ("t.csv", good_csv(), "lable", ["no column named 'lable'",
                                                      "Did you mean 'label'"]),
    "single class": ("one.csv", csv_bytes("x,label", [f"{i},a" for i in range(30)]), "label",
                     ["single value", "at least two"]),
    "too many classes": ("many.csv", csv_bytes("x,label", [f"{i},{i % 25}" for i in range(300)]),
                         "label", ["25 different values", "regression", "Fix:"]),
    "tiny class": ("rare.csv", csv_bytes("x,label", [f"{i},{'a' if i < 40 else 'b'}"
                                                     for i in range(43)]), "label",
                   ["fewer than 10 rows", "'b' (3)", "Fix:"]),
    "too many rows": ("big.csv", lambda _: many_rows(), "label",
                      ["more than 20,000 rows", "Fix:"]),
    "above the upload limit": ("huge.csv", lambda _: b"x,label\n" + b"1,a\n" * (
        uploads.MAX_UPLOAD_BYTES // 4 + 2**18), "label", ["26.0 MB, above the upload limit",
                                                          "Fix:"]),
    "too many pixels": ("big.zip", lambda _: huge_picture_zip(), None,
                        ["4100×4100 pixels", "Fix:"]),
    "non-image files": ("mixed.zip", zip_bytes({
        "cats/1.png": png(np.zeros((8, 8), np.uint8)), "cats/notes.txt": b"hi",
        "dogs/run.sh": b"rm -rf /"}), None, ["not pictures", "cats/notes.txt", "dogs/run.sh"]),
    "unreadable picture": ("bad.zip", zip_bytes({
        **{f"a/{i}.png": png(np.full((8, 8), i, np.uint8)) for i in range(12)},
        **{f"b/{i}.png": png(np.full((8, 8), 200 + i, np.uint8)) for i in range(11)},
        "b/broken.png": b"\x89PNG\r\n\x1a\n this is not a picture"}), None,
        ["'b/broken.png' is not a readable picture", "Fix:"]),
    "path traversal": ("evil.zip", zip_bytes({"../evil.png": b"x", "a/1.png": b"y"}), None,
                       ["outside its own folder", "../evil.png", "Nothing was extracted"]),
    "absolute path": ("evil.zip", zip_bytes({"/tmp/evil.png": b"x"}), None,
                      ["outside its own folder", "/tmp/evil.png"]),
    "nested traversal": ("evil.zip", zip_bytes({"cats/../../evil.png": b"x"}), None,
                         ["outside its own folder"]),
    "symlink member": ("link.zip", symlink_zip(), None, ["links", "cats/link.png"]),
    "zip bomb": ("bomb.zip", lambda _: zip_bytes({"a/x.png": b"\0" * (21 * 2**20)}), None,
                 ["ZIP bomb", "was not expanded", "Fix:"]),
    "forged sizes": ("forged.zip", lambda _: forged_size_zip(), None, ["damaged", "Fix:"]),
    "one class folder": ("one.zip", zip_bytes({f"cats/{i}.png": png(
        np.full((8, 8), i, np.uint8)) for i in range(12)}), None,
        ["single class folder", "Fix:"]),
    "loose pictures": ("loose.zip", zip_bytes({"a.png": png(np.zeros((8, 8), np.uint8)),
                                               "b.png": png(np.zeros((8, 8), np.uint8))}),
                       None, ["one folder per class", "Fix:"]),
    "no pictures": ("empty.zip", zip_bytes({"__MACOSX/._x": b"junk"}), None,
                    ["no pictures", "Fix:"]),
}


@pytest.fixture
def existing(home):
    """A dataset already uploaded under the name every bad upload below tries to take."""
    uploads.save(uploads.prepare(good_csv(), "mine.csv", "label", "mine"))
    before = load_dataset("mine", 0)
    return home, before


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_is_refused_with_a_message_and_changes_nothing(case, existing, tmp_path):
    home, before = existing
    filename, data, target, words = BAD[case]
    data = data(tmp_path) if callable(data) else data
    everything = snapshot(tmp_path)
    with pytest.raises(uploads.UploadError) as refused:
        uploads.save(uploads.prepare(data, filename, target, "mine"))
    message = " ".join(refused.value.problems)
    for word in words:
        assert word in message, message
    assert snapshot(tmp_path) == everything  # nothing written anywhere, nothing replaced
    assert not (tmp_path / "UNPICKLED").exists()
    after = load_dataset("mine", 0)
    assert np.array_equal(after.X_train, before.X_train)
    assert [d.name for d in uploaded_dataset_infos()] == ["mine"]


def test_a_good_upload_under_a_taken_name_is_refused_and_the_old_one_kept(existing, tmp_path):
    home, before = existing
    everything = snapshot(tmp_path)
    other = csv_bytes("a,b,label", [f"{i},{i * 2},{i % 3}" for i in range(90)])
    with pytest.raises(uploads.UploadError, match="already exists.*pick another name"):
        uploads.save(uploads.prepare(other, "other.csv", "label", "mine"))
    assert snapshot(tmp_path) == everything
    assert load_dataset("mine", 0).feature_names == ["x1", "x2"]


def test_a_good_upload_writes_only_its_own_folder(home, tmp_path):
    before = snapshot(tmp_path)
    folder = uploads.save(uploads.prepare(picture_zip(), "shapes.zip"))
    added = set(snapshot(tmp_path)) - set(before)
    assert folder == home / "data" / "shapes"
    assert added == {"home/data/shapes/dataset.npz", "home/data/shapes/manifest.json"}
    with np.load(folder / "dataset.npz", allow_pickle=False) as arrays:  # plain arrays only
        assert arrays["X"].dtype == np.uint8 and arrays["y"].dtype == np.int64


@pytest.mark.parametrize("name", ["../escape", "Mine", "digits", "a/b", "x" * 41])
def test_names_that_are_paths_built_ins_or_odd_are_refused(name, home):
    with pytest.raises(uploads.UploadError, match="can't be used|built-in"):
        uploads.prepare(good_csv(), "t.csv", "label", name)
    assert uploads.find(name) is None
    assert not (home / "data").exists()


def test_a_config_naming_a_path_is_refused_without_touching_files(home):
    with pytest.raises(ConfigError, match="dataset: unknown dataset '../../etc'"):
        make_config(dataset="../../etc", model="mlp")


# -- CSV handling -----------------------------------------------------------------------------
MIXED = csv_bytes(
    "age;income;city;smoker;grade;customer_id;constant;empty;label",
    [f"{20 + i % 50};{'' if i % 10 == 3 else ('?' if i == 7 else 1000 + 37 * i)};"
     f"{['Paris', 'Lyon', 'Nice', ''][i % 4]};{'yes' if i % 3 else 'no'};"
     f"{'ABCDEFGHIJKLMNO'[i % 15]};id{i};same;;{'churn' if i % 4 == 0 else 'stay'}"
     for i in range(200)] + [";1;Paris;no;A;idX;same;;"])  # a row without a label


def test_csv_columns_are_typed_encoded_and_reported(home):
    p = uploads.prepare(MIXED, "customers.csv", "label")
    assert p.kind == "tabular" and p.class_names == ["churn", "stay"]
    assert p.class_counts == {"churn": 50, "stay": 150}
    assert p.feature_names == [
        "age", "income", "city = (missing)", "city = Lyon", "city = Nice", "city = Paris",
        "smoker = yes", "grade"]
    notes = " ".join(p.notes)
    assert "1 row without a value in 'label' was left out" in notes
    assert "'income': 1 values that are not numbers ('?')" in notes
    assert "one-hot" in notes and "'city' (4 columns)" in notes and "'smoker' (1 column" in notes
    assert "ordinal codes" in notes and "'grade' (15 categories)" in notes
    assert "'customer_id' (200 different texts: an id or free text)" in notes
    assert "'constant' (the same value in every row)" in notes and "'empty' (empty)" in notes
    assert "Missing numbers are filled with the median of the training rows: 'income' (21)" \
        in notes
    assert p.warnings and "unbalanced" in p.warnings[0]
    # The codes are the categories in alphabetical order; one-hot columns are 0/1.
    assert np.array_equal(p.X[:15, 7], np.arange(15))
    assert set(np.unique(p.X[:, 2:7])) == {0.0, 1.0}
    assert np.isnan(p.X[:, 1]).sum() == 21


def test_missing_values_are_filled_with_the_training_median_and_scaled_on_training(home):
    p = uploads.prepare(MIXED, "customers.csv", "label", "customers")
    uploads.save(p)
    d = load_dataset("customers", seed=3)
    assert not np.isnan(d.X_train).any() and not np.isnan(d.X_test).any()
    # The reference: split the raw matrix the same way, fill with the training median,
    # standardise with the training mean and spread.
    raw_tr, _, raw_val, _, raw_te, _ = _split(p.X.astype(np.float64), p.y, 3)
    med = np.nanmedian(raw_tr[:, 1])
    filled = np.where(np.isnan(raw_tr[:, 1]), med, raw_tr[:, 1])
    mean, std = filled.mean(), filled.std()
    assert np.isnan(raw_val[:, 1]).any()
    expected_val = (np.where(np.isnan(raw_val[:, 1]), med, raw_val[:, 1]) - mean) / std
    assert np.allclose(d.X_val[:, 1], expected_val, atol=1e-5)
    assert np.allclose(d.X_train.mean(axis=0), 0, atol=1e-5)
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (120, 40, 40)
    # Stratified: each split keeps the 1 : 3 class balance.
    assert [int((s == 0).sum()) for s in (d.y_train, d.y_val, d.y_test)] == [30, 10, 10]
    assert dataset_info("customers").kind == "tabular"


def test_numbers_as_target_sort_as_numbers_and_tabs_and_latin1_are_read(home):
    rows = [f"{i}\t{'é' if i % 2 else 'e'}\t{[10, 9, 100][i % 3]}" for i in range(60)]
    data = ("x\tword\tgrade\n" + "\n".join(rows)).encode("cp1252")
    p = uploads.prepare(data, "grades.tsv", "grade")
    assert p.class_names == ["9", "10", "100"]
    assert p.feature_names == ["x", "word = é"]
    assert any("not UTF-8" in n for n in p.notes)


# -- pictures ---------------------------------------------------------------------------------
def test_greyscale_pictures_stay_greyscale_colour_pictures_keep_colour(home):
    grey = uploads.prepare(picture_zip(), "shapes.zip")
    assert grey.image_shape == (1, 16, 16) and grey.X.shape == (24, 1, 16, 16)
    assert grey.class_names == ["horizontal", "vertical"]
    assert any("greyscale" in n for n in grey.notes)
    colour = uploads.prepare(picture_zip(colour=True, prefix=""), "colour.zip")
    assert colour.image_shape == (3, 16, 16)
    assert any("colour" in n for n in colour.notes)
    # A red horizontal bar is red: the red channel is brighter than the blue one.
    red = colour.X[colour.y == 0]
    assert red[:, 0].mean() > 2 * red[:, 2].mean()


def test_system_files_in_a_zip_are_ignored_and_reported(home):
    members = {"shapes/__MACOSX/._x.png": b"junk", "shapes/.DS_Store": b"junk"}
    data = zip_bytes(members)
    with zipfile.ZipFile(io.BytesIO(picture_zip())) as zf:
        data = zip_bytes({**members, **{n: zf.read(n) for n in zf.namelist()}})
    p = uploads.prepare(data, "shapes.zip")
    assert len(p.y) == 24 and any("2 system file(s)" in n for n in p.notes)


def test_picture_zip_trains_in_a_real_worker_process(home):
    """Upload -> saved dataset -> a queued run -> trained by `python -m playground worker`
    (a separate process that finds the dataset on disk) -> its model loads back."""
    from playground.training.artifacts import load_run

    name = uploads.save(uploads.prepare(picture_zip(per_class=15), "shapes.zip")).name
    store = Store(home)
    run_id = store.enqueue(make_config(dataset=name, model="cnn", epochs=2, batch_size=8))
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_HOME"}  # --home must do
    done = subprocess.run(
        [sys.executable, "-m", "playground", "--home", str(home), "worker", "--max-runs", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    run = store.get(run_id)
    assert run.status == "finished", run.error
    assert run.metrics["test_examples"] == 6 and run.metrics["class_names"] == [
        "horizontal", "vertical"]
    loaded = load_run(store, run_id)
    assert loaded.data.image_shape == (1, 16, 16)
    assert loaded.data.X_test.shape == (6, 1, 16, 16) and loaded.data.X_test.max() <= 1


def test_cli_imports_a_csv_once_and_trains_on_it(home, tmp_path):
    path = tmp_path / "Customer Churn.csv"
    path.write_bytes(MIXED)
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_HOME"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "playground", "--home", str(home), *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    first = cli("train", "--dataset", str(path), "--target", "label", "--model", "mlp",
                "--epochs", "2", "--json")
    assert first.returncode == 0, first.stderr
    assert "as dataset 'customer_churn'" in first.stderr
    result = json.loads(first.stdout)
    assert result["status"] == "finished" and result["config"]["dataset"] == "customer_churn"
    assert result["metrics"]["test_examples"] == 40
    again = cli("train", "--dataset", str(path), "--target", "label", "--model", "logreg",
                "--epochs", "1", "--background")
    assert again.returncode == 0, again.stderr
    assert [m["name"] for m in uploads.manifests(home)] == ["customer_churn"]  # reused
    refused = cli("train", "--dataset", str(path), "--target", "churned")
    assert refused.returncode == 2
    assert "no column named 'churned'" in refused.stderr and "Fix:" in refused.stderr
    assert [m["name"] for m in uploads.manifests(home)] == ["customer_churn"]


# -- the Your data page ------------------------------------------------------------------------
@pytest.fixture
def page_home(app_home):
    return app_home


def checked(at, home: Path):
    """The page queued the file's check and waits: do the worker's part here (the real
    worker process is in tests/test_upload_jobs.py), then let the page show what was found."""
    assert not at.exception, [e.value for e in at.exception]
    assert any("Checking the data" in i.value for i in at.info)
    assert drain_jobs(Store(home)) >= 1
    return at.run()


def test_your_data_page_previews_a_csv_then_trains_on_it(page_home):
    from tests.test_pages import open_app

    home = page_home
    at = open_app("pages/your_data.py")
    assert at.title[0].value == "Your data"
    at.file_uploader(key="your_data_file").set_value(("customers.csv", MIXED, "text/csv")).run()
    at = checked(at, home)
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="your_data_target").value == "label"  # guessed from its name
    text = " ".join(m.value for m in at.markdown).replace("\\", "")  # Markdown escapes
    # The person's columns (age, income, city, smoker, grade), not the model's 8 inputs,
    # which only the details mention.
    assert "**200** rows" in text and "**5** input columns" in text
    assert "The 5 columns became 8 inputs of the model" in text
    assert "'customer_id' (200 different texts" in text
    assert any("unbalanced" in w.value for w in at.warning)
    assert len(at.dataframe) == 1 and len(list(at.get("vega_lite_chart"))) == 1
    assert not (home / "data").exists()  # nothing saved before the user says so
    controls = [at.file_uploader(key="your_data_file"), at.selectbox(key="your_data_target"),
                at.text_input(key="your_data_name_customers.csv")]
    assert all("Learn → Glossary" in c.help for c in controls)
    at.text_input(key="your_data_name_customers.csv").set_value("churn").run()
    at.button(key="your_data_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # Saved and a first run queued at once; the Runs page shows it waiting.
    assert at.title[0].value == "Runs"
    assert [m["name"] for m in uploads.manifests(home)] == ["churn"]
    queued = Store(home).list_runs(("queued",))
    assert [(r.config.dataset, r.config.model) for r in queued] == [("churn", "mlp")]


def test_your_data_page_names_the_problem_of_a_bad_file(page_home):
    from tests.test_pages import open_app

    home = page_home
    at = open_app("pages/your_data.py")
    at.file_uploader(key="your_data_file").set_value(
        ("evil.zip", BAD["path traversal"][1], "application/zip")).run()
    at = checked(at, home)
    assert not at.exception, [e.value for e in at.exception]
    shown = at.error[0].value.replace("\\", "")  # Markdown escapes
    assert "outside its own folder" in shown and "Fix:" in shown
    assert "your_data_save" not in [b.key for b in at.button]
    assert not (home / "data").exists()


def test_your_data_page_takes_a_colour_picture_zip_to_train(page_home):
    from tests.test_pages import open_app

    at = open_app("pages/your_data.py")
    at.file_uploader(key="your_data_file").set_value(
        ("shapes.zip", picture_zip(colour=True), "application/zip")).run()
    at = checked(at, page_home)
    assert not at.exception, [e.value for e in at.exception]
    assert "16×16 pixels, colour" in " ".join(m.value for m in at.markdown)
    assert len(at.image) == 2  # a row of pictures per class
    at.button(key="your_data_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Runs"  # saved, and a first run on it queued
    queued = Store(page_home).list_runs(("queued",))
    assert [(r.config.dataset, r.config.model) for r in queued] == [("shapes", "cnn")]
    at = open_app("pages/your_data.py")
    at.button(key="your_data_use_shapes").click().run()  # its row opens Train with it
    assert at.title[0].value == "Train a model"
    assert at.selectbox(key="train_dataset").value == "shapes"
    assert at.selectbox(key="train_model_image").value == "cnn"
    # The Train page's preview shows the 14 training pictures (fewer than it usually shows).
    assert len(at.image) == 1 and len(at.image[0].proto.imgs) == 14


def test_runs_on_a_deleted_upload_still_list_and_say_why_they_cannot_be_trained_again(home):
    import shutil

    from playground.training.config import retrain_problems

    saved = uploads.save(uploads.prepare(good_csv(), "mine.csv", "label", name="mine"))
    store = Store(home)
    run_id = store.enqueue(make_config(dataset="mine", model="logreg", epochs=1))
    assert retrain_problems(store.get(run_id).config) == []
    shutil.rmtree(saved)  # the person deletes the upload on Your data
    runs = store.list_runs()  # still lists (it used to raise for every page)
    assert [r.id for r in runs] == [run_id] and runs[0].config.dataset == "mine"
    problems = retrain_problems(runs[0].config)
    assert problems and "mine" in problems[0]
