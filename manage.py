#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
    # Management commands on a developer's machine (no SECRET_KEY anywhere) default to debug mode,
    # like `make`. Deployments always set SECRET_KEY, so they keep DJANGO_DEBUG's strict default;
    # the WSGI entry point (gunicorn) never gets this default.
    if not os.environ.get("SECRET_KEY"):
        os.environ.setdefault("DJANGO_DEBUG", "true")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        # A setting refused by linkdo.settings.env: one line naming it, not a traceback.
        sys.exit(f"linkdo: {error}")


if __name__ == "__main__":
    main()
