"""File metrics with OSWorld's names: PDF page counts, images, audio, directory listings, zip archives.

=======================  ===============================================================================
``check_pdf_pages``      the PDF's page count relates to ``rules.ref_value`` by ``rules.relation``
                         (``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``; pypdf)
``compare_images``       structural similarity (SSIM, scikit-image) of the two images in grey, the larger
                         resized to the smaller (0..1; 1 = same picture)
``compare_image_list``   pairs of images (lists, or one each) are pixel-identical (Pillow ``ImageChops``)
``compare_audios``       1 if the two audio files hold the same bytes (an embedded copy of the file), else
                         0 (OSWorld scores a fuzzy MFCC similarity; an exact copy scores 1 in both)
``check_moved_jpgs``     the directory listing (``list_directory``) holds exactly ``rules.expected`` names
``compare_zip_files``    the two archives hold the same member names with the same bytes
=======================  ===============================================================================
"""

from __future__ import annotations

import hashlib
import logging
import operator
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
MAX_PIXELS = 40_000_000


def _file(path: Any) -> Path | None:
    if not isinstance(path, (str, Path)) or not Path(str(path)).is_file():
        return None
    return Path(str(path))


def check_pdf_pages(pdf: Any, rules: dict[str, Any], **_: Any) -> float:
    from pypdf import PdfReader

    f = _file(pdf)
    relation = RELATIONS.get(str(rules.get("relation")))
    if f is None or relation is None:
        return 0.0
    try:
        pages = len(PdfReader(str(f)).pages)
    except Exception as exc:  # noqa: BLE001 - unreadable -> 0
        log.info("cannot read PDF %s: %s", f, exc)
        return 0.0
    return float(relation(pages, rules.get("ref_value")))


def compare_images(image1: Any, image2: Any, **_: Any) -> float:
    import numpy as np
    from PIL import Image
    from skimage.metrics import structural_similarity

    f1, f2 = _file(image1), _file(image2)
    if f1 is None or f2 is None:
        return 0.0
    try:
        with Image.open(f1) as a, Image.open(f2) as b:
            if a.width * a.height > MAX_PIXELS or b.width * b.height > MAX_PIXELS:
                return 0.0
            size = (min(a.width, b.width), min(a.height, b.height))
            if min(size) < 7:
                return 0.0
            ga = np.asarray(a.convert("L").resize(size, Image.Resampling.LANCZOS), dtype=float)
            gb = np.asarray(b.convert("L").resize(size, Image.Resampling.LANCZOS), dtype=float)
    except Exception as exc:  # noqa: BLE001 - unreadable -> 0
        log.info("cannot read images %s, %s: %s", f1, f2, exc)
        return 0.0
    ssim = structural_similarity(ga, gb, data_range=255.0)  # type: ignore[no-untyped-call]
    return max(0.0, float(ssim))


def compare_image_list(images1: Any, images2: Any, **_: Any) -> float:
    from PIL import Image, ImageChops

    list1 = images1 if isinstance(images1, list) else [images1]
    list2 = images2 if isinstance(images2, list) else [images2]
    if not list1 or len(list1) != len(list2):
        return 0.0
    for a, b in zip(list1, list2, strict=True):
        f1, f2 = _file(a), _file(b)
        if f1 is None or f2 is None:
            return 0.0
        try:
            with Image.open(f1) as i1, Image.open(f2) as i2:
                if i1.width * i1.height > MAX_PIXELS or i1.size != i2.size:
                    return 0.0
                if ImageChops.difference(i1.convert("RGB"), i2.convert("RGB")).getbbox() is not None:
                    return 0.0
        except Exception as exc:  # noqa: BLE001 - unreadable -> 0
            log.info("cannot read images %s, %s: %s", f1, f2, exc)
            return 0.0
    return 1.0


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def compare_audios(audio1: Any, audio2: Any, **_: Any) -> float:
    f1, f2 = _file(audio1), _file(audio2)
    if f1 is None or f2 is None:
        return 0.0
    return float(_digest(f1) == _digest(f2))


def check_moved_jpgs(listing: Any, rules: dict[str, Any], **_: Any) -> float:
    if not isinstance(listing, dict):
        return 0.0
    names = [str(c.get("name")) for c in listing.get("children", []) if isinstance(c, dict)]
    want = [str(n) for n in rules.get("expected", [])]
    return float(len(names) == len(want) and set(names) == set(want))


def compare_zip_files(zip1: Any, zip2: Any, **_: Any) -> float:
    f1, f2 = _file(zip1), _file(zip2)
    if f1 is None or f2 is None:
        return 0.0
    try:
        with zipfile.ZipFile(f1) as a, zipfile.ZipFile(f2) as b:
            if sorted(a.namelist()) != sorted(b.namelist()):
                return 0.0
            for info in a.infolist():
                other = b.getinfo(info.filename)
                if info.CRC != other.CRC or info.file_size != other.file_size:
                    return 0.0
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        log.info("cannot read archives %s, %s: %s", f1, f2, exc)
        return 0.0
    return 1.0


METRICS: dict[str, Callable[..., float]] = {
    "check_pdf_pages": check_pdf_pages,
    "compare_images": compare_images,
    "compare_image_list": compare_image_list,
    "compare_audios": compare_audios,
    "check_moved_jpgs": check_moved_jpgs,
    "compare_zip_files": compare_zip_files,
}
