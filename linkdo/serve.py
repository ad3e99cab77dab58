"""`make run`: the web server (gunicorn) and the job worker (`manage.py procrastinate worker`) as
one command. Ctrl-C or SIGTERM stops both (the worker finishes or gives back its running job); if
either dies, the other is stopped and the command exits with an error that names it, never silently.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_S = 30


def _commands() -> dict[str, list[str]]:
    binaries = Path(sys.executable).parent
    return {
        "web": [str(binaries / "gunicorn"), "linkdo.wsgi", "--config", "deploy/gunicorn.conf.py"],
        "worker": [sys.executable, "manage.py", "procrastinate", "worker"],
    }


def main() -> int:
    stop_requested = False

    def request_stop(signum, frame):
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    processes = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in _commands().items()}
    died = None
    while not stop_requested and died is None:
        died = next((name for name, p in processes.items() if p.poll() is not None), None)
        time.sleep(0.2)
    if died is not None:
        code = processes[died].returncode
        print(f"linkdo: the {died} process exited (status {code}); stopping.", file=sys.stderr)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
    return 1 if died is not None else 0


if __name__ == "__main__":
    sys.exit(main())
