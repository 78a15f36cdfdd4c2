"""Sphinx configuration for the bessx documentation (``nox -s docs``)."""

from __future__ import annotations

import sphinx_autosummary_accessors

import bessx

project = "bessx"
author = "bessx developers"
release = bessx.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx_autosummary_accessors",
]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
templates_path = ["_templates", sphinx_autosummary_accessors.templates_path]
exclude_patterns = ["_build"]
autosummary_generate = True
numpydoc_show_class_members = False
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "pandas": ("https://pandas.pydata.org/docs", None),
    "xarray": ("https://docs.xarray.dev/en/stable", None),
    "dask": ("https://docs.dask.org/en/stable", None),
}
html_theme = "pydata_sphinx_theme"
html_title = "bessx"
