"""Room for an ablation, checked before Ray starts (issue 31): the estimate and the refusal."""

import shutil

import pytest

from orchestrator import diskspace
from orchestrator.presets import preset_config


def test_a_folder_with_less_room_than_needed_is_refused_by_name(tmp_path):
    free_mb = shutil.disk_usage(tmp_path).free / 2**20
    diskspace.check([tmp_path], need_mb=1.0)  # room: nothing said
    with pytest.raises(ValueError, match=rf"{tmp_path} has \d+ MB free, and this ablation needs about \d+ MB"):
        diskspace.check([tmp_path], need_mb=free_mb + 1024)
    with pytest.raises(ValueError, match=str(tmp_path)):  # a folder not made yet: its nearest existing parent
        diskspace.check([tmp_path / "ray_results" / "new"], need_mb=free_mb + 1024)


def test_the_estimate_follows_the_supernet_and_the_number_of_trials():
    smoke, paper = preset_config("smoke", "denoise", {}), preset_config("paper", "denoise", {})
    assert diskspace.supernet_mb(paper) > 10 * diskspace.supernet_mb(smoke) > 0
    one, three = diskspace.needed_mb([paper], 1), diskspace.needed_mb([paper], 3)
    assert three - diskspace.MARGIN_MB == pytest.approx(3 * (one - diskspace.MARGIN_MB))
