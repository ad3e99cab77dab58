import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
try:
    application = get_wsgi_application()
except ImproperlyConfigured as error:
    # A setting refused by linkdo.settings.env: one line naming it, not a traceback.
    sys.exit(f"linkdo: {error}")
