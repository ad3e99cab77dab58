"""LinkDo's settings with the load test's URLs (bench/load_urls.py)."""

from linkdo.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
