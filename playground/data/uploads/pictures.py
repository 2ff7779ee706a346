"""Uploaded pictures (a ZIP, one folder per class): read safely, resize, stack."""
from __future__ import annotations

import io
import re
import stat
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from playground.common.formatting import human_bytes
from playground.data.uploads.limits import (
    IMAGE_EXTENSIONS,
    IMAGE_SIDE,
    JUNK_NAMES,
    MAX_CLASSES,
    MAX_EXPANDED_BYTES,
    MAX_EXPANSION,
    MAX_IMAGE_PIXELS,
    MAX_IMAGES,
    MAX_MEMBER_BYTES,
    MAX_ZIP_MEMBERS,
    MIN_PER_CLASS,
    PIL_FORMATS,
    Prepared,
    UploadError,
    _listing,
    check_time,
)


# -- ZIP of pictures ---------------------------------------------------------------------------
def _unsafe_member(info: zipfile.ZipInfo) -> bool:
    """Names that would point outside a folder if extracted, and links."""
    name = info.filename
    parts = re.split(r"[\\/]+", name)
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return True
    if any(p == ".." for p in parts):
        return True
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_junk(parts: list[str]) -> bool:
    return any(p == "__MACOSX" for p in parts) or parts[-1].lower() in JUNK_NAMES or \
        parts[-1].startswith("._")


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """Stream one member, stopping as soon as it is bigger than declared or than the caps,
    so a forged header can't make us expand gigabytes."""
    cap = min(info.file_size, MAX_MEMBER_BYTES, budget)
    out = bytearray()
    with zf.open(info) as f:
        while chunk := f.read(1 << 16):
            out += chunk
            if len(out) > cap:
                raise UploadError(
                    f"'{info.filename}' expands beyond its declared size or the limits "
                    f"({human_bytes(MAX_MEMBER_BYTES, 'MB')} per file, "
                    f"{human_bytes(MAX_EXPANDED_BYTES, 'MB')} in all): "
                    "the ZIP looks like a ZIP bomb. Fix: zip the picture folders again "
                    "with an ordinary tool.")
    return bytes(out)


def _prepare_zip(data: bytes, filename: str, name: str, source: dict,
                 deadline: float | None = None) -> Prepared:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadError(f"{filename} is not a readable ZIP archive ({exc}). Fix: zip the "
                          "folder of class folders again and upload it.") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UploadError(f"{filename} holds {len(infos):,} files, more than "
                          f"{MAX_ZIP_MEMBERS:,}. Fix: upload at most {MAX_IMAGES:,} pictures.")
    unsafe = [i.filename for i in infos if _unsafe_member(i)]
    if unsafe:
        raise UploadError(
            f"{filename} contains paths that point outside its own folder or links "
            f"({_listing(unsafe, 3)}). Nothing was extracted. Fix: zip the class folders "
            "themselves, with plain relative names like cats/001.png.")
    if any(i.flag_bits & 0x1 for i in infos):
        raise UploadError(f"{filename} is password-protected. Fix: zip the folders again "
                          "without a password.")
    files = [i for i in infos if not i.is_dir()]
    declared = sum(i.file_size for i in files)
    big = [i.filename for i in files if i.file_size > MAX_MEMBER_BYTES]
    if big or declared > MAX_EXPANDED_BYTES or (
            declared > 10 * 1024 * 1024 and declared > MAX_EXPANSION * len(data)):
        raise UploadError(
            f"{filename} would expand from {human_bytes(len(data), 'MB')} to "
            f"{human_bytes(declared, 'MB')}"
            + (f" ({_listing(big, 3)} alone above {human_bytes(MAX_MEMBER_BYTES, 'MB')})"
               if big else "")
            + f": far beyond its size or the limit of {human_bytes(MAX_EXPANDED_BYTES, 'MB')}, "
            "the mark of a "
            "ZIP bomb. It was not expanded. Fix: upload an ordinary ZIP of small pictures.")

    pictures, junk, other = [], 0, []
    for info in files:
        parts = [p for p in re.split(r"[\\/]+", info.filename) if p]
        if _is_junk(parts):
            junk += 1
        elif Path(parts[-1]).suffix.lower() in IMAGE_EXTENSIONS:
            pictures.append((parts, info))
        else:
            other.append(info.filename)
    if other:
        raise UploadError(
            f"{filename} contains files that are not pictures: {_listing(other, 5)}. Fix: "
            f"keep only pictures ({', '.join(sorted(IMAGE_EXTENSIONS))}) in the class "
            "folders and zip them again.")
    if not pictures:
        raise UploadError(f"{filename} contains no pictures. Fix: zip one folder per class, "
                          "each holding that class's pictures (e.g. cats/…, dogs/…).")
    if len(pictures) > MAX_IMAGES:
        raise UploadError(f"{filename} holds {len(pictures):,} pictures, more than "
                          f"{MAX_IMAGES:,}. Fix: upload a sample of at most {MAX_IMAGES:,}.")
    # A ZIP of a folder wraps everything in that folder: strip shared top folders.
    while all(len(p) >= 3 for p, _ in pictures) and len({p[0] for p, _ in pictures}) == 1:
        pictures = [(p[1:], i) for p, i in pictures]
    loose = [i.filename for p, i in pictures if len(p) != 2]
    if loose:
        raise UploadError(
            f"{filename} must hold one folder per class with the pictures directly inside; "
            f"these are not: {_listing(loose, 3)}. Fix: arrange it as class_name/picture.png "
            "(one level of folders) and zip again.")

    images, labels, unreadable, colour = [], [], [], False
    budget = MAX_EXPANDED_BYTES
    for parts, info in sorted(pictures, key=lambda pi: pi[1].filename):
        check_time(deadline, filename)
        try:
            raw = _read_capped(zf, info, budget)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise UploadError(f"'{info.filename}' in {filename} is damaged ({exc}). Fix: zip "
                              "the folders again.") from None
        budget -= len(raw)
        picture, problem = _decode_picture(raw, info.filename)
        if problem:
            unreadable.append(problem)
            continue
        colour = colour or _has_colour(picture)
        images.append(picture)
        labels.append(parts[0])
    if unreadable:
        raise UploadError(
            f"{len(unreadable)} picture(s) in {filename} can't be used: "
            f"{'; '.join(unreadable[:4])}{' …' if len(unreadable) > 4 else ''}. Fix: remove or "
            "replace them (re-save them as PNG or JPEG) and zip again.")
    class_names = sorted(set(labels), key=str.lower)
    if len(class_names) < 2:
        raise UploadError(
            f"{filename} has a single class folder ('{class_names[0]}'): there is nothing to "
            "tell apart. Fix: add at least one more folder of pictures of another class.")
    if len(class_names) > MAX_CLASSES:
        raise UploadError(f"{filename} has {len(class_names)} class folders, more than the "
                          f"{MAX_CLASSES} allowed. Fix: merge or remove some classes.")
    index = {c: i for i, c in enumerate(class_names)}
    y = np.array([index[c] for c in labels], dtype=np.int64)
    counts = np.bincount(y, minlength=len(class_names))
    rare = [f"'{class_names[i]}' ({int(n)})" for i, n in enumerate(counts) if n < MIN_PER_CLASS]
    if rare:
        raise UploadError(
            f"Some class folders have fewer than {MIN_PER_CLASS} pictures: {', '.join(rare)}. "
            "Fix: add pictures to them, so training, validation and test each get some.")
    channels = 3 if colour else 1
    X = np.stack([_to_array(im, channels) for im in images])
    notes = [f"Pictures resized to {IMAGE_SIDE}×{IMAGE_SIDE} pixels (stretched to a square) "
             "so a run trains in seconds on a laptop CPU, like the 8×8 digits."]
    notes.append("Kept in colour (3 channels), because some pictures have colour."
                 if colour else "Kept in greyscale (1 channel): no picture has colour, and one "
                 "channel is a third of the work.")
    if junk:
        notes.append(f"{junk} system file(s) (__MACOSX, .DS_Store, Thumbs.db) were ignored.")
    return Prepared(name, "image", X, y, class_names,
                    [f"pixel ({r},{c})" for r in range(IMAGE_SIDE) for c in range(IMAGE_SIDE)],
                    source, notes, image_shape=(channels, IMAGE_SIDE, IMAGE_SIDE))


def _decode_picture(raw: bytes, member: str):
    """(a small RGB PIL image, None) or (None, why it can't be used)."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw), formats=PIL_FORMATS)
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:
                return None, (f"'{member}' is {w}×{h} pixels, more than "
                              f"{MAX_IMAGE_PIXELS:,} pixels per picture")
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                background = Image.new("RGBA", img.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, img.convert("RGBA"))
            img = img.convert("RGB").resize((IMAGE_SIDE, IMAGE_SIDE),
                                            Image.Resampling.LANCZOS, reducing_gap=3.0)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, f"'{member}' has too many pixels"
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return None, f"'{member}' is not a readable picture ({type(exc).__name__})"
    return img, None


def _has_colour(img) -> bool:
    a = np.asarray(img, dtype=np.int16)
    return bool((np.abs(a - a.mean(axis=2, keepdims=True)).max(axis=2) > 8).mean() > 0.01)


def _to_array(img, channels: int) -> np.ndarray:
    if channels == 1:
        return np.asarray(img.convert("L"), dtype=np.uint8)[None]
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)
