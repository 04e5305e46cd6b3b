"""The offline engine's catalog of Well-Architected blueprints.

Importing the package imports every module in it, and each ``@blueprint`` registers itself: a
new blueprint is a new file here, and nothing else changes.
"""

import importlib
import pkgutil

from agents.catalog.base import (
    CATALOG,
    Blueprint,
    BuildContext,
    Fragment,
    component_words,
    components,
)

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CATALOG", "Blueprint", "BuildContext", "Fragment", "component_words", "components"]
