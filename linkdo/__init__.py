"""The project: settings, urls, wsgi, and the kernel every app may import (database helpers,
fields, errors, opaque ids, observability, AI providers). It imports no app but in urls.py."""
