"""The data-set kinds registry (``DATA_KINDS``); importing this package fills it, one module per layout family."""

from trials.data.kinds import benchmarks, builtin, flat, hr_folders, rain  # noqa: F401 - fill the registry
from trials.data.kinds.base import (
    DATA_KINDS,
    SEARCH,
    TEST,
    DataKind,
    KindOption,
    LoadOptions,
    set_labels,
    set_rank,
)

__all__ = ["DATA_KINDS", "SEARCH", "TEST", "DataKind", "KindOption", "LoadOptions", "set_labels", "set_rank"]
