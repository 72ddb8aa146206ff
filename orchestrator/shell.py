"""Commands the console prints, spelled so they work as typed in a new shell.

After ``bash setup.sh`` the tools live in ``.venv/bin``; a shell that has not activated it finds no ``mlflow``
or ``ray`` (or another environment's). A printed command names this environment's copy unless PATH already
finds that very copy.
"""

import os
import shutil
import sys


def tool(name: str) -> str:
    """``name`` (python, mlflow, ray) as a new shell in the working folder should call it."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(here):
        return name  # not installed beside this interpreter: whatever PATH finds
    found = shutil.which(name)
    if found and os.path.abspath(found) == os.path.abspath(here):  # not resolved: a venv's python is a link
        return name
    relative = os.path.relpath(here)
    return relative if not relative.startswith("..") else here


def orchestrator() -> str:
    """The command line of this tool itself."""
    return f"{tool('python')} -m orchestrator"
