"""Explanation methods are plug-ins: one module each in this folder, registered by name.

Adding a method is adding one module here: it is imported (and so registered) with this
package, and everything that lists methods (the Explain page's picker and grid, the
workers' jobs, the CLI, the glossary, `make bench`) loops over the registry. The interface
and the record every method fills in are in `base`.
"""
from __future__ import annotations

import importlib
import pkgutil

from playground.explain.methods.base import (
    KINDS,
    METHODS,
    TEXT,
    Attribution,
    GradientsUnavailable,
    Method,
    Subject,
    default_methods,
    explain,
    library_defaults,
    log_odds,
    method,
    method_names,
    overall_method,
    register,
    settings,
    titles,
    without_gradients,
    word_sums,
)

__all__ = ["KINDS", "METHODS", "TEXT", "Attribution", "GradientsUnavailable", "Method", "Subject",
           "all_terms", "default_methods", "explain", "library_defaults", "log_odds", "method",
           "method_names", "overall_method", "register", "settings", "titles",
           "without_gradients", "word_sums"]

# Every module in this folder is a method (or a helper one of them imports): importing them
# registers the methods.
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")


def all_terms():
    """Every method's glossary terms, in the methods' order."""
    return tuple(t for name in method_names() for t in method(name).terms)
