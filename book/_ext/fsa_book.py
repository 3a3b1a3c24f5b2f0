"""Sphinx extension of the ECNN-FSA book: parts of pages built from the code at build time, so
they can never go stale.

``{fsa-architecture}``
    The paper's Fig. 1 redrawn from the model code (:func:`fsa.plots.architecture_figure`).
"""
from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class ArchitectureDirective(SphinxDirective):
    def run(self):
        from fsa.plots import architecture_figure, save_figure

        save_figure(architecture_figure(), Path(self.env.srcdir) / "_generated" / "fig1.png")
        # A leading "/" makes the image path relative to the book's source folder.
        image = nodes.image(uri="/_generated/fig1.png", alt="ECNN-FSA architecture, drawn from fsa.build_model")
        return [nodes.figure("", image, nodes.caption(text="The paper's architecture redrawn from the model code: "
                                                             "each box is a module of fsa.models with its output shape "
                                                             "for a clip of n = 5 frames at 224 px."))]


def setup(app):
    app.add_directive("fsa-architecture", ArchitectureDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
