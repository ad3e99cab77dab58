"""Base fixtures: two workspaces, so that every endpoint test can prove the other one stays invisible."""

import pytest
from rest_framework.test import APIClient

from tests.factories import WorkspaceFactory


class WorkspaceClient(APIClient):
    """An API client bound to one workspace; JSON bodies by default."""

    def __init__(self, workspace_id: str):
        super().__init__(HTTP_X_WORKSPACE_ID=workspace_id)
        self.workspace_id = workspace_id

    def generic(self, method, path, data="", content_type="application/json", **extra):
        return super().generic(method, path, data, content_type, **extra)

    def post(self, path, data=None, **extra):
        return super().post(path, data, format="json", **extra)

    def patch(self, path, data=None, **extra):
        return super().patch(path, data, format="json", **extra)

    def put(self, path, data=None, **extra):
        return super().put(path, data, format="json", **extra)


@pytest.fixture(autouse=True)
def local_ai(settings):
    """Tests run offline with the local provider unless a test configures Gemini itself."""
    from linkdo.ai import reset_providers

    settings.LINKDO_AI_PROVIDER = "local"
    settings.GEMINI_API_KEY = ""
    reset_providers()
    yield
    reset_providers()


@pytest.fixture(autouse=True)
def no_throttling(settings):
    """The suite sends thousands of requests from one address; throttling tests turn it on."""
    settings.LINKDO_THROTTLE_WORKSPACE = None
    settings.LINKDO_THROTTLE_IP = None
    settings.LINKDO_CONCURRENCY_WORKSPACE = None
    settings.LINKDO_CONCURRENCY_IP = None


@pytest.fixture(autouse=True)
def forget_seen_workspaces():
    """Each test's rows are rolled back; the process's memory of seen workspaces must go too."""
    from workspaces.services import recently_seen

    recently_seen.clear()
    yield
    recently_seen.clear()


@pytest.fixture(autouse=True)
def forget_shared_state(request):
    """Rate counts known to this process go with each test. A transactional test's flush keeps the
    UNLOGGED cache and counter tables (not models) and the job queue's: they are emptied here."""
    from linkdo.throttling import shared_counts

    shared_counts.clear()
    yield
    shared_counts.clear()
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE linkdo_cache, linkdo_rate, procrastinate_jobs CASCADE")


@pytest.fixture(scope="session")
def fake_gemini_server():
    from tests.fake_gemini import FakeGemini

    server = FakeGemini().start()
    yield server
    server.stop()


@pytest.fixture
def gemini(settings, fake_gemini_server):
    """Point LinkDo at the fake Gemini server, reached by the real google-genai client."""
    from linkdo.ai import reset_providers

    fake_gemini_server.reset()
    fake_gemini_server.hang_seconds = 5.0
    fake_gemini_server.tags_answer = ["planning", "work", "writing"]
    settings.LINKDO_AI_PROVIDER = "gemini"
    settings.GEMINI_API_KEY = "server-key-not-secret"
    settings.GEMINI_BASE_URL = fake_gemini_server.base_url
    settings.LINKDO_EMBED_TIMEOUT_S = 1.5
    settings.LINKDO_EMBED_BATCH_TIMEOUT_S = 5.0
    settings.LINKDO_TAGS_TIMEOUT_S = 1.5
    settings.LINKDO_PARSE_TIMEOUT_S = 1.5
    settings.LINKDO_AI_MAX_RETRIES = 2
    # The tests written for embedding before the answer keep it; tests/tasks/test_create_pending.py
    # covers the default with a remote provider (answer at once, the job embeds).
    settings.LINKDO_EMBED_ON_WRITE = "inline"
    reset_providers()
    yield fake_gemini_server
    fake_gemini_server.reset()
    reset_providers()


@pytest.fixture
def ws_a(db):
    return WorkspaceFactory(id="alpha")


@pytest.fixture
def ws_b(db):
    return WorkspaceFactory(id="bravo")


@pytest.fixture
def client_a(ws_a):
    return WorkspaceClient(ws_a.id)


@pytest.fixture
def client_b(ws_b):
    return WorkspaceClient(ws_b.id)


@pytest.fixture(params=["", "/"], ids=["no-slash", "slash"])
def slash(request):
    """Every path must answer with and without its trailing slash, never by redirecting."""
    return request.param
