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
        ({"DJANGO_DEBUG": "true", "PORT": "70000"}, "PORT must be a whole number between"),
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


# Issue 30, item 16: every variable, gunicorn's too, is refused in one line naming it and the
# accepted values, by manage.py, by the image's command and by `make run`'s supervisor.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LINKDO_PRELOAD_KOREAN": "maybe"}, "LINKDO_PRELOAD_KOREAN must be one of true/false"),
        ({"WEB_CONCURRENCY": "many"}, "WEB_CONCURRENCY must be a whole number between 1 and 64"),
        ({"GUNICORN_TIMEOUT": "x"}, "GUNICORN_TIMEOUT must be a whole number >= 1"),
        ({"LINKDO_TOMBSTONE_DAYS": "-1"}, "LINKDO_TOMBSTONE_DAYS must be a whole number >= 0"),
        ({"LINKDO_CONCURRENCY_WORKSPACE": "0"}, "LINKDO_CONCURRENCY_WORKSPACE must be a whole"),
        ({"LINKDO_THROTTLE_IP": "fast"}, "LINKDO_THROTTLE_IP must look like 600/min"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [["-m", "linkdo.web"], ["-m", "linkdo.serve"], ["manage.py", "check"]],
    ids=["image", "make-run", "manage"],
)
def test_a_bad_variable_is_one_line_naming_it(env, message, command):
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    full_env.update(DATABASE_URL=UNREACHABLE, DJANGO_DEBUG="true", **env)
    result = subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=full_env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"linkdo: {result.stderr.split(': ', 1)[1].strip()}"
    ]
    assert message in result.stderr
    assert "Traceback" not in result.stderr
