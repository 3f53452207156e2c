"""The HTTP routes: the pure handler, and the loopback server in a subprocess."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import unittest

from jobs import job, phase

RAY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, RAY_DIR)

from serve_app import handle, parts_for  # noqa: E402


def body(value) -> bytes:
    return json.dumps(value).encode('utf-8')


class HandlerTest(unittest.TestCase):
    def test_health(self):
        self.assertEqual(handle('GET', '/healthz'), (200, {'ok': True}))

    def test_simulate(self):
        status, result = handle('POST', '/simulate', body(job(paths=500)))
        self.assertEqual(status, 200)
        self.assertEqual((result['paths'], result['engine']), (500, 'ray'))
        json.dumps(result, allow_nan=False)  # plain JSON, no NaN

    def test_invalid_job_is_400_naming_the_field(self):
        status, payload = handle('POST', '/simulate', body(job([phase(minTrades=-1)])))
        self.assertEqual(status, 400)
        self.assertEqual(set(payload), {'error'})
        self.assertEqual(payload['error']['code'], 'INVALID_JOB')
        self.assertIn('phases[0].minTrades', payload['error']['message'])

    def test_unsupported_method_is_400(self):
        model = {'mu': 0.1, 'sigma': 0.2, 'exposure': 1, 'holdDays': 1}
        status, payload = handle('POST', '/simulate', body(job(method='parametric', returns=[], model=model)))
        self.assertEqual((status, payload['error']['code']), (400, 'UNSUPPORTED_METHOD'))

    def test_invalid_json_is_400(self):
        for raw in (b'{"seed": ', b'\xff\xfe', b'{"paths": NaN}'):
            status, payload = handle('POST', '/simulate', raw)
            self.assertEqual((status, payload['error']['code']), (400, 'INVALID_JSON'))

    def test_other_routes_are_404(self):
        for method, path in (('GET', '/simulate'), ('POST', '/simulate/x'), ('GET', '/'), ('DELETE', '/healthz')):
            status, payload = handle(method, path, b'')
            self.assertEqual((status, payload['error']['code']), (404, 'NOT_FOUND'))

    def test_large_jobs_are_cut_into_tasks(self):
        self.assertEqual(parts_for({'paths': 1_000}), 1)
        self.assertEqual(parts_for({'paths': 1_000_000}), 4)
        self.assertEqual(parts_for({'paths': 20_000_000}), 32)
        self.assertEqual(parts_for({'paths': 'many'}), 1)

    def test_oversized_body_is_413(self):
        status, payload = handle('POST', '/simulate', b' ' * 101, max_body=100)
        self.assertEqual((status, payload['error']['code']), (413, 'PAYLOAD_TOO_LARGE'))


class LoopbackServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        script = os.path.join(RAY_DIR, 'loopback_server.py')
        cls.proc = subprocess.Popen([sys.executable, script, '--port', '0', '--max-body', '100000'],
                                    stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline().strip()
        prefix = 'listening on http://127.0.0.1:'
        if not line.startswith(prefix):
            cls.proc.kill()
            raise RuntimeError(f'unexpected first line {line!r}')
        cls.port = int(line[len(prefix):])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.proc.stdout.close()

    def request(self, method: str, path: str, data: bytes | None = None):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
        try:
            conn.request(method, path, body=data, headers={'Content-Type': 'application/json'})
            resp = conn.getresponse()
            return resp.status, resp.getheader('Content-Type'), json.loads(resp.read())
        finally:
            conn.close()

    def test_routes(self):
        self.assertEqual(self.request('GET', '/healthz'), (200, 'application/json', {'ok': True}))
        status, _, result = self.request('POST', '/simulate', body(job(paths=300)))
        self.assertEqual((status, result['paths']), (200, 300))
        status, _, payload = self.request('POST', '/simulate', body(job(paths=-1)))
        self.assertEqual((status, payload['error']['code']), (400, 'INVALID_JOB'))
        status, _, payload = self.request('GET', '/nope')
        self.assertEqual((status, payload['error']['code']), (404, 'NOT_FOUND'))

    def test_oversized_body_is_413_before_reading(self):
        status, _, payload = self.request('POST', '/simulate', b'[' + b'0,' * 60_000 + b'0]')
        self.assertEqual((status, payload['error']['code']), (413, 'PAYLOAD_TOO_LARGE'))


if __name__ == '__main__':
    unittest.main()
