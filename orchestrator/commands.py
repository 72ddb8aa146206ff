"""Commands that need Ray, MLflow or the analysis code: registered here, imported only when run."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Ablation, table and report commands (added as they are built)."""
