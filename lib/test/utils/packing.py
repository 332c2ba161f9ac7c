"""Submission zips for the GOT-10k and TrackingNet evaluation servers (spec 1.9).

Zip layouts (as the original's ``shutil.make_archive`` of the submit folder):
* GOT-10k: ``<seq>/`` plus ``<seq>/<seq>_001.txt`` (comma-separated boxes) and ``<seq>/<seq>_time.txt``.
* TrackingNet: ``<seq>.txt`` (comma-separated boxes) at the top level; no time files.
Fixes (spec 1.9, 8.6 item 44): values are copied as written (no int cast, so float results stay lossless; the
original's ``np.int`` also no longer exists), the raw results are kept (the original deleted them), and the
submission is checked before zipping: the number of sequences and, per sequence, the line counts of box and
time files (against the number of frames when the dataset is available).
"""

from __future__ import annotations

import argparse
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lib.test.evaluation.datasets import load_dataset
from lib.test.evaluation.results import dataset_results_dir, tracker_results_dir
from lib.utils.environment import EnvSettings, env_settings
from lib.utils.cli import int_flag
from lib.utils.errors import OSTrackError, PathSettingsError

__all__ = ["SubmissionError", "ExpectedSequences", "OFFICIAL_COUNTS", "to_comma_lines", "pack_got10k",
           "pack_trackingnet", "collect_results", "expected_from_dataset", "run_packer"]

logger = logging.getLogger(__name__)

OFFICIAL_COUNTS = {"got10k": 180, "trackingnet": 511}


class SubmissionError(OSTrackError):
    """The results are not a complete, consistent submission."""


@dataclass(frozen=True)
class ExpectedSequences:
    """What the submission must contain: sequence names and, when known, their frame counts."""

    names: tuple[str, ...] | None = None
    frames: dict | None = None
    count: int | None = None


def to_comma_lines(text: str) -> str:
    """Rewrite rows separated by tabs/spaces/commas as comma-separated rows, keeping every token verbatim."""
    rows = []
    for line in text.splitlines():
        tokens = line.replace(",", " ").replace("\t", " ").split()
        if tokens:
            rows.append(",".join(tokens))
    return "".join(row + "\n" for row in rows)


def _line_count(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def collect_results(folder: Path) -> dict[str, Path]:
    """Box files of a results folder by sequence name (time files and names containing 'all' are skipped)."""
    if not folder.is_dir():
        raise SubmissionError(f"results folder {folder} does not exist; run tracking/test.py on the test split "
                              f"first.")
    return {p.stem: p for p in sorted(folder.glob("*.txt"))
            if not p.stem.endswith("_time") and "all" not in p.stem}


def _check(results: dict[str, Path], expected: ExpectedSequences, dataset: str, with_times: bool,
           allow_incomplete: bool) -> dict[str, tuple[str, str | None]]:
    count_problems, content_problems = [], []
    count = expected.count if expected.count is not None else OFFICIAL_COUNTS[dataset]
    if expected.names is not None:
        missing = sorted(set(expected.names) - set(results))
        extra = sorted(set(results) - set(expected.names))
        if missing:
            count_problems.append(f"{len(missing)} sequence(s) have no result: {', '.join(missing[:5])}"
                                  f"{' ...' if len(missing) > 5 else ''}")
        if extra:
            content_problems.append(f"{len(extra)} result file(s) are not in the dataset: {', '.join(extra[:5])}")
    elif len(results) != count:
        count_problems.append(f"found {len(results)} sequences, the {dataset} test set has {count}")
    contents = {}
    for name, path in results.items():
        boxes = path.read_text(encoding="utf-8")
        n_boxes = _line_count(boxes)
        times = None
        if with_times:
            time_path = path.with_name(f"{name}_time.txt")
            if time_path.is_file():
                times = time_path.read_text(encoding="utf-8")
                if _line_count(times) != n_boxes:
                    content_problems.append(f"{name}: {n_boxes} boxes but {_line_count(times)} times")
            else:
                content_problems.append(f"{name}: no time file {time_path.name}")
        n_frames = (expected.frames or {}).get(name)
        if n_frames is not None and n_boxes != n_frames:
            content_problems.append(f"{name}: {n_boxes} boxes for {n_frames} frames")
        if n_boxes == 0:
            content_problems.append(f"{name}: empty result file")
        contents[name] = (boxes, times)
    fatal = content_problems + ([] if allow_incomplete else count_problems)
    if fatal:
        raise SubmissionError(f"the {dataset} results are not a valid submission:\n  " + "\n  ".join(fatal[:20])
                              + ("\n  ..." if len(fatal) > 20 else "")
                              + "\nNothing was zipped. Rerun tracking/test.py (finished sequences are skipped)"
                              + ("" if allow_incomplete else ", or pass --allow_incomplete 1 for a partial zip")
                              + ".")
    for problem in count_problems:
        logger.warning("%s", problem)
    return contents


def pack_got10k(results_folder: Path, zip_path: Path, expected: ExpectedSequences = ExpectedSequences(),
                allow_incomplete: bool = False) -> Path:
    """Zip ``<results>/got10k/*.txt`` into the GOT-10k server layout; returns the zip path."""
    results = collect_results(results_folder)
    contents = _check(results, expected, "got10k", with_times=True, allow_incomplete=allow_incomplete)
    entries: dict[str, str] = {}
    for name, (boxes, times) in sorted(contents.items()):
        entries[f"{name}/"] = ""
        entries[f"{name}/{name}_001.txt"] = to_comma_lines(boxes)
        if times is not None:
            entries[f"{name}/{name}_time.txt"] = times
    return _write_zip(zip_path, entries)


def pack_trackingnet(results_folder: Path, zip_path: Path, expected: ExpectedSequences = ExpectedSequences(),
                     allow_incomplete: bool = False) -> Path:
    """Zip ``<results>/trackingnet/*.txt`` into the TrackingNet server layout; returns the zip path."""
    results = collect_results(results_folder)
    contents = _check(results, expected, "trackingnet", with_times=False, allow_incomplete=allow_incomplete)
    return _write_zip(zip_path, {f"{name}.txt": to_comma_lines(boxes) for name, (boxes, _) in sorted(contents.items())})


def _write_zip(zip_path: Path, entries: dict[str, str]) -> Path:
    """Write the entries (archive name -> text) to a temporary zip, then rename it into place."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    tmp.replace(zip_path)
    return zip_path


def expected_from_dataset(dataset_name: str, env: EnvSettings) -> ExpectedSequences:
    """Names and frame counts from the dataset on disk; only the official count when it is not available."""
    try:
        dataset = load_dataset(dataset_name, env)
    except PathSettingsError as err:
        logger.warning("cannot check against the dataset (%s); checking the sequence count only", err)
        return ExpectedSequences()
    sequences = dataset.get_sequence_list()
    return ExpectedSequences(names=tuple(s.name for s in sequences), frames={s.name: len(s.frames) for s in sequences},
                             count=len(sequences))


def run_packer(argv: list[str] | None, dataset_name: str, dataset_tag: str, pack_fn: Callable[..., Path],
               description: str) -> str:
    """Command-line logic shared by transform_got10k.py and transform_trackingnet.py (original arguments).

    Returns the line to print.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tracker_name", type=str, required=True, help="tracker name, e.g. ostrack")
    parser.add_argument("--cfg_name", type=str, required=True, help="parameter (config) name")
    parser.add_argument("--runid", type=int, default=None, help="run id of the results folder")
    parser.add_argument("--save_dir", type=str, default=None, help="output folder (results in test/tracking_results)")
    parser.add_argument("--data_dir", type=str, default=None, help="data folder (to check against the dataset)")
    parser.add_argument("--allow_incomplete", type=int_flag, default=0, help="1: zip even if sequences are missing")
    parser.add_argument("--output", type=str, default=None, help="zip file (default <results>/<dataset>_submit.zip)")
    args = parser.parse_args(argv)
    env = env_settings(save_dir=args.save_dir, data_dir=args.data_dir)
    results_dir = tracker_results_dir(env.results_path, args.tracker_name, args.cfg_name, args.runid)
    source = dataset_results_dir(results_dir, dataset_tag)
    zip_path = Path(args.output) if args.output else results_dir / f"{dataset_tag}_submit.zip"
    expected = expected_from_dataset(dataset_name, env)
    out = pack_fn(source, zip_path, expected, allow_incomplete=bool(args.allow_incomplete))
    return f"wrote {out} ({len(collect_results(source))} sequences); raw results kept in {source}"
