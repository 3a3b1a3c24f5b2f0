"""The mutation check of the core (``make mutants``): every named mutant must make the fast tests fail.

A mutant is one textual edit of one module of ``fsa`` that leaves the code running and its numbers
plausible while the method is broken: attention bypassed, attention uniform, softmax over the wrong
axis, labels shuffled, frames reversed, a head that ignores its input, test subjects leaking into the
training folds, a frozen layer that learns. For each mutant the script applies the edit to a copy of the
working tree (the files ``git ls-files`` lists: tracked ones and untracked ones that are not ignored) in
a temporary folder, committed there in a repository of its own (the tests check that recorded runs name
their commit), never to the tree itself, and runs ``pytest -m "not slow" -x`` there on the test files of the
mutated behaviour (``--full``: the whole fast loop; ``--tests``: the files given). A mutant is
killed when pytest fails; the report names the first failing test and the seconds each run took.
The unmutated copy runs first (``baseline``): it must pass, or a kill would mean nothing.

Usage::

    python tools/mutants.py [NAME ...] [--full | --tests FILE ...] [--every]   # all mutants, or the named ones

Exit status 0 when every mutant is killed; 1 when one survives, no longer applies (its text is
not found exactly once: update it with the code) or the baseline fails. Standard library and git only.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_TESTS = ("tests/test_models.py",)
DATA_TESTS = ("tests/test_data.py",)


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # the mutated module, relative to the repository
    old: str  # text found exactly once in it ...
    new: str  # ... and what replaces it
    tests: tuple[str, ...]  # the fast tests run against it (all of the fast loop with --full)


SOFTMAX = "a = torch.softmax(self.s * (q @ k.transpose(1, 2)), dim=-1)"
MUTANTS = (
    Mutant("attention-bypassed", "fsa/models/ecnn_fsa.py",  # ECNN-FSA fuses by the mean of V, reports A's importance
           "fused, importance, _ = self.fsa(self.ecnn(x))",
           "f = self.ecnn(x)\n        _, importance, _ = self.fsa(f)\n        fused = self.fsa.w_v(f).mean(dim=1)",
           MODEL_TESTS),
    Mutant("attention-uniform", "fsa/models/fsa.py",  # A = 1/n
           SOFTMAX, "a = torch.full_like(q @ k.transpose(1, 2), 1.0 / x.shape[1])", MODEL_TESTS),
    Mutant("softmax-wrong-axis", "fsa/models/fsa.py",  # columns of A sum to 1 instead of rows
           SOFTMAX, SOFTMAX.replace("dim=-1", "dim=1"), MODEL_TESTS),
    Mutant("labels-shuffled", "fsa/data.py",  # build_datasets permutes the clips' labels
           "    clips, classes = dataset_clips(cfg)\n",
           "    clips, classes = dataset_clips(cfg)\n"
           "    shuffled = np.random.default_rng(cfg.seed).permutation([c.label for c in clips])\n"
           "    clips = [Clip(c.clip_id, c.video_id, c.subject, lab, c.start, c.end, c.split)\n"
           "             for c, lab in zip(clips, shuffled)]\n", DATA_TESTS),
    Mutant("frames-reversed", "fsa/data.py",  # a clip's n frames fed last to first
           "idx = clip.start + sample_indices(clip.length, self.n, rng)",
           "idx = clip.start + sample_indices(clip.length, self.n, rng)[::-1]", DATA_TESTS),
    Mutant("head-ignores-input", "fsa/models/head.py",  # logits = the last layer's bias
           "return self.layers(z)", "return self.layers(torch.zeros_like(z))", MODEL_TESTS),
    Mutant("fold-leakage", "fsa/data.py",  # the held-out clips also train (and select) the model
           "train, val = carve_validation(clips, pool, val_fraction, seed)",
           "train, val = carve_validation(clips, np.concatenate([pool, test]), val_fraction, seed)", DATA_TESTS),
    Mutant("frozen-layers-miscounted", "fsa/models/backbone.py",  # frozen_convs=7 keeps six convs, trains conv3_3
           "self.frozen_index = ends[convs - 1] if convs else 0",
           "self.frozen_index = ends[convs - 2] if convs > 1 else 0", MODEL_TESTS),
    Mutant("still-head-dropped", "fsa/models/pretrained.py",  # video models start from the still encoder only
           'if head and getattr(model, "frame_head", False):', "if False:",
           ("tests/test_pretrain.py",)),
    Mutant("retrain-reads-the-store", "fsa/runs/chain.py",  # a retrained group keeps its recorded folds
           "reuse = not retrain if reuse is None else reuse", "reuse = True", ("tests/test_pool.py",)),
    Mutant("seeds-share-one-still-run", "fsa/runs/chain.py",  # every seed from the base seed's still-image runs
           "out.append(Still(still.cfg.override(seed=seed, **start), still.experiment))", "out.append(still)",
           ("tests/test_chain_seeds.py",)),
)


def copy_tree(dest: Path) -> None:
    """The working tree's tracked and untracked, not ignored files (uncommitted edits included),
    committed in a new repository at ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():  # a tracked file deleted in the tree is listed too
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=mutants", "-c", "user.email=mutants@localhost", "-c", "commit.gpgsign=false",
                  "commit", "-q", "-m", "unmutated tree"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)


def run_tests(tree: Path, tests: tuple[str, ...], every: bool = False) -> tuple[bool, str, float]:
    """pytest on ``tests`` (all of the fast loop when empty) in ``tree``: (passed, the first failing test
    or with ``every`` all of them, seconds)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-m", "not slow", *([] if every else ["-x"]), "-q", "-p",
           "no:cacheprovider", *tests]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.M)
    if proc.returncode == 0 or failed:
        return proc.returncode == 0, " ".join(failed if every else failed[:1]), seconds
    return False, (proc.stdout.strip().splitlines() or [f"pytest exited {proc.returncode}"])[-1], seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/mutants.py", description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help=f"mutants to run (default: all: {', '.join(m.name for m in MUTANTS)})")
    scope = ap.add_mutually_exclusive_group()
    scope.add_argument("--full", action="store_true", help='run the whole fast loop (pytest -m "not slow") per mutant')
    scope.add_argument("--tests", nargs="+", default=(), metavar="FILE",
                       help="run these test files against every mutant instead of the mutant's own")
    ap.add_argument("--every", action="store_true", help="run past the first failure and list every failing test")
    args = ap.parse_args(argv)
    known = {m.name: m for m in MUTANTS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        ap.error(f"unknown mutant(s) {', '.join(unknown)}; known: {', '.join(known)}")
    mutants = [known[n] for n in args.names] if args.names else list(MUTANTS)
    tests = {m.name: () if args.full else tuple(args.tests) or m.tests for m in mutants}

    t_start = time.perf_counter()
    bad = 0
    with tempfile.TemporaryDirectory(prefix="fsa-mutants-") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        baseline = () if args.full else tuple(sorted({t for m in mutants for t in tests[m.name]}))
        ok, first, seconds = run_tests(tree, baseline)
        print(f"{'baseline':<20} {'passes' if ok else 'FAILS':<9} {first:<88} {seconds:5.0f} s", flush=True)
        if not ok:
            print("the unmutated tree fails its tests: no mutant can be judged", file=sys.stderr)
            return 1
        for m in mutants:
            target = tree / m.path
            original = target.read_text()
            if original.count(m.old) != 1:
                print(f"{m.name:<20} {'STALE':<9} {m.path}: the mutated text is not found exactly once", flush=True)
                bad += 1
                continue
            target.write_text(original.replace(m.old, m.new))
            try:
                passed, first, seconds = run_tests(tree, tests[m.name], args.every)
            finally:
                target.write_text(original)
            bad += passed
            print(f"{m.name:<20} {'SURVIVED' if passed else 'killed':<9} {first or '-':<88} {seconds:5.0f} s",
                  flush=True)
    print(f"{len(mutants) - bad} of {len(mutants)} mutants killed in {time.perf_counter() - t_start:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
