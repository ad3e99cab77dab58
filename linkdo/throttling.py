"""Request rates per workspace and per client address (DRF throttling; 429 with Retry-After).

Rates come from settings at request time (LINKDO_THROTTLE_WORKSPACE, LINKDO_THROTTLE_IP), so
tests and deployments can change them; `None` turns a limit off. Counts live in the cache: with
the default local-memory cache each gunicorn worker counts on its own.
"""

import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class SettingsRateThrottle(SimpleRateThrottle):
    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting)


class WorkspaceRateThrottle(SettingsRateThrottle):
    scope = "workspace"
    setting = "LINKDO_THROTTLE_WORKSPACE"

    def get_cache_key(self, request, view):
        workspace_id = getattr(request, "workspace_id", None)
        if workspace_id is None:
            return None
        ident = hashlib.sha256(workspace_id.encode()).hexdigest()  # any id makes a safe key
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AddressRateThrottle(SettingsRateThrottle):
    """Per client address; behind a proxy set NUM_PROXIES so X-Forwarded-For names the client."""

    scope = "address"
    setting = "LINKDO_THROTTLE_IP"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
