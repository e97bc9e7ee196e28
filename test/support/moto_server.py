"""moto's server with requests handled one at a time.

moto's own server answers each request on a thread with no lock around DynamoDB's
condition-check-and-write, so two concurrent conditional writes can both pass their check. Real
DynamoDB serializes the writes to an item and evaluates each condition atomically. Serializing the
requests restores that guarantee, so concurrency tests exercise our conditions, not moto's races.
Connections are still accepted concurrently.

Usage: moto_server.py PORT   (listens on 127.0.0.1 only)
"""
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class SerializedApp:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Materialize the body inside the lock: moto may build it lazily.
            return list(self.app(environ, start_response))


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    app = SerializedApp(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
