"""Sphinx extension of the ECNN-FSA book: parts of pages built from the code and the results
store at build time, so they can never go stale.

``{fsa-architecture}``
    The paper's Fig. 1 redrawn from the model code (:func:`fsa.plots.architecture_figure`).
``{fsa-table} N``
    Table N of the paper beside every run recorded for it (:func:`fsa.report.comparison`).
    Pages holding one are re-read on every build, so a run recorded since the last build
    (``papermill notebooks/table6.ipynb -p s 0.2``) shows up without touching the page.
    A file of the store that cannot be read (:func:`fsa.results.read_record`) is left out of
    the table and named in a warning box above it and in the build log.
``{fsa-sweep} N FIELD``
    Table N's accuracy against ``s`` or ``n`` (:func:`fsa.plots.sweep_figure`), drawn from the
    store at build time like ``{fsa-table}``, so a run recorded since the notebook was executed
    is a point on the curve; the caption lists every point.
"""
from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


class ArchitectureDirective(SphinxDirective):
    def run(self):
        from fsa.plots import architecture_figure, save_figure

        save_figure(architecture_figure(), Path(self.env.srcdir) / "_generated" / "fig1.png")
        # A leading "/" makes the image path relative to the book's source folder.
        image = nodes.image(uri="/_generated/fig1.png", alt="ECNN-FSA architecture, drawn from fsa.build_model")
        return [nodes.figure("", image, nodes.caption(text="The paper's architecture redrawn from the model code: "
                                                             "each box is a module of fsa.models with its output shape "
                                                             "for a clip of n = 5 frames at 224 px."))]


class TableDirective(SphinxDirective):
    required_arguments = 1

    def run(self):
        from fsa import report
        from fsa.results import results_root, skipped_records

        table = self.arguments[0]
        _read_on_every_build(self.env)
        with skipped_records() as skipped:
            df = report.comparison(table)
        skipped = list(dict.fromkeys(skipped))
        for message in skipped:  # logged, not a Sphinx warning: under -W one bad record must not stop the book
            logger.info(f"{self.get_location()}: {message}", color="red")
        note = nodes.paragraph(text=(
            f"Paper vs this project, read from the results store ({results_root().name}/) when the book was "
            f"built: {int((df['status'] == 'measured').sum())} measured row(s). 'profile' is the preset whose "
            "numbers a run used; 'start' what its weights start from (the still-image run's folder in the store, "
            "named after the still set's hash; a weights file; or random); 'experiment' is its folder in the "
            "store (notebooks name it after the "
            "dataset and the hash of its index.csv, as in the page's banner); 'run' is its config (or "
            "k-fold) hash, the name of its JSON record; 'majority class %' is the accuracy of always "
            "answering the test data's most frequent class; '95 % CI' is the accuracy's interval, over the "
            "folds, the seeds or the test clips as 'CI over' says. Rows marked 'floor' are classical "
            "baselines (HOG or LBP features + logistic regression) on the same clips and splits, with "
            "their feature size as 'profile': the floor every deep model must clear."))
        warnings = [nodes.warning("", nodes.paragraph(text=f"{message}; it is left out of the table below."))
                    for message in skipped]
        return [*warnings, note, nodes.raw("", report.to_html(df), format="html")]


class SweepDirective(SphinxDirective):
    required_arguments = 2

    def run(self):
        from fsa import plots, report
        from fsa.paper import paper_table
        from fsa.results import skipped_records

        table, field = self.arguments
        _read_on_every_build(self.env)
        dataset = paper_table(table)["dataset"]
        with skipped_records():
            records = report.all_records(dataset, report.GROUP_KIND[dataset])
        name = f"sweep-{table}-{field}.png"
        plots.save_figure(plots.sweep_figure(records, field, table), Path(self.env.srcdir) / "_generated" / name)
        sweep = plots.sweep_records(records, field, table)
        ci = report.intervals(sweep)
        points = "; ".join(f"{field} = {plots.swept_value(r['config'], field):g} ({r['model']}, "
                           f"{report.profile_of(r['config'])}): {100 * ci[id(r)]['mean']:.1f} %" for r in sweep)
        image = nodes.image(uri=f"/_generated/{name}", alt=f"Table {table}: accuracy against {field}")
        caption = (f"Accuracy against {field}, drawn from the results store when the book was built. "
                   f"{plots.figure_caption(sweep).strip()} Reproduced points: {points or 'none yet'}.")
        return [nodes.figure("", image, nodes.caption(text=caption))]


def _read_on_every_build(env) -> None:
    if not hasattr(env, "fsa_table_docs"):
        env.fsa_table_docs = set()
    env.fsa_table_docs.add(env.docname)


def _always_reread(app, env, added, changed, removed):
    return sorted(getattr(env, "fsa_table_docs", set()) - set(removed))


def _purge(app, env, docname):
    getattr(env, "fsa_table_docs", set()).discard(docname)


def _merge(app, env, docnames, other):
    env.fsa_table_docs = getattr(env, "fsa_table_docs", set()) | getattr(other, "fsa_table_docs", set())


def setup(app):
    app.add_directive("fsa-architecture", ArchitectureDirective)
    app.add_directive("fsa-table", TableDirective)
    app.add_directive("fsa-sweep", SweepDirective)
    app.connect("env-get-outdated", _always_reread)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
