"""`python -m linkdo.web`: gunicorn with LinkDo's configuration (the image's command, and the web
half of `make run`). gunicorn reads WEB_CONCURRENCY itself, before any configuration file, and
ends in a bare ValueError on a malformed value; here every variable it reads is checked first,
with one line naming it, and then gunicorn replaces this process."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check_environment() -> str | None:
    """The problem with gunicorn's variables, or None (linkdo.settings.env's strict parsers)."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        from linkdo.settings.env import env_bool, env_int  # runs the settings' own checks too

        env_int("PORT", 8000, minimum=1, maximum=65535)
        env_int("WEB_CONCURRENCY", 3, minimum=1, maximum=64)
        env_int("GUNICORN_TIMEOUT", 30, minimum=1)
        env_bool("LINKDO_PRELOAD_KOREAN", True)
    except ImproperlyConfigured as error:
        return str(error)
    return None


def main() -> None:
    if problem := check_environment():
        sys.exit(f"linkdo: {problem}")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    os.chdir(ROOT)
    os.execv(gunicorn, [gunicorn, "linkdo.wsgi", "--config", "deploy/gunicorn.conf.py"])


if __name__ == "__main__":
    main()
