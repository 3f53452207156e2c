"""The Monte Carlo pass-probability kernel: ``simulate(job) -> result``.

Same contract as the local worker pool (``sim/montecarlo/simulation-spec.ts``,
semantics in ``sim/README.md``). Paths run in chunks of :data:`CHUNK_PATHS`
(16,384: a chunk's arrays stay in L2; measured faster than 4,096 or 65,536);
within a chunk the loop is over trade slots and every operation is a NumPy
vector over the chunk's paths. Chunk ``c`` draws from its own generator,
``default_rng(sha256(seed + '/' + c))``, so a job gives the same numbers
however its chunks are spread over workers. The numbers are not those of the
TypeScript kernel (a different generator), only the same law.
"""
from __future__ import annotations

import hashlib
import time

import numpy as np

from .judge import Judge, Records
from .plan import FAN_STEPS, Plan, build_plan
from .summary import summarize
from .track import Track, make_sampler
from .validate import JobError, validate_job

CHUNK_PATHS = 16_384
COMPACT_BELOW = 0.5  # compact rows when fewer than this share still run
COMPACT_MIN_ROWS = 1024


def chunk_rng(seed: str, chunk: int) -> np.random.Generator:
    """The generator of chunk ``chunk`` of a job seeded with ``seed``."""
    digest = hashlib.sha256(f'{seed}/{chunk}'.encode('utf-8')).digest()
    return np.random.default_rng(int.from_bytes(digest, 'big'))


def _worth_compacting(running: int, rows: int) -> bool:
    return rows >= COMPACT_MIN_ROWS and running < COMPACT_BELOW * rows


def run_chunk(plan: Plan, n: int, rng: np.random.Generator, fan_paths: int = 0, sampler=None) -> Records:
    """Simulate ``n`` paths; ``fan_paths`` of them (the first) keep their P&L curve.

    ``sampler`` replaces the job's bootstrap (tests pass a fixed sequence).
    """
    rec = Records(n, fan_paths)
    track = Track(plan, n, rng, sampler if sampler is not None else make_sampler(plan, rng), rec.fan_len)
    judge = Judge(plan, n, rec)
    k = 0
    while plan.max_trades is None or k < plan.max_trades:
        t, r, rolled, live = track.step(k)
        if judge.trow.size:
            judge.step(k, t, r, rolled, live)
        k += 1
        if not (_keep_going(plan, track, judge, live, rec) if plan.ruin else _judge_only(track, judge, rec)):
            break
    judge.finish()
    track.finish(rec.ruined)
    return rec


def _keep_going(plan: Plan, track: Track, judge: Judge, live, rec: Records) -> bool:
    """With the ruin account: every path runs to the horizon; drop finished rows as they pile up."""
    if live is not None:
        running = int(np.count_nonzero(live))
        if running == 0:
            return False
        if _worth_compacting(running, live.size):
            judge.compact(track.compact(live, rec.ruined))
    if judge.trow.size and _worth_compacting(judge.count, judge.trow.size):
        judge.compact()
    return True


def _judge_only(track: Track, judge: Judge, rec: Records) -> bool:
    """Without it (``ruin: false``): a path ends at its verdict, and the chunk when all have."""
    running = judge.count
    if running == 0:
        return False
    if _worth_compacting(running, judge.trow.size):
        keep = np.zeros(track.orig.size, dtype=bool)
        keep[judge.trow[judge.alive]] = True
        judge.compact(track.compact(keep, rec.ruined))
    return True


RECORD_FIELDS = ('outcome', 'pass_day', 'final_pnl', 'drawdown', 'ruined')
FAN_FIELDS = ('fan', 'fan_len', 'fan_last')


def chunk_count(paths: int) -> int:
    """How many chunks a job of ``paths`` paths has."""
    return -(-paths // CHUNK_PATHS)


def run_range(plan: Plan, first: int, stop: int) -> dict:
    """Chunks ``first`` to ``stop - 1`` of the job: their per-path arrays and fan rows.

    A unit of work on its own (a Ray task runs one): the numbers depend only
    on the job and the chunk indices, not on how the chunks are grouped.
    """
    total = plan.job['paths']
    lo, hi = first * CHUNK_PATHS, min(stop * CHUNK_PATHS, total)
    fan_hi = max(lo, min(plan.job['fanPaths'], hi))
    out = _records(hi - lo, fan_hi - lo)
    out['paths'] = (lo, hi)
    for c in range(first, stop):
        start = c * CHUNK_PATHS
        n = min(CHUNK_PATHS, total - start)
        keep_fan = max(0, min(fan_hi - start, n))
        rec = run_chunk(plan, n, chunk_rng(plan.job['seed'], c), keep_fan)
        for name in RECORD_FIELDS:
            out[name][start - lo:start - lo + n] = getattr(rec, name)
        for name in FAN_FIELDS:
            out[name][start - lo:start - lo + keep_fan] = getattr(rec, name)
    return out


def _records(n: int, fan_paths: int) -> dict:
    return {
        'outcome': np.empty(n, dtype=np.uint8), 'pass_day': np.empty(n, dtype=np.int64), 'final_pnl': np.empty(n),
        'drawdown': np.empty(n), 'ruined': np.empty(n, dtype=bool),
        'fan': np.zeros((fan_paths, FAN_STEPS + 1)), 'fan_len': np.zeros(fan_paths, dtype=np.int64),
        'fan_last': np.zeros(fan_paths, dtype=np.int64),
    }


def split(paths: int, parts: int) -> list[tuple[int, int]]:
    """Chunk ranges ``[first, stop)`` for at most ``parts`` units of work."""
    chunks = chunk_count(paths)
    parts = max(1, min(parts, chunks))
    edges = [round(i * chunks / parts) for i in range(parts + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def sequential(fn, plan: Plan, ranges: list[tuple[int, int]]) -> list[dict]:
    """Run every range here, one after the other."""
    return [fn(plan, a, b) for a, b in ranges]


def merge(parts: list[dict]) -> dict:
    """The job's arrays from its ranges, in path order."""
    parts = sorted(parts, key=lambda p: p['paths'][0])
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([p[name] for p in parts]) for name in RECORD_FIELDS + FAN_FIELDS}


def prepare(job: dict) -> Plan:
    """Validate ``job`` and derive its plan; ``parametric`` is refused here."""
    valid = validate_job(job)
    if valid['method'] == 'parametric':
        raise JobError('UNSUPPORTED_METHOD', "method 'parametric' is not supported by the Ray engine", 'method')
    return build_plan(valid)


def simulate(job: dict, map_ranges=sequential, parts: int = 1) -> dict:
    """Validate ``job``, simulate its paths and return the ``SimulationResult`` dict.

    ``map_ranges(run_range, plan, ranges)`` runs the chunk ranges (here by
    default; the Ray deployment passes one that runs them as tasks) and
    ``parts`` is how many ranges to cut. Raises :class:`JobError` for a job
    outside the contract, code ``UNSUPPORTED_METHOD`` for ``parametric``.
    """
    began = time.perf_counter()
    plan = prepare(job)
    arrays = merge(map_ranges(run_range, plan, split(plan.job['paths'], parts)))
    elapsed_ms = (time.perf_counter() - began) * 1000.0
    return summarize(plan, arrays, elapsed_ms)
