"""Ray Serve application of the Monte Carlo simulator.

Routes (the same in ``loopback_server.py``, which serves them without Ray):

- ``POST /simulate``: body is a ``SimulationJob`` (JSON); 200 with the
  ``SimulationResult``, 400 ``{"error": {"code", "message"}}`` for a job the
  contract refuses or a method this engine does not run, 413 for a body over
  the size limit.
- ``GET /healthz``: 200 ``{"ok": true}``.
- anything else: 404.

A job of more than ``SIM_SPLIT_PATHS`` paths is cut into chunk ranges run as
Ray tasks across the cluster (at most ``SIM_MAX_TASKS``); the numbers are the
same however a job is cut (each chunk has its own seed).

:func:`handle` is the whole request logic, a pure function of the method,
path and body; Ray is imported only to wrap it in a deployment, so this
module imports (and ``handle`` is tested) where Ray is not installed.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vatic_sim import JobError, run_range, simulate  # noqa: E402

MAX_BODY_BYTES = int(os.environ.get('SIM_MAX_BODY_BYTES', str(64 * 1024 * 1024)))
SPLIT_PATHS = int(os.environ.get('SIM_SPLIT_PATHS', str(262_144)))
MAX_TASKS = int(os.environ.get('SIM_MAX_TASKS', '32'))


def error(code: str, message: str) -> dict:
    """The error body every non-200 answer carries."""
    return {'error': {'code': code, 'message': message}}


def too_large(size: int, limit: int) -> tuple[int, dict]:
    """The 413 answer for a body of ``size`` bytes."""
    return 413, error('PAYLOAD_TOO_LARGE', f'request body of {size} bytes exceeds the limit of {limit} bytes')


def _reject_constant(name: str):
    raise ValueError(f'{name} is not valid JSON')


def parse_job(body: bytes):
    """The JSON value of the request body (NaN and Infinity are refused)."""
    return json.loads(body.decode('utf-8'), parse_constant=_reject_constant)


def _simulate(body: bytes, run) -> tuple[int, dict]:
    try:
        job = parse_job(body)
    except (UnicodeDecodeError, ValueError) as exc:
        return 400, error('INVALID_JSON', f'request body is not valid JSON: {exc}')
    try:
        return 200, run(job)
    except JobError as exc:
        return 400, {'error': exc.to_dict()}
    except MemoryError:
        return 503, error('OUT_OF_MEMORY', 'the job does not fit in this replica\'s memory')
    except Exception as exc:  # noqa: BLE001 - any failure becomes a 500 body, never a dropped connection
        return 500, error('INTERNAL', f'{type(exc).__name__}: {exc}')


def handle(method: str, path: str, body: bytes = b'', max_body: int = MAX_BODY_BYTES, run=simulate) -> tuple[int, dict]:
    """Answer one request: (HTTP status, JSON body as a dict). ``run(job)`` simulates a parsed job."""
    route = path.split('?', 1)[0].rstrip('/') or '/'
    method = method.upper()
    if method == 'GET' and route == '/healthz':
        return 200, {'ok': True}
    if method == 'POST' and route == '/simulate':
        if len(body) > max_body:
            return too_large(len(body), max_body)
        return _simulate(body, run)
    return 404, error('NOT_FOUND', f'no route {method} {route}')


def _route_path(request) -> str:
    """The request path below the application's route prefix."""
    path = request.url.path
    root = request.scope.get('root_path', '') or ''
    if root and path.startswith(root):
        path = path[len(root):] or '/'
    return path


def parts_for(job) -> int:
    """How many Ray tasks a job is cut into (1: it runs in the replica itself)."""
    paths = job.get('paths') if isinstance(job, dict) else None
    if not isinstance(paths, int) or isinstance(paths, bool) or paths <= SPLIT_PATHS:
        return 1
    return min(MAX_TASKS, -(-paths // SPLIT_PATHS))


try:  # Ray is only needed to deploy; handle() above works without it.
    import ray
    from ray import serve
    from starlette.responses import JSONResponse
except ImportError:  # pragma: no cover - exercised where Ray is absent
    ray = serve = None

if serve is not None:
    _remote_range = ray.remote(num_cpus=1)(run_range)

    def _map_on_cluster(fn, plan, ranges):
        """Run chunk ranges as Ray tasks (the plan is shipped once)."""
        plan_ref = ray.put(plan)
        return ray.get([_remote_range.remote(plan_ref, a, b) for a, b in ranges])

    def run_on_cluster(job):
        """Simulate a job, cut into Ray tasks when it is large."""
        parts = parts_for(job)
        return simulate(job) if parts == 1 else simulate(job, _map_on_cluster, parts)

    @serve.deployment(
        num_replicas='auto',
        autoscaling_config={
            'min_replicas': 1,
            'max_replicas': int(os.environ.get('SIM_MAX_REPLICAS', '16')),
            'target_ongoing_requests': 1,
            'upscale_delay_s': 5,
            'downscale_delay_s': 120,
        },
        # A job is CPU-bound for seconds: a replica takes one at a time and
        # one more waits, so the autoscaler sees the queue and adds replicas.
        max_ongoing_requests=2,
        ray_actor_options={'num_cpus': 1},
    )
    class SimulationService:
        """HTTP ingress: each request runs :func:`handle` off the event loop."""

        async def __call__(self, request):
            declared = request.headers.get('content-length')
            if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                status, payload = too_large(int(declared), MAX_BODY_BYTES)
            else:
                body = await request.body()
                status, payload = await asyncio.to_thread(
                    handle, request.method, _route_path(request), body, MAX_BODY_BYTES, run_on_cluster)
            return JSONResponse(payload, status_code=status)

    app = SimulationService.bind()
else:
    SimulationService = None
    app = None
