"""``python -m orchestrator.watchdog PID``: ends what a driver started when the driver dies without cleaning up.

A SIGKILLed driver takes its local Ray instance down with it, except two of the raylet's agents
(DashboardAgent, RuntimeEnvAgent), which are re-parented to init and keep running. The driver starts this
process in its own session; it notes the driver's descendants every second and, once the driver is gone,
kills those still alive (psutil checks each one's creation time, so a reused PID is never hit).
"""

import subprocess
import sys
import time

import psutil

POLL_S = 1.0


def descendants(driver: psutil.Process, own_pid: int) -> dict[int, psutil.Process]:
    try:
        return {p.pid: p for p in driver.children(recursive=True) if p.pid != own_pid}
    except psutil.Error:
        return {}


def watch(pid: int) -> None:
    own = psutil.Process().pid
    try:
        driver = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    known: dict[int, psutil.Process] = {}
    while driver.is_running() and driver.status() != psutil.STATUS_ZOMBIE:
        known |= descendants(driver, own)
        time.sleep(POLL_S)
    for process in known.values():
        try:
            if process.is_running():
                process.kill()
        except psutil.Error:
            pass


def start(pid: int) -> None:
    """Starts the watchdog for ``pid`` (the caller), detached from its terminal and process group."""
    subprocess.Popen([sys.executable, "-m", "orchestrator.watchdog", str(pid)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    watch(int(sys.argv[1]))
