"""`python -m workspaces.events [--host H] [--port P] [--upstream HOST:PORT]`: the stream process
under uvicorn."""

import argparse
import asyncio
import logging
import os
import time

logger = logging.getLogger("linkdo.events")


def main() -> None:
    parser = argparse.ArgumentParser(description="LinkDo's stream process (GET /api/events).")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server's port
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--upstream", default=None, help="unix:PATH or HOST:PORT of gunicorn")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkdo.settings")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import uvicorn

    from workspaces.events.app import EventsApp

    app = EventsApp(upstream=args.upstream)

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            # End every stream first: uvicorn waits for open responses before it stops.
            loop = asyncio.get_event_loop()
            loop.call_soon_threadsafe(app.hub.close_all)
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app, host=args.host, port=args.port, lifespan="on", log_level="warning",
        access_log=False, timeout_graceful_shutdown=10, proxy_headers=False,
    )  # fmt: skip
    started = time.monotonic()
    Server(config).run()
    logger.info("events_stopped after_s=%.0f", time.monotonic() - started)


if __name__ == "__main__":
    main()
