"""Records the golden runs' numbers on a machine whose CPU kernels round otherwise than the first recording's.

    python tests/golden/record.py NAME     # e.g. amd-epyc; writes tests/golden/<combination>/machines/NAME/

Each golden combination is run as tests/test_registries.py runs it. The run is refused unless it finds the
recorded genotype and search scores within 1e-3 (the code is the same; only the last bits differ). Record only
from a commit whose golden test passes on the first machine: the new numbers then pin that same code here.
"""

import json
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from test_registries import GOLDEN, architecture, close_to, run_smoke, searched_scores, trained_scores  # noqa: E402


def record(name: str) -> None:
    for golden in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        task, method = golden.name.split("-")
        with tempfile.TemporaryDirectory() as scratch:
            _, run_dir, metrics = run_smoke(task, "hinas", method, Path(scratch))
            searched = searched_scores(json.loads((run_dir / "search.json").read_text()))
            genotype = json.loads((run_dir / "genotype.json").read_text())
        first = json.loads((golden / "genotype.json").read_text())
        if architecture(genotype) != architecture(first):
            sys.exit(f"{golden.name}: the genotype differs from the recorded one; nothing written")
        expected = searched_scores(json.loads((golden / "search.json").read_text()))
        searched = {k: searched[k] for k in expected}
        if not close_to(expected, searched):
            sys.exit(f"{golden.name}: search scores {searched} are not within 1e-3 of {expected}; nothing written")
        out = golden / "machines" / name
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(trained_scores(metrics), indent=2, sort_keys=True) + "\n")
        (out / "search.json").write_text(json.dumps(searched, indent=2) + "\n")
        print(f"{out}: {trained_scores(metrics)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    record(sys.argv[1])
