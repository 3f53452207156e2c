"""The simulator's HTTP routes on the standard library's HTTP server, for tests
and local development: the same :func:`serve_app.handle` as the Ray Serve
deployment, without Ray.

    python3 deploy/ray/loopback_server.py --port 0

prints ``listening on http://127.0.0.1:<port>`` (one line, flushed) once it
accepts connections, so a test can spawn it and read the port.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from serve_app import MAX_BODY_BYTES, error, handle, too_large  # noqa: E402


class SimulationHandler(BaseHTTPRequestHandler):
    """Routes every request through :func:`handle`; bodies over the limit get 413 unread."""

    server_version = 'vatic-sim-loopback'
    protocol_version = 'HTTP/1.1'
    max_body = MAX_BODY_BYTES

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload, allow_nan=False, separators=(',', ':')).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 411/413 (the connection then closes)."""
        length = self.headers.get('Content-Length')
        if length is None:
            if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
                self.close_connection = True
                self._answer(411, error('LENGTH_REQUIRED', 'send the body with a Content-Length'))
                return None
            return b''
        if not length.strip().isdigit():
            self.close_connection = True
            self._answer(400, error('BAD_REQUEST', 'invalid Content-Length'))
            return None
        size = int(length)
        if size > self.max_body:
            self.close_connection = True
            self._answer(*too_large(size, self.max_body))
            return None
        return self.rfile.read(size)

    def _dispatch(self) -> None:
        body = self._read_body() if self.command == 'POST' else b''
        if body is None:
            return
        self._answer(*handle(self.command, self.path, body, self.max_body))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        """Quiet by default; VATIC_SIM_ACCESS_LOG=1 logs requests to stderr."""
        if os.environ.get('VATIC_SIM_ACCESS_LOG') == '1':
            super().log_message(format, *args)


def serve(host: str, port: int, max_body: int) -> None:
    """Serve until interrupted, announcing the bound address on stdout."""
    handler = type('Handler', (SimulationHandler,), {'max_body': max_body})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    bound_host, bound_port = server.server_address[:2]
    print(f'listening on http://{bound_host}:{bound_port}', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='Serve the simulator routes on a local port.')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8000, help='0 picks a free port')
    parser.add_argument('--max-body', type=int, default=MAX_BODY_BYTES, help='largest request body in bytes')
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.max_body)


if __name__ == '__main__':
    main()
