"""Migrate a results store to the identity rule (:mod:`fsa.identity`): still-image experiments
keyed by their index, not their pixels.

Before the rule, a still-image experiment was named ``stills-<format>-<hash of the pixels>``; it is
now ``stills-<format>-<hash of the ids, splits and labels>``. The migration

1. reads the still-image set each such experiment was made from (``--stills FORMAT=DIR``; the
   embedded set of that format by default, made if needed), checks that it is the same data (the
   ids of every recorded split are the set's), and renames the experiment to its new key. The old
   key was the digest of the pixels, so each of its runs records it as ``data_pixels``;
2. rewrites every video run that starts from one of those runs (``pretrained=store:<old>/<hash>``):
   its ``pretrained`` reference, and with it its configuration hash, its file name, its checkpoint
   paths and its group (``folds-`` / ``seeds-`` summary: hash, run hashes, file name);
3. renames the bars of ``fsa/bars.json`` that name a migrated group;
4. names every run and group after its architecture and knobs (:func:`fsa.models.registry.model_name`),
   where an older version named it otherwise (a still-image run of CNN-LSTM's encoder was
   ``score-fusion``; it is ``score-fusion[branch=False]``). A name is not part of any hash.

Every recorded hash is first recomputed from its recorded configuration, and the migration stops
before writing anything if one disagrees. Without ``--apply`` it prints what it would do.

    python tools/migrate_store.py [--results DIR] [--stills fer2013=DIR] [--apply]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_prep.stills import read_stills  # noqa: E402
from fsa import results as store  # noqa: E402
from fsa.config import STORE_PREFIX, Config  # noqa: E402
from fsa.embedded import embedded_dataset  # noqa: E402
from fsa.report import bars  # noqa: E402
from fsa.runs import group_hash  # noqa: E402
from fsa.spec import model_name  # noqa: E402

GROUP_KINDS = {"folds": "fold", "seeds": "seed"}


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def still_renames(root: Path, given: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``{old experiment: (new experiment, pixel digest)}`` of the still-image experiments to rename."""
    out = {}
    for folder in sorted(root.glob("stills-*")):
        fmt, old = folder.name[len("stills-"):].rsplit("-", 1)
        stills = read_stills(fmt, given.get(fmt) or embedded_dataset(fmt))
        new = f"stills-{fmt}-{stills.data_hash()}"
        if new == folder.name:
            continue
        counts = {split: sum(s.split == split for s in stills.items) for split in ("train", "val", "test")}
        labels = {s.still_id: s.label for s in stills.items}
        for path in sorted(folder.glob("*.json")):
            rec = load(path)
            # a still-image run records its images per split and its test images' ids and labels
            images = {k: v for k, v in rec["stills"]["images"].items() if counts[k]}
            tested = {c["clip_id"]: c["label"] for c in rec["per_clip"]}
            if images != {k: v for k, v in counts.items() if v} or any(labels.get(i) != y for i, y in tested.items()):
                raise SystemExit(f"{path}: its images are not those of {stills.root}; not the same data")
        if stills.pixel_hash() != old:
            print(f"{folder.name}: this machine's pixels have digest {stills.pixel_hash()}, the recorded ones {old}")
        out[folder.name] = (new, old)
    return out


def check_hash(path: Path, rec: dict) -> None:
    kind = rec.get("kind", "run")
    if kind == "run" and Config.from_dict(rec["config"]).hash() != rec["config_hash"]:
        raise SystemExit(f"{path}: its recorded config hash is not its config's; migrate nothing")


def migrate(root: Path, given: dict[str, str], apply: bool) -> dict[str, str]:
    """Migrate the store at ``root``; returns ``{old group name: new group name}``."""
    renames = still_renames(root, given)
    if not renames:
        print("nothing to migrate: every still-image experiment is keyed by its index")
        return {}
    writes: dict[Path, dict] = {}
    removes: list[Path] = []
    groups: dict[str, str] = {}
    for old, (new, pixels) in renames.items():
        print(f"{old} -> {new} (its pixels: data_pixels = {pixels})")
        for path in sorted((root / old).glob("*.json")):
            rec = load(path)
            check_hash(path, rec)
            rec.update(experiment=new, data_index_hash=new.rsplit("-", 1)[1], data_pixels=pixels)
            for key in ("checkpoint", "last_checkpoint"):
                if rec.get(key):
                    rec[key] = rec[key].replace(f"/{old}/", f"/{new}/")
            writes[root / new / path.name] = rec
            removes.append(path)
    for path in sorted(root.glob("*/*.json")):
        if path.parent.name in renames:
            continue
        rec = load(path)
        ref = (rec.get("config") or {}).get("pretrained") or ""
        exp = ref[len(STORE_PREFIX):].split("/", 1)[0] if ref.startswith(STORE_PREFIX) else ""
        if exp not in renames:
            continue
        check_hash(path, rec)
        old_cfg = rec["config"]
        cfg = rec["config"] = dict(old_cfg, pretrained=ref.replace(f"{STORE_PREFIX}{exp}/",
                                                                   f"{STORE_PREFIX}{renames[exp][0]}/"))
        kind = rec.get("kind", "run")
        if kind == "run":
            old_hash, new_hash = rec["config_hash"], Config.from_dict(cfg).hash()
            rec["config_hash"] = new_hash
            for key in ("checkpoint", "last_checkpoint"):
                if rec.get(key):
                    rec[key] = rec[key].replace(f"/{old_hash}", f"/{new_hash}")
            name = f"{new_hash}.json"
        elif kind in GROUP_KINDS:
            key = GROUP_KINDS[kind]
            values = rec[f"{key}s_run"]
            if group_hash(Config.from_dict({**old_cfg, key: values[0]}), key, values) != rec[f"{kind}_hash"]:
                raise SystemExit(f"{path}: its recorded group hash is not its config's; migrate nothing")
            base = Config.from_dict({**cfg, key: values[0]})
            rec[f"{kind}_hash"] = group_hash(base, key, values)
            rec[f"{key}_config_hashes"] = [base.override(**{key: v}).hash() for v in values]
            name = f"{store.group_name(kind, rec[f'{kind}_hash'])}.json"
            groups[path.stem] = name[:-len(".json")]
        else:
            raise SystemExit(f"{path}: a {kind} record starting from {exp}: not migrated by this script")
        writes[path.parent / name] = rec
        if name != path.name:
            removes.append(path)
    print(f"{len(writes)} records rewritten, {len(groups)} groups renamed")
    if not apply:
        print("dry run: nothing written (--apply to migrate)")
        return groups
    for path, rec in writes.items():
        store.write_json(path, rec, what="the migrated record")
    for path in removes:
        if path not in writes:
            path.unlink()
    for old, (new, _) in renames.items():
        ckpt = root / old / "checkpoints"
        if ckpt.is_dir():
            os.replace(ckpt, root / new / "checkpoints")
        for leftover in sorted((root / old).rglob("*"), reverse=True):
            leftover.rmdir() if leftover.is_dir() else leftover.unlink()
        (root / old).rmdir()
    return groups


def migrate_bars(groups: dict[str, str], root: Path, apply: bool) -> None:
    found = bars.load_bars()
    moved = [b for b in found if b["group"] in groups]
    for b in moved:
        new = groups[b["group"]]
        summary = store.read_record(root / b["experiment"] / f"{new}.json") if apply else None
        b["group"] = new
        if summary is not None:
            b["profile"] = bars.profile_hash(summary["config"])
    print(f"{len(moved)} bars renamed in {bars.BARS_FILE.name}")
    if apply and moved:
        bars.write_bars(found)


def rename_models(root: Path, apply: bool) -> None:
    """Step 4: every record's model name, derived from its configuration."""
    renamed = 0
    for path in sorted(root.glob("*/*.json")):
        rec = load(path)
        model = (rec.get("config") or {}).get("model")
        if not model or "arch" not in model:
            continue
        cfg = Config.from_dict({**rec["config"], "fold": rec["config"].get("fold") or 0,
                                "seed": rec["config"].get("seed") or 0})
        name = model_name(cfg.model, prefer=model.get("name"))
        if name == model.get("name") and rec.get("model") == name:
            continue
        print(f"{path.relative_to(root)}: model {rec.get('model')!r} -> {name!r}")
        renamed += 1
        rec["model"], rec["config"]["model"]["name"] = name, name
        if apply:
            store.write_json(path, rec, what="the migrated record")
    print(f"{renamed} records renamed after their knobs")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(store.results_root()), help="the results store (default: %(default)s)")
    ap.add_argument("--stills", action="append", default=[], metavar="FORMAT=DIR",
                    help="the still-image set an experiment was made from (default: the embedded one)")
    ap.add_argument("--apply", action="store_true", help="write the migration (default: print it)")
    args = ap.parse_args(argv)
    given = dict(s.split("=", 1) for s in args.stills)
    root = Path(args.results)
    migrate_bars(migrate(root, given, args.apply), root, args.apply)
    rename_models(root, args.apply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
