"""Tasks: the interface and registry (``base``) and one module per task; importing this fills ``TASKS``."""

from trials.tasks import denoise, derain, sr  # noqa: F401 - registers the tasks
from trials.tasks.base import TASKS, BoundTask, Task, TaskConfig

TASKS.default = "denoise"

__all__ = ["TASKS", "BoundTask", "Task", "TaskConfig"]
