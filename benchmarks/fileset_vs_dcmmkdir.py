"""`mediastation fileset index` against DCMTK's `dcmmkdir +r -Pgp` on the same trees.

Not a test: run it by hand, e.g. `nice .venv/bin/python benchmarks/fileset_vs_dcmmkdir.py`.
It generates three trees of small synthetic CT images (generation is not timed), lays them out
with conformant file IDs and times, one run each:

- our writer in-process (`index_tree`, best of five interleaved rounds) and through the CLI (a new Python process, as a
  user runs it),
- `dcmmkdir +r -Pgp +F ID +D DICOMDIR <top-level dirs>` with cwd = the tree (it refuses `.`).

Targets (exit status 1 when one is missed):
- 2,000 instances in 4 series: our CLI at most dcmmkdir's time;
- 8,000 instances in one series: our CLI at most 1/20 of dcmmkdir's time (dcmmkdir is quadratic
  per series);
- doubling the instances (2,000 -> 4,000, 4 series each) at most doubles our time (x2.2), measured
  in-process so the constant start-up of Python does not flatter the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from mediastation.dicom.fileset import index_tree, verify_fileset  # noqa: E402
from support.synthetic import make_study  # noqa: E402

TREES = {"2000x4": (500, 4), "4000x4": (1000, 4), "8000x1": (8000, 1)}
IN_PROCESS_RUNS = 5  # best of five, interleaved: the scaling check compares algorithms, not the neighbours' load


@dataclass
class Timing:
    seconds: float
    max_rss_mb: float | None = None


def generate(tree: Path, images: int, series: int) -> None:
    """A study of `series` x `images` 16x16 CT images laid out as PT000000/ST000000/SEnnnnnn/IMnnnnnn."""
    if (tree / "PT000000").is_dir():
        return
    raw = tree.with_name(tree.name + "_raw")
    shutil.rmtree(raw, ignore_errors=True)
    started = time.perf_counter()
    make_study(raw, images=images, series=series, rows=16, cols=16, seed=images * 10 + series,
               patient_name="Mäkelä^Åsa", accession="BENCH0001")
    for study_dir in raw.iterdir():
        for s, series_dir in enumerate(sorted(study_dir.iterdir())):
            target = tree / "PT000000" / "ST000000" / f"SE{s:06d}"
            target.mkdir(parents=True)
            for i, path in enumerate(sorted(series_dir.iterdir())):
                os.rename(path, target / f"IM{i:06d}")
    shutil.rmtree(raw)
    print(f"  generated {tree.name}: {images * series} files in {time.perf_counter() - started:.1f} s "
          "(not timed)", file=sys.stderr)


def run_timed(command: list[str], cwd: Path) -> Timing:
    """Wall time (and peak RSS through GNU time, when installed) of one child process."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile(prefix="rss-") as rss:
        wrapped = [gnu_time, "-f", "%M", "-o", rss.name, *command] if gnu_time else command
        started = time.perf_counter()
        result = subprocess.run(wrapped, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): "
                             f"{result.stderr.decode(errors='replace')[-2000:]}")
        text = Path(rss.name).read_text().strip().splitlines() if gnu_time else []
    return Timing(seconds, int(text[-1]) / 1024 if text and text[-1].isdigit() else None)


def in_process(trees: list[Path]) -> dict[str, Timing]:
    """Best of IN_PROCESS_RUNS rounds, the trees interleaved so a burst of load hits them alike."""
    best = {tree.name: float("inf") for tree in trees}
    for _round in range(IN_PROCESS_RUNS):
        for tree in trees:
            (tree / "DICOMDIR").unlink(missing_ok=True)
            started = time.perf_counter()
            index_tree(tree, fileset_id="BENCH")
            best[tree.name] = min(best[tree.name], time.perf_counter() - started)
    for tree in trees:
        problems = verify_fileset(tree)  # not timed: the result must be sound, or the figures mean nothing
        if problems:
            raise SystemExit(f"{tree.name}: our DICOMDIR is not sound: {problems[:5]}")
    return {name: Timing(seconds) for name, seconds in best.items()}


def one_run_each(tree: Path) -> dict[str, Timing]:
    """The CLI as a user runs it, then dcmmkdir, on the same tree."""
    cli = run_timed([sys.executable, "-m", "mediastation", "fileset", "index", str(tree), "--id", "BENCH"], REPO)
    tops = sorted(p.name for p in tree.iterdir() if p.is_dir())
    dcmtk = run_timed(["dcmmkdir", "+r", "-Pgp", "+F", "BENCH", "+D", "DICOMDIR", *tops], tree)
    return {"cli": cli, "dcmmkdir": dcmtk}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, help="keep the generated trees here (reused on the next run)")
    args = parser.parse_args()
    if shutil.which("dcmmkdir") is None:
        raise SystemExit("dcmmkdir (DCMTK) is not installed: apt-get install dcmtk")
    holder = None if args.workdir else tempfile.TemporaryDirectory(prefix="fileset-bench-")
    work = args.workdir or Path(holder.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    try:
        trees = [work / name for name in TREES]
        for tree in trees:
            generate(tree, *TREES[tree.name])
        print("  timing our writer in-process ...", file=sys.stderr)
        ours = in_process(trees)
        results = {}
        for tree in trees:
            print(f"  timing the CLI and dcmmkdir on {tree.name} ...", file=sys.stderr)
            results[tree.name] = {"ours": ours[tree.name], **one_run_each(tree)}
    finally:
        if holder is not None:
            holder.cleanup()
    return report(results)


def _mb(timing: Timing) -> str:
    return "-" if timing.max_rss_mb is None else f"{timing.max_rss_mb:.1f}"


def report(results: dict[str, dict[str, Timing]]) -> int:
    print(f"{'tree':<8} {'ours in-process s':>18} {'ours CLI s':>11} {'CLI RSS MB':>11} {'dcmmkdir s':>11} "
          f"{'dcmmkdir RSS MB':>16} {'dcmmkdir/CLI':>13}")
    for name, r in results.items():
        print(f"{name:<8} {r['ours'].seconds:>18.3f} {r['cli'].seconds:>11.3f} {_mb(r['cli']):>11} "
              f"{r['dcmmkdir'].seconds:>11.3f} {_mb(r['dcmmkdir']):>16} "
              f"{r['dcmmkdir'].seconds / r['cli'].seconds:>13.1f}")
    scaling = results["4000x4"]["ours"].seconds / results["2000x4"]["ours"].seconds
    checks = [
        ("2,000 in 4 series: our CLI <= dcmmkdir",
         results["2000x4"]["cli"].seconds <= results["2000x4"]["dcmmkdir"].seconds),
        ("8,000 in 1 series: our CLI <= dcmmkdir / 20",
         results["8000x1"]["cli"].seconds <= results["8000x1"]["dcmmkdir"].seconds / 20),
        (f"2,000 -> 4,000 instances: our time x{scaling:.2f} <= x2.2", scaling <= 2.2),
    ]
    for label, ok in checks:
        print(f"{'ok  ' if ok else 'MISS'} {label}")
    return 0 if all(ok for _label, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
