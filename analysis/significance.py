"""Is a difference real? Welch's t-test (two-sided, unequal variances: ``scipy.stats.ttest_ind`` with
``equal_var=False``) of one row's per-seed values against those of the row it is compared with.

Seeds are independent runs of a setting, so the two sides are unpaired samples of possibly different spread
and size. The test needs at least two seeds a side and some spread: the p-value is NaN otherwise. A bootstrap
interval would need far more than the 3 seeds a table has.
"""

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

MARKERS = ((0.01, "**"), (0.05, "*"))  # tightest first: p < 0.01 -> '**', p < 0.05 -> '*'
SIGNIFICANT = MARKERS[-1][0]  # the level below which a difference is beyond seed noise (any marker)
TEST_COLUMNS = ("setting", "compare_with", "column", "mean", "compare_mean", "diff", "p", "n", "compare_n")


def welch_p(values: np.ndarray, baseline: np.ndarray) -> float:
    """The two-sided p-value; NaN with fewer than 2 values a side or no spread on either side."""
    a, b = _finite(values), _finite(baseline)
    if len(a) < 2 or len(b) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return np.nan
    with warnings.catch_warnings():  # one constant side is fine for Welch; scipy still warns about it
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def _finite(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def marker(p: float) -> str:
    """'**' for p < 0.01, '*' for p < 0.05, else '' (also for NaN)."""
    return next((mark for level, mark in MARKERS if p < level), "")


def marker_legend() -> str:
    return ", ".join(f"{mark} p < {level:g}" for level, mark in reversed(MARKERS))


def seed_tests(data: pd.DataFrame, pairs: Mapping[str, str], columns: list[str],
               setting_column: str) -> pd.DataFrame:
    """One row per (compared setting, value column): means, their difference (setting - compare_with), the
    p-value and the number of seeds a side. ``data`` holds one row per seed; ``pairs`` maps a setting to the
    setting it is tested against."""
    groups = {s: g for s, g in data.groupby(setting_column, sort=False)}
    empty = data.iloc[:0]
    records = []
    for setting, baseline in pairs.items():
        ours, theirs = groups.get(setting, empty), groups.get(baseline, empty)
        for column in columns:
            a, b = _finite(ours[column]), _finite(theirs[column])
            mean, compare_mean = _mean(a), _mean(b)
            records.append((setting, baseline, column, mean, compare_mean, mean - compare_mean,
                            welch_p(a, b), len(a), len(b)))
    return pd.DataFrame.from_records(records, columns=list(TEST_COLUMNS))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else np.nan
