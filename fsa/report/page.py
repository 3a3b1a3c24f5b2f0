"""One table notebook's page: its preset, data and parameters, and the runs it shows.

A notebook never computes a number itself. It describes its runs with a :class:`Page`, which
validates them and asks the run layer (:mod:`fsa.runs.chain`) for each: the stored record of a
configuration (same config hash, same data), or the run trained — its still-image stage first —
and recorded. The page presents; it never trains by itself.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .. import results as store
from ..config import PRESETS, Config, ConfigError, ModelConfig, check_pretrained_file
from ..embedded import embedded_dataset
from ..identity import clip_pixels, compare
from ..metrics import t_interval
from ..paper import paper_table
from ..runs.chain import Still, obtain_all, parse_stages, reseeded, start_from_stills, still_chain, stored
from ..runs.floors import page_floors
from ..spec import make_config
from .confidence import accuracy_interval
from .datasets import data_source
from .matching import comparison
from .records import FLOOR_KIND, GROUP_KIND, all_records
from .verdicts import claim_table, claims, pooled_verdict

#: Environment variable the notebooks read when a preset is left at ``None``: ``cpu`` by
#: default, ``smoke`` in the nbval tests.
PRESET_ENV = "FSA_PRESET"
#: What a table notebook's ``rows`` may be: its key rows (:data:`KEY_ROWS`), all the paper's, or its
#: base model alone (:func:`base_model`: the proposed model on Table 4, whose runs the tests repeat).
ROWS = ("key", "all", "base")


def resolve_preset(preset: str | None) -> str:
    """The preset a notebook runs: the one given, else ``$FSA_PRESET``, else ``cpu``."""
    preset = preset or os.environ.get(PRESET_ENV) or "cpu"
    if preset not in PRESETS:
        raise ConfigError(f"preset={preset!r}: expected one of {', '.join(PRESETS)}")
    return preset


def profile_text(preset: str) -> str:
    """A preset's numbers in words, for a page's banner."""
    p = {**Config().to_dict(), **PRESETS[preset]}
    return (f"{p['image_size']} px, width ×{p['width']:g}, batch {p['batch_size']}, {p['epochs']} epochs, "
            f"lr {p['lr']:g} ({p['schedule']})")


class Page:
    """The runs of one table notebook: preset, data and the knobs its parameters cell sets.

    Building a page validates every value (a bad one raises :class:`ConfigError` naming it) and
    does no data work: the embedded dataset, when ``data`` is ``None``, is generated and prepared
    when first needed (:attr:`data`, :attr:`source`, or the first :meth:`config`).
    A notebook hands it all its parameters — the table's ``rows``, ``retrain``, its model
    ``knobs`` (``s``, ``fc_layers`` ...) and the seeds of its rebuild spread (``spread_seeds``) too,
    the defaults of :meth:`configs`, :meth:`run`, :meth:`rebuild_spread` and :meth:`floor_claims` —
    so that a bad one fails in its first cell, not after the data are made.

    On the embedded data, every model starts from the still-image stage, as the paper's do
    (:mod:`fsa.runs.chain`); on real data, ``stills="fer2013=CSV,sfew=DIR"`` gives each model its own
    chain from ``pretrained`` (VGG-Face, say) through those sets, as the paper's, or ``pretrained=``
    alone the weights every model starts from (a file, or the ``store:`` reference ``fsa pretrain``
    prints). ``data_parameter``: the name a bad ``data`` goes by in the error, for a notebook whose
    second page reads its data from a parameter of another name (the attention page's ``afew_data``).
    """

    def __init__(self, table: int | str, preset: str | None = None, data: str | os.PathLike | None = None,
                 device: str = "auto", seed: int = 0, rows: str = "key", retrain: bool = False,
                 knobs: dict[str, Any] | None = None, stills: str | None = None, data_parameter: str = "data",
                 spread_seeds: Sequence[int] = (1, 2), **overrides: Any):
        self.table = str(table)
        self.spec = paper_table(table)
        self.dataset = self.spec.get("dataset", "ckplus")
        self.preset = resolve_preset(preset)
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self.overrides.update(device=device, seed=seed)
        if self.dataset == "afew":
            self.overrides.setdefault("protocol", "afew")
        self._stills: dict[str, list[Still]] = {}  # a config's pretrained reference -> its still-image runs
        self.knobs = {k: v for k, v in (knobs or {}).items() if v is not None}
        # Every value is validated here, once and before any data work, so that a bad parameter fails
        # at once: the overrides hold for every model, the knobs vary the table's base model (configs).
        make_config(base_model(self.table), self.preset, dataset=self.dataset, data="",
                    **{**self.overrides, **self.knobs})
        check_pretrained_file(str(self.overrides.get("pretrained") or ""))
        if data is not None and not (Path(data) / "index.csv").is_file():
            raise ConfigError(f"{data_parameter}={str(data)!r}: not a prepared dataset (no index.csv; run `fsa prep`)")
        self._given_data = Path(data) if data is not None else None
        self.stages = parse_stages(stills) if stills is not None else []
        check_rows(rows)
        self.rows, self.retrain = rows, check_flag("retrain", retrain)
        self.spread_seeds = check_spread_seeds(spread_seeds, seed)

    @cached_property
    def data(self) -> Path:
        """The prepared dataset of this page: the one given, else the embedded one (made now if needed)."""
        return self._given_data if self._given_data is not None else embedded_dataset(self.dataset)

    @cached_property
    def source(self) -> dict:
        """What :attr:`data` is (:func:`fsa.report.datasets.data_source`)."""
        return data_source(self.data)

    def config(self, model: str | ModelConfig, data: str | os.PathLike | None = None, **model_overrides: Any) -> Config:
        """The configuration of ``model`` on this page: started from its own runs of the page's
        still-image stages when it has some (``stills``, :func:`fsa.runs.chain.still_chain`, from the
        page's ``pretrained`` weights), else from its still-image run on the embedded data
        (:func:`fsa.runs.chain.start_from_stills`) unless the page's data or weights were given."""
        over = {**self.overrides, **{k: v for k, v in model_overrides.items() if v is not None}}
        weights = {k: over.pop(k) for k in ("pretrained", "pretrained_format") if k in over} if self.stages else {}
        cfg = make_config(model, self.preset, dataset=self.dataset, data=str(self.data if data is None else data),
                          **over)
        if self.stages:
            cfg, stills = still_chain(cfg, self.preset, self.stages, weights.get("pretrained", ""),
                                      weights.get("pretrained_format", "vggface"))
            self._stills[cfg.pretrained] = stills
            return cfg
        if self._given_data is not None or "pretrained" in self.overrides:
            return cfg
        cfg, still = start_from_stills(cfg, self.preset)
        self._stills[cfg.pretrained] = [still]
        return cfg

    def banner(self) -> str:
        """Markdown: which data and which profile produced this page's numbers."""
        name = "AFEW" if self.dataset == "afew" else "CK+"
        what = (f"the **embedded synthetic {name}-layout dataset**" if self.source["kind"] == "synthetic"
                else f"a **real {name} preparation** (`{self.data}`)")
        return (f"Numbers on this page come from {what} ({self.source['videos']} videos, `index.csv` hash "
                f"`{self.source['index_hash']}`) with the **`{self.preset}` profile** "
                f"({profile_text(self.preset)}); the paper's come from {name} with pretrained weights at 224 px. "
                f"{self.pixels_note()}")

    def pixels_note(self) -> str:
        """This machine's pixels of the page's data against those the recorded runs read (the
        identity rule, :mod:`fsa.identity`): the same, or how far apart."""
        local = clip_pixels(self.data)
        kept = store.pixel_prints(self.experiment)
        if local.digest in kept:
            return f"The pixels here are those the recorded runs read (digest `{local.digest}`)."
        if kept:
            return f"On this machine {'; '.join(compare(local, p) for p in kept.values())}."
        return (f"The runs recorded on these data predate pixel digests; this machine's pixels have digest "
                f"`{local.digest}`.")

    def configs(self, rows: str | None = None, **model_overrides: Any) -> list[Config]:
        """The table's configurations: its key rows (or ``all`` the paper's rows; default the page's
        ``rows``); model knobs set to a value (e.g. ``s=0.2``; default the page's ``knobs``)
        replace them by one run of the table's base model."""
        custom = {k: v for k, v in model_overrides.items() if v is not None} or self.knobs
        if custom:
            return [self.config(base_model(self.table), **custom)]
        return [self.config(m) for m in table_models(self.table, rows or self.rows)]

    def stills_of(self, cfg: Config) -> list[Still]:
        """The still-image runs ``cfg`` (one of :meth:`config`'s) starts from, in training order."""
        return list(self._stills.get(cfg.pretrained, ()))

    def at_seed(self, cfg: Config, seed: int) -> Config:
        """``cfg`` (one of :meth:`config`'s) at another seed, started from that seed's still-image
        runs (:func:`fsa.runs.chain.reseeded`)."""
        cfg, stills = reseeded(cfg, self.stills_of(cfg), seed)
        if stills:
            self._stills[cfg.pretrained] = stills
        return cfg

    def run(self, cfg: Config, retrain: bool | None = None, track_test: bool = False) -> dict:
        """The group summary of ``cfg``, read from the store or trained (:func:`fsa.runs.chain.obtain`;
        ``retrain`` defaults to the page's)."""
        return self.run_all([cfg], retrain, track_test)[0]

    def stored(self, cfg: Config) -> dict | None:
        """The group summary of ``cfg`` as :meth:`run` would return it from the results store, or
        ``None`` when that group was never recorded (nothing is trained)."""
        return stored(cfg, self.stills_of(cfg))

    def run_all(self, configs: Sequence[Config], retrain: bool | None = None, track_test: bool = False
                ) -> list[dict]:
        """:meth:`run` of each configuration, the runs the store lacks trained several at a time on the
        CPU (:func:`fsa.runs.chain.obtain_all`)."""
        retrain = self.retrain if retrain is None else retrain
        return obtain_all([(c, self.stills_of(c)) for c in configs], retrain, track_test)

    def floors(self, features: Sequence[str] | None = None, feature_size: int = 64,
               retrain: bool | None = None, seed: int | None = None) -> list[dict]:
        """The classical floors (:mod:`fsa.floors`) on this page's data, protocol and splits
        (those of ``seed`` when given: on CK+ the seed draws the subject folds): k-fold summaries
        on CK+, AFEW Val runs on AFEW; read from the store when there (unless ``retrain``, by
        default the page's)."""
        cfg = self.config("ecnn-fsa")  # the data fields are every model's
        if seed is not None:
            cfg = cfg.override(seed=seed)
        return page_floors(cfg, features, feature_size, self.retrain if retrain is None else retrain)

    def claims(self, records: Sequence[dict], floor_records: Sequence[dict] = ()) -> pd.DataFrame:
        """The verdict on each claim this page's records can test (see :func:`claims`)."""
        return claims(self.table, [*records, *floor_records])

    def rebuild_spread(self, model: str = "ecnn-fsa", seeds: Sequence[int] | None = None,
                       retrain: bool | None = None) -> pd.DataFrame:
        """How far a rebuild may move this page's number for ``model``: the same configuration
        trained again with other seeds (default the page's ``spread_seeds``), beside the page's own.

        A seed draws everything random in a run — initialisation, clip order, frames and
        augmentation, the validation carve and, on CK+, the subject folds themselves — so the
        spread between seeds bounds what another machine's arithmetic does to a run of one seed
        (same folds, another trajectory). Each seed starts from its own still-image runs, as a
        rebuild would train them again (:meth:`at_seed`). The last row
        is the mean over the seeds with its t-interval over the seeds' means: the number a rebuild
        estimates, where a row of one seed is one draw.
        """
        base = self.config(model)
        every = self._seeds(base, seeds)
        rows = []
        for seed, rec in zip(every, self._seed_runs(base, every, retrain)):
            ci = accuracy_interval(rec)
            rows.append({"seed": seed, "acc %": round(100 * ci["mean"], 2),
                         "95 % CI": f"[{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]", "CI over": ci["method"],
                         "half-width (pp)": round(100 * (ci["high"] - ci["mean"]), 2),
                         "run": store.record_key(rec)})
        means = [r["acc %"] / 100 for r in rows]
        df = pd.DataFrame(rows)
        df[f"Δ from seed {base.seed} (pp)"] = (df["acc %"] - df["acc %"].iloc[0]).round(2)
        if len(means) < 2:
            return df
        ci = t_interval(means, over="seeds")
        over = {"seed": "mean over seeds", "acc %": round(100 * ci["mean"], 2),
                "95 % CI": f"[{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]", "CI over": ci["method"],
                "half-width (pp)": round(100 * (ci["high"] - ci["mean"]), 2), "run": "",
                f"Δ from seed {base.seed} (pp)": round(100 * ci["mean"] - rows[0]["acc %"], 2)}
        return pd.concat([df, pd.DataFrame([over])], ignore_index=True)

    def floor_claims(self, model: str = "ecnn-fsa", seeds: Sequence[int] | None = None,
                     retrain: bool | None = None) -> pd.DataFrame:
        """``model`` against each classical floor over this page's seed and ``seeds`` (default the
        page's ``spread_seeds``: the runs of :meth:`rebuild_spread`): each seed's runs are paired with
        the floor on that seed's folds, and the verdict pools every seed's clips
        (:func:`pooled_verdict`). Where :meth:`claims` judges the page's one seed, this judges what a
        rebuild's spread leaves of the claim."""
        base = self.config(model)
        retrain = self.retrain if retrain is None else retrain
        every = self._seeds(base, seeds)
        runs = self._seed_runs(base, every, retrain)
        floors = [self.floors(retrain=retrain, seed=s) for s in every]
        over = f"seeds {', '.join(map(str, every))}, paired on each seed's folds"
        return claim_table([(f"{model} > {fl['label']}", over, pooled_verdict([(r, f[i]) for r, f in zip(runs, floors)]))
                            for i, fl in enumerate(floors[0])])

    def _seed_runs(self, base: Config, every: Sequence[int], retrain: bool | None) -> list[dict]:
        """The groups of ``base`` on each seed of ``every``, its own first, each from its seed's
        still-image runs: ``retrain`` (default the page's) trains the other seeds again, the page's
        own run having been trained by the page."""
        others = self.run_all([self.at_seed(base, s) for s in every[1:]], retrain)
        return [self.run(base, retrain=False), *others]

    def _seeds(self, base, seeds: Sequence[int] | None) -> tuple[int, ...]:
        """The page's own seed, then ``seeds`` (default the page's ``spread_seeds``)."""
        return (base.seed, *(self.spread_seeds if seeds is None else seeds))

    def comparison(self) -> pd.DataFrame:
        """Paper vs this project for this page's table, over every recorded run on this page's data."""
        return comparison(self.table, experiment=self.experiment)

    @property
    def experiment(self) -> str:
        return f"{self.dataset}-{self.source['index_hash']}"

    def recorded(self) -> list[dict]:
        """Every summary and floor record on this page's data, the runs of earlier pages'
        parameters (``-p s 0.2``) included: what the page's figures draw."""
        return [*all_records(self.dataset, GROUP_KIND[self.dataset], self.experiment),
                *all_records(self.dataset, FLOOR_KIND[self.dataset], self.experiment)]


def one_line_errors() -> None:
    """In a notebook's kernel, show a bad parameter (:class:`ConfigError`) or another failure the
    ``fsa`` command reports in one line (:func:`fsa.errors.expected_errors`: bad data, a diverged run
    ...) as that line, not a traceback, so that papermill's report of the failed notebook is short;
    any other exception keeps its traceback. The notebooks call it in their first, hidden cell;
    outside IPython it does nothing."""
    from IPython import get_ipython

    from ..errors import expected_errors

    def one_line(shell, etype, value, tb, tb_offset=None):
        shell.showtraceback((etype, value, tb), exception_only=True)

    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((ConfigError, *expected_errors()), one_line)


def check_flag(name: str, value: Any) -> bool:
    """A notebook's yes-or-no parameter ``name``: ``value`` if it is ``True`` or ``False``, else
    :class:`ConfigError`."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name}={value!r}: expected True or False")
    return value


def check_rows(rows: str) -> str:
    """``rows`` if it is one of :data:`ROWS`, else :class:`ConfigError`."""
    if rows not in ROWS:
        raise ConfigError(f"rows={rows!r}: expected {' or '.join(map(repr, ROWS))}")
    return rows


def check_spread_seeds(seeds: Any, seed: int) -> tuple[int, ...]:
    """``seeds`` as a tuple if they are distinct non-negative integers other than the page's ``seed``,
    else :class:`ConfigError` (``()`` leaves the rebuild spread out)."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise ConfigError(f"spread_seeds={seeds!r}: expected a list of seeds, e.g. (1, 2), or () for none")
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if bad or len(set(seeds)) != len(seeds) or seed in seeds:
        raise ConfigError(f"spread_seeds={seeds!r}: expected distinct non-negative integers other than seed={seed}")
    return tuple(seeds)


def table_models(table: int | str, rows: str = "key") -> list[str]:
    """Named models a table notebook trains: its key rows, every row of the paper (``all``) or its
    base model alone (``base``)."""
    if check_rows(rows) == "all":
        return [r["model"] for r in paper_table(table)["rows"] if r.get("model")]
    if rows == "base":
        return [base_model(table)]
    return list(KEY_ROWS[str(table)])


def base_model(table: int | str) -> str:
    """The model a page's ``knobs`` vary: the last of its key rows, else (Tables 5, 10) ECNN-FSA."""
    return KEY_ROWS.get(str(table), ("ecnn-fsa",))[-1]


#: Rows a table runs by default: the main contrast of each table (LSTM depth, branch kernel,
#: the s sweep and FC layers, LBP, the two architectures), so that ``make book`` stays within
#: its time budget; ``rows="all"`` runs every row of the paper. The last one is the base model
#: a ``-p s 0.2``-style run varies.
KEY_ROWS: dict[str, tuple[str, ...]] = {
    "2": ("cnn-lstm-2048", "cnn-lstm-2048-2048"),
    "3": ("ecnn-lstm-fc1-k5", "ecnn-lstm-fc1-k7"),
    "4": ("cnn-lstm", "score-fusion", "ecnn-fsa"),
    "6": ("ecnn-fsa-2048-fc1-s0.01", "ecnn-fsa-2048-fc1-s0.3", "ecnn-fsa-2048-fc2-s0.06", "ecnn-fsa-2048-fc1-s0.1"),
    "7": ("ecnn-lstm-fc6-k7", "ecnn-lstm-fc6-k7-lbp", "ecnn-fsa-2048-fc1-s0.1"),
    "9": ("cnn-lstm", "ecnn-fsa"),
}

