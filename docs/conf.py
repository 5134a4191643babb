"""Sphinx configuration for the macvlan documentation.

Built with warnings as errors (``nox -s docs``).  Only Sphinx's own theme
(alabaster) and built-in extensions are used; nothing is fetched from the network.
"""

from __future__ import annotations

import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import macvlan  # noqa: E402

project = "macvlan"
author = "macvlan developers"
copyright = "macvlan developers"  # noqa: A001
version = release = macvlan.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]

# Modules that are written by several people at once: an API page is built only
# for the modules that import here (without root), so a module still being
# written does not break the build.  Every other page links to them in prose.
OPTIONAL_API = {
    "network": "macvlan.network",
    "cni": "macvlan.cni",
    "cli": "macvlan.cli",
    "demo": "macvlan.demo",
}
missing_api = []
for page, module in OPTIONAL_API.items():
    try:
        importlib.import_module(module)
    except Exception:  # noqa: BLE001 - any failure means: leave the page out
        missing_api.append(f"api/{page}.rst")

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", *missing_api]
templates_path: list[str] = []
html_static_path = ["_static"]
html_css_files = ["custom.css"]

html_theme = "alabaster"
html_title = f"macvlan {release}"
html_theme_options = {
    "description": "macvlan links, namespaces and MAC addresses for Python, over its own rtnetlink",
    "fixed_sidebar": False,
    "page_width": "1200px",
    "sidebar_width": "230px",
    "show_powered_by": False,
    "extra_nav_links": {},
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
html_show_sourcelink = False

pygments_style = "sphinx"
highlight_language = "text"  # plain literal blocks (diagrams); code-blocks name theirs
default_role = "literal"
nitpicky = False

# -- autodoc -----------------------------------------------------------------------------
autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autoclass_content = "class"
add_module_names = False

# -- doctest: nothing here needs root or touches a link ----------------------------------
doctest_global_setup = """
import macvlan
from macvlan import MacAddress, MacAllocator, SlapQuadrant, MacvlanMode, MacvlanFlags
"""
# Only ``.. doctest::`` directives run, never ``>>>`` blocks that autodoc pulls in
# from docstrings: some of those need root and would touch real links.
doctest_test_doctest_blocks = ""


def _drop_missing_api_pages(app: object, docname: str, source: list[str]) -> None:
    """Leave the pages of modules that do not exist yet out of the API toctree."""
    if docname != "api/index":
        return
    gone = {f"   {page[len('api/') : -len('.rst')]}" for page in missing_api}
    source[0] = "\n".join(
        line for line in source[0].split("\n") if line.rstrip() not in gone
    )


def setup(app: object) -> None:
    app.connect("source-read", _drop_missing_api_pages)  # type: ignore[attr-defined]
