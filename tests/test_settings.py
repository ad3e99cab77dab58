"""Settings come only from the environment and are parsed strictly."""

import pytest

from tests.helpers import run_django

# A URL is enough for these checks: nothing connects, and the embedded server is not started.
UNREACHABLE = "postgresql://postgres@%2Fnonexistent%2Flinkdo-socket/linkdo"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be one of"),
        ({"DJANGO_DEBUG": "false"}, "SECRET_KEY must be set"),
        ({"DJANGO_DEBUG": "true", "LINKDO_EMBEDDING_DIM": "many"}, "LINKDO_EMBEDDING_DIM must be"),
        ({"DJANGO_DEBUG": "true", "LINKDO_EMBEDDING_DIM": "1"}, "between 2 and 16000"),
        ({"DJANGO_DEBUG": "true", "PORT": "70000"}, "PORT must be between"),
        ({"DJANGO_DEBUG": "true", "LINKDO_THROTTLE_IP": "fast"}, "LINKDO_THROTTLE_IP must look"),
        (
            {"DJANGO_DEBUG": "true", "LINKDO_METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,intranet"},
            "LINKDO_METRICS_ALLOWED_NETWORKS must be",
        ),
    ],
)
def test_bad_configuration_stops_with_a_clear_message(env, message):
    result = run_django("", DATABASE_URL=UNREACHABLE, **env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.slow
def test_database_url_with_socket_host_and_lists():
    result = run_django(
        "from django.conf import settings as s\n"
        "d = s.DATABASES['default']\n"
        "print(d['HOST'], d['NAME'], d['USER'], s.ALLOWED_HOSTS, s.CORS_ALLOWED_ORIGINS, s.DEBUG)",
        DATABASE_URL=UNREACHABLE,
        DJANGO_DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="api.linkdo.example, localhost",
        CORS_ALLOWED_ORIGINS="https://app.linkdo.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 3)[:3] == ["/nonexistent/linkdo-socket", "linkdo", "postgres"]
    assert (
        "['api.linkdo.example', 'localhost'] ['https://app.linkdo.example'] False" in result.stdout
    )


@pytest.mark.slow
def test_manage_py_defaults_to_debug_only_without_a_secret_key():
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "SECRET_"))
    }
    base["DATABASE_URL"] = UNREACHABLE
    code = "from django.conf import settings; print(settings.DEBUG)"

    def shell(**env):
        return subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env={**base, **env},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    assert shell().stdout.strip().endswith("True")  # a developer's machine
    assert shell(SECRET_KEY="x" * 50).stdout.strip().endswith("False")  # a deployment
    wsgi = run_django(
        "import linkdo.wsgi", DATABASE_URL=UNREACHABLE
    )  # gunicorn's path stays strict
    assert wsgi.returncode != 0 and "SECRET_KEY must be set" in wsgi.stderr
