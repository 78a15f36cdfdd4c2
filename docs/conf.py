"""Sphinx configuration for the bessx documentation (``nox -s docs``).

The build is meant to pass with ``-W -n`` (warnings are errors, every reference must
resolve) on a machine without network access:

* maths is rendered by a MathJax copy that ships in a Python package
  (``sphinx-mathjax-offline``), never fetched from a CDN;
* intersphinx inventories are downloaded once into ``_build/intersphinx/`` when the sites
  can be reached and read from there afterwards; a site that cannot be reached and has no
  saved inventory is left out of ``intersphinx_mapping`` (its names are then plain text);
* the walkthrough notebook (``walkthrough.md``) is executed at every build, and a cell that
  writes to stderr (a Python warning) is a warning of the build, so it fails;
* when a Chromium is installed, the report how-to's screenshot (``_static/report.png``) is taken
  from a demo run's ``report.html`` and the report's figures are checked to be drawn
  (``report_screenshot.py``); without one the saved screenshot is used.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import sphinx_autosummary_accessors
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer

import bessx

project = "bessx"
author = "bessx developers"
copyright = "bessx developers"
release = bessx.__version__
version = release

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "sphinx_autosummary_accessors",
]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
templates_path = ["_templates", sphinx_autosummary_accessors.templates_path]
exclude_patterns = ["_build", "jupyter_execute"]
autosummary_generate = True
numpydoc_show_class_members = False
# numpydoc turns every word of a type description into a reference; these are prose
numpydoc_xref_ignore = {"optional", "default", "of", "or", "and", "sequence", "mapping"}

# The walkthrough runs on every build: its figures and tables are real output.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_merge_streams = True
# a cell's stderr (a Python warning, a library's complaint) is a build warning, hence an error
# under -W: the walkthrough's output is fixed where the warning comes from, never shown
nb_output_stderr = "warn"

html_theme = "pydata_sphinx_theme"
html_title = "bessx"
html_theme_options = {"navigation_with_keys": False}
# the pages need their width more than an empty section navigation
html_sidebars = {"**": []}
html_static_path = ["_static"]
html_css_files = ["bessx.css"]

# -- intersphinx, offline-safe ---------------------------------------------------------------
INTERSPHINX_SITES = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "pandas": "https://pandas.pydata.org/docs",
    "xarray": "https://docs.xarray.dev/en/stable",
    "dask": "https://docs.dask.org/en/stable",
    "matplotlib": "https://matplotlib.org/stable",
}
INVENTORY_FOLDER = Path(__file__).parent / "_build" / "intersphinx"


def _saved_inventory(name: str, url: str, timeout: float = 5.0) -> Path | None:
    """The inventory of ``url``, refreshed when the site answers; None if never reached."""
    path = INVENTORY_FOLDER / f"{name}.inv"
    try:
        with urllib.request.urlopen(f"{url}/objects.inv", timeout=timeout) as response:
            content = response.read()
    except OSError:
        return path if path.exists() else None
    INVENTORY_FOLDER.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


intersphinx_mapping = {
    name: (url, str(inventory))
    for name, url in INTERSPHINX_SITES.items()
    if (inventory := _saved_inventory(name, url)) is not None
}

# -- nitpicky references -----------------------------------------------------------------------
# Names of other packages resolve through intersphinx when their inventory is at hand; offline
# they cannot, so only references into these packages may stay unresolved. bessx's own
# references must all resolve.
_EXTERNAL = (
    r"(argparse|builtins|collections|datetime|os|pathlib|re|typing|warnings|filelock|hypothesis|"
    r"numpy|np|pandas|pd|xarray|xr|dask|da|matplotlib|distributed)"
)
nitpick_ignore_regex = [
    (r"py:.*", _EXTERNAL + r"(\..*)?"),
    # unqualified names from type hints (``Axes``, ``Path``) and numpydoc type words
    (r"py:class", r"(Axes|Figure|Path|PathLike|DataFrame|Dataset|DataArray|Timestamp|ndarray)"),
    (r"py:class", r"(array-like|array_like|callable|path-like|scalar)"),
    (r"py:(class|obj)", r"(int|float|str|bool|bytes|None|tuple|list|dict|set|object|type)"),
]


# -- bessx's own names ---------------------------------------------------------------------
def _public_aliases() -> dict[str, str]:
    """``bessx.outliers.outliers`` -> ``bessx.outliers``: where each public name is defined."""
    aliases = {}
    for name in bessx.__all__:
        obj = getattr(bessx, name)
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if module and qualname and f"{module}.{qualname}" != f"bessx.{name}":
            aliases[f"{module}.{qualname}"] = f"bessx.{name}"
    return aliases


PUBLIC_ALIASES = _public_aliases()


def _defining_module(docname: str) -> str | None:
    """The module that defines the public object a generated page documents, if any."""
    page = docname.rpartition("/")[2]
    for prefix in ("bessx.", "xarray.Dataset.bess."):
        if page.startswith(prefix):
            obj = getattr(bessx, page.removeprefix(prefix), None)
            return getattr(obj, "__module__", None)
    return None


def _is_private_bessx_class(target: str, current: str | None) -> bool:
    """Whether ``target`` (``_Checked``, ``bessx.config._Checked``) is a private bessx class."""
    module_name, _, name = target.rpartition(".")
    module_name = module_name or current or ""
    if not name.startswith("_") or name.startswith("__") or not module_name.startswith("bessx"):
        return False
    return isinstance(getattr(sys.modules.get(module_name), name, None), type)


def _resolve_bessx_names(app, env, node, contnode):
    """Resolve bessx names as the docstrings that use them mean them.

    The public functions are documented once, under the name users call (``bessx.outliers``);
    a docstring may name one by its defining module (``bessx.outliers.outliers``), and a
    docstring's unqualified names (``RANKINGS``) are those of the module that defines it,
    as in Python, also where the function is shown under its public name.

    A private class of bessx that a type annotation names (``type[_Checked]``) is shown as
    text: it is not documented, by design.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if node["reftype"] == "class" and _is_private_bessx_class(target, node.get("py:module")):
        return contnode
    candidates = []
    if target in PUBLIC_ALIASES:
        candidates.append(PUBLIC_ALIASES[target])
    if not target.startswith("bessx."):
        # on a module's own page (``bessx.energy``), its public functions by their short name
        current = node.get("py:module")
        if current and f"{current}.{target}" in PUBLIC_ALIASES:
            candidates.append(PUBLIC_ALIASES[f"{current}.{target}"])
        module = _defining_module(node["refdoc"])
        if module:
            candidates.append(f"{module}.{target}")
    domain = env.domains["py"]
    for candidate in candidates:
        retry = node.deepcopy()
        retry["reftarget"] = candidate
        resolved = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], candidate, retry, contnode
        )
        if resolved is not None:
            return resolved
    return None


def _factory_defaults(obj: object, signature: str) -> str:
    """A dataclass field's ``default_factory`` shown as its call (``list()``), not ``<factory>``.

    ``inspect.signature`` gives such a default as ``<factory>``, which is not Python: Sphinx
    then cannot parse the signature and splits it at every comma, the commas inside a
    ``tuple[str, ...]`` annotation included, and each piece becomes a broken reference.
    """
    if "<factory>" not in signature or not dataclasses.is_dataclass(obj):
        return signature
    for item in dataclasses.fields(obj):
        if item.default_factory is dataclasses.MISSING:
            continue
        factory = getattr(item.default_factory, "__name__", "")
        call = f"{factory}()" if factory.isidentifier() else "..."
        signature = re.sub(
            rf"(\b{re.escape(item.name)}\s*:[^=]*=\s*)<factory>", rf"\g<1>{call}", signature
        )
    return signature


@functools.cache
def _type_checking_imports(module_name: str) -> dict[str, str]:
    """``{"Results": "bessx.results.Results"}``: the classes a module imports for type checking
    only (``if TYPE_CHECKING: from ... import ...``; by the house style's names, a class is
    capitalised and a parameter is not)."""
    try:
        tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    except (ImportError, OSError, TypeError):
        return {}
    names = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and not statement.level:
                    for alias in statement.names:
                        if alias.name[:1].isupper():
                            names[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
    return names


def _type_checking_names(annotation: str, module: str | None) -> str:
    """An annotation naming a class imported for type checking only, by its full path.

    Such a name cannot be evaluated when autodoc reads the signature, so Sphinx would look the
    bare name up anywhere (``Results``: the run's or the one pass's?); the module's
    ``if TYPE_CHECKING:`` imports say which one it is.
    """
    for name, path in _type_checking_imports(module).items() if module else ():
        annotation = re.sub(rf"(?<![\w.~]){re.escape(name)}(?!\w)", f"~{path}", annotation)
    return annotation


def _signature(app, what, name, obj, options, signature, return_annotation):
    """Signatures that Sphinx can parse and whose annotations name the right objects."""
    if what not in {"function", "method", "class"} or not signature:
        return None
    module = getattr(obj, "__module__", None)
    signature = _type_checking_names(_factory_defaults(obj, signature), module)
    if return_annotation:
        return_annotation = _type_checking_names(return_annotation, module)
    return signature, return_annotation


def _imported_from(module_name: str, name: str) -> str | None:
    """The module ``name`` is imported into ``module_name`` from (``from m import name``)."""
    try:
        module = importlib.import_module(module_name)
        tree = ast.parse(inspect.getsource(module))
    except (ImportError, OSError, TypeError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
            package = module_name if hasattr(module, "__path__") else module_name.rpartition(".")[0]
            return importlib.util.resolve_name("." * node.level + (node.module or ""), package)
    return None


def _constant_doc_comment(app, what, name, obj, options, lines):
    """A constant documented where it is imported, such as ``bessx.synthetic.TIMEZONE``: its
    doc comment (``#:``) from the module that defines it, never its type's docstring.

    Sphinx reads doc comments only in the module it documents a name from, and a string or a
    tuple has no docstring of its own: without this, ``str``'s help would stand in for it.
    """
    if what not in {"data", "attribute"} or "\n".join(lines).strip() != inspect.getdoc(obj):
        return
    module_name, _, attribute = name.rpartition(".")
    source = _imported_from(module_name, attribute)
    comment: list[str] = []
    if source:
        with contextlib.suppress(PycodeError):
            comment = ModuleAnalyzer.for_module(source).find_attr_docs().get(("", attribute), [])
    lines[:] = [line.rstrip("\n") for line in comment]


def _public_bases(app, name, obj, options, bases):
    """A class's public ancestry: a private base (``bessx.config._Checked``, which only checks
    the settings tables' values) is shown as the bases it has itself."""
    index = 0
    while index < len(bases):
        base = bases[index]
        if isinstance(base, type) and base.__name__.startswith("_"):
            bases[index : index + 1] = base.__bases__
        else:
            index += 1


_PARAMETERS = re.compile(r"^Parameters\n-+\n", re.MULTILINE)


def _drop_accessor_argument(app, what, name, obj, options, lines):
    """The accessor methods take the Dataset as ``self``: drop its entry from Parameters.

    ``ds.bess.heatmap(...)`` shares the docstring of ``bessx.heatmap(daily, ...)``, whose
    first parameter is the Dataset the accessor already holds.
    """
    if not name.startswith("xarray.Dataset.bess."):
        return
    for i, line in enumerate(lines):
        if line.strip() == "Parameters" and i + 1 < len(lines) and set(lines[i + 1]) == {"-"}:
            first = i + 2
            end = first + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            del lines[first:end]
            following = lines[first] if first < len(lines) else ""
            after = lines[first + 1] if first + 1 < len(lines) else ""
            if not following or (after and set(after) == {"-"}):
                # the Dataset was the only parameter: drop the empty section
                lines[i:first] = []
            break
    public = name.removeprefix("xarray.Dataset.bess.")
    # after the summary paragraph
    end_of_summary = lines.index("") + 1 if "" in lines else len(lines)
    lines[end_of_summary:end_of_summary] = [
        f"``ds.bess.{public}(...)`` is :func:`bessx.{public}(ds, ...) <bessx.{public}>`.",
        "",
    ]


# -- the report's screenshot ---------------------------------------------------------------------
DOCS = Path(__file__).parent


def _report_screenshot(app):
    """Take the screenshot of a demo run's report.html; fail the build if a figure is blank."""
    sys.path.insert(0, str(DOCS))
    from report_screenshot import find_chromium

    if find_chromium() is None or os.environ.get("BESSX_DOCS_SCREENSHOT") == "0":
        return
    command = [sys.executable, str(DOCS / "report_screenshot.py"), "--work"]
    command += [str(DOCS / "_build" / "report"), "--png", str(DOCS / "_static" / "report.png")]
    subprocess.run(command, check=True)


def setup(app):
    app.connect("builder-inited", _report_screenshot)
    app.connect("missing-reference", _resolve_bessx_names)
    app.connect("autodoc-process-signature", _signature)
    app.connect("autodoc-process-docstring", _constant_doc_comment, priority=400)
    app.connect("autodoc-process-bases", _public_bases)
    # before numpydoc (priority 500) rewrites the sections
    app.connect("autodoc-process-docstring", _drop_accessor_argument, priority=400)
