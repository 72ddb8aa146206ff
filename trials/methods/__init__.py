"""Search methods: the interface and registry (``base``), one module per method; importing this fills METHODS."""

from trials.methods import darts, dlsr, fixed, hinas, mdarts, random_arch, rsws  # noqa: F401 - registers the methods
from trials.methods.base import METHODS, MethodConfig, SearchContext, SearchMethod

METHODS.default = "hinas"

__all__ = ["METHODS", "MethodConfig", "SearchContext", "SearchMethod"]
