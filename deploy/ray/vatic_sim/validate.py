"""Validation of a simulation job against the contract in
``sim/montecarlo/simulation-spec.ts`` (the zod ``SimulationJob`` schema).

Every check names the offending field with a path such as
``phases[0].daily.amount`` and raises :class:`JobError`. A valid job comes
back as a new dict with the schema's defaults filled in, so the kernel never
has to guess.
"""
from __future__ import annotations

import math
from typing import Any

METHODS = ('iid', 'block', 'parametric')
SIZINGS = ('fixed', 'compound')
MAX_PATHS = 20_000_000
MAX_RETURNS = 1_000_000
MAX_DAYS_IN_HISTORY = 100_000
MAX_TRADES_PER_DAY = 1000
MAX_FAN_PATHS = 2000


class JobError(ValueError):
    """A job the simulator refuses: ``code`` is machine-readable, ``message`` names the field."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def to_dict(self) -> dict:
        """The error as the HTTP body's ``error`` object."""
        return {'code': self.code, 'message': self.message}


def _bad(path: str, what: str) -> JobError:
    return JobError('INVALID_JOB', f'{path or "job"}: {what}', path or None)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: Any, path: str, *, gt: float | None = None, ge: float | None = None,
           le: float | None = None, integer: bool = False) -> float | int:
    """A finite JSON number within the given bounds (``integer``: a whole number)."""
    if not _is_number(value) or not math.isfinite(value):
        raise _bad(path, 'must be a finite number')
    if integer and value != int(value):
        raise _bad(path, 'must be an integer')
    if gt is not None and not value > gt:
        raise _bad(path, f'must be greater than {gt}')
    if ge is not None and not value >= ge:
        raise _bad(path, f'must be at least {ge}')
    if le is not None and not value <= le:
        raise _bad(path, f'must be at most {le}')
    return int(value) if integer else float(value)


def nullable_number(value: Any, path: str, **bounds: Any) -> float | int | None:
    """``null`` or a number within bounds."""
    return None if value is None else number(value, path, **bounds)


def choice(value: Any, path: str, options: tuple[str, ...]) -> str:
    """One of the given strings."""
    if not isinstance(value, str) or value not in options:
        raise _bad(path, f'must be one of {", ".join(repr(o) for o in options)}')
    return value


def boolean(value: Any, path: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise _bad(path, 'must be a boolean')
    return value


def strict(value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    """An object with exactly the required keys and possibly the optional ones."""
    if not isinstance(value, dict):
        raise _bad(path, 'must be an object')
    for key in value:
        if key not in required and key not in optional:
            raise _bad(f'{path}.{key}' if path else str(key), 'unknown field')
    for key in required:
        if key not in value:
            raise _bad(f'{path}.{key}' if path else key, 'is required')
    return value


def array(value: Any, path: str, *, min_len: int = 0, max_len: int | None = None) -> list:
    """A JSON array of bounded length."""
    if not isinstance(value, list):
        raise _bad(path, 'must be an array')
    if len(value) < min_len:
        raise _bad(path, f'needs at least {min_len} item(s)')
    if max_len is not None and len(value) > max_len:
        raise _bad(path, f'allows at most {max_len} items')
    return value


def _daily(value: Any, path: str) -> dict | None:
    if value is None:
        return None
    strict(value, path, ('amount', 'pctOfBase', 'basis', 'severity'))
    out = {
        'amount': nullable_number(value['amount'], f'{path}.amount', gt=0),
        'pctOfBase': nullable_number(value['pctOfBase'], f'{path}.pctOfBase', gt=0),
        'basis': choice(value['basis'], f'{path}.basis', ('balance', 'balance-or-equity')),
        'severity': choice(value['severity'], f'{path}.severity', ('hard', 'soft')),
    }
    if (out['amount'] is None) == (out['pctOfBase'] is None):
        raise _bad(f'{path}.amount', 'exactly one of amount and pctOfBase must be set')
    return out


def _max_loss(value: Any, path: str) -> dict | None:
    if value is None:
        return None
    strict(value, path, ('amount', 'mode', 'lockLevel'))
    return {
        'amount': number(value['amount'], f'{path}.amount', gt=0),
        'mode': choice(value['mode'], f'{path}.mode', ('static', 'eod-trailing', 'intraday-trailing')),
        'lockLevel': nullable_number(value['lockLevel'], f'{path}.lockLevel'),
    }


PHASE_KEYS = ('name', 'startingBalance', 'target', 'targetBasis', 'daily', 'maxLoss', 'minTradingDays',
              'minTrades', 'consistency', 'maxDays', 'inactivityDays')


def phase(value: Any, path: str) -> dict:
    """One ``CompiledPhase``."""
    strict(value, path, PHASE_KEYS)
    if not isinstance(value['name'], str):
        raise _bad(f'{path}.name', 'must be a string')
    return {
        'name': value['name'],
        'startingBalance': number(value['startingBalance'], f'{path}.startingBalance', gt=0),
        'target': nullable_number(value['target'], f'{path}.target', gt=0),
        'targetBasis': choice(value['targetBasis'], f'{path}.targetBasis', ('balance', 'equity')),
        'daily': _daily(value['daily'], f'{path}.daily'),
        'maxLoss': _max_loss(value['maxLoss'], f'{path}.maxLoss'),
        'minTradingDays': number(value['minTradingDays'], f'{path}.minTradingDays', ge=0, integer=True),
        'minTrades': number(value['minTrades'], f'{path}.minTrades', ge=0, integer=True),
        'consistency': nullable_number(value['consistency'], f'{path}.consistency', gt=0, le=1),
        'maxDays': nullable_number(value['maxDays'], f'{path}.maxDays', gt=0),
        'inactivityDays': nullable_number(value['inactivityDays'], f'{path}.inactivityDays', gt=0),
    }


MODEL_DEFAULTS = {'jumpsPerYear': 0, 'jumpMean': 0, 'jumpStd': 0, 'stepsPerDay': 24, 'fee': 0}


def model(value: Any, path: str) -> dict:
    """A ``ParametricModel`` (checked so that errors agree with the local pool's)."""
    strict(value, path, ('mu', 'sigma', 'exposure', 'holdDays'), tuple(MODEL_DEFAULTS))
    v = {**MODEL_DEFAULTS, **value}
    out = {
        'mu': number(v['mu'], f'{path}.mu'),
        'sigma': number(v['sigma'], f'{path}.sigma', gt=0),
        'jumpsPerYear': number(v['jumpsPerYear'], f'{path}.jumpsPerYear', ge=0),
        'jumpMean': number(v['jumpMean'], f'{path}.jumpMean'),
        'jumpStd': number(v['jumpStd'], f'{path}.jumpStd', ge=0),
        'exposure': number(v['exposure'], f'{path}.exposure'),
        'holdDays': number(v['holdDays'], f'{path}.holdDays', gt=0),
        'stepsPerDay': number(v['stepsPerDay'], f'{path}.stepsPerDay', gt=0, le=1440, integer=True),
        'fee': number(v['fee'], f'{path}.fee', ge=0),
    }
    if out['exposure'] == 0:
        raise _bad(f'{path}.exposure', 'must not be 0')
    return out


FROM_NUMBERS = {
    'balance': {}, 'daysElapsed': {'ge': 0}, 'daysSinceActivity': {'ge': 0}, 'dailyFloor': {},
    'maxLossFloor': {}, 'highWater': {},
}
FROM_COUNTS = ('phaseIndex', 'tradingDays', 'trades')
FROM_FLAGS = ('floorLocked', 'tradedToday', 'lockedToday')


def start_state(value: Any, path: str) -> dict:
    """A ``StartState`` (where a live assessment stands now)."""
    keys = tuple(FROM_NUMBERS) + FROM_COUNTS + FROM_FLAGS + ('pastDayPnl', 'todayPnl')
    strict(value, path, keys, ('dayFraction',))
    out: dict = {k: number(value[k], f'{path}.{k}', **b) for k, b in FROM_NUMBERS.items()}
    out['dayFraction'] = number(value.get('dayFraction', 0), f'{path}.dayFraction', ge=0)
    if not out['dayFraction'] < 1:
        raise _bad(f'{path}.dayFraction', 'must be less than 1')
    out.update({k: number(value[k], f'{path}.{k}', ge=0, integer=True) for k in FROM_COUNTS})
    out.update({k: boolean(value[k], f'{path}.{k}') for k in FROM_FLAGS})
    past = array(value['pastDayPnl'], f'{path}.pastDayPnl')
    out['pastDayPnl'] = [number(x, f'{path}.pastDayPnl[{i}]') for i, x in enumerate(past)]
    out['todayPnl'] = nullable_number(value['todayPnl'], f'{path}.todayPnl')
    return out


def _horizon(value: Any) -> dict:
    strict(value, 'horizon', (), ('trades', 'days'))
    out = {
        'trades': number(value['trades'], 'horizon.trades', gt=0, integer=True) if 'trades' in value else None,
        'days': number(value['days'], 'horizon.days', gt=0) if 'days' in value else None,
    }
    if out['trades'] is None and out['days'] is None:
        raise _bad('horizon', 'horizon needs trades or days')
    return out


def _number_list(value: Any, path: str, *, max_len: int, min_len: int = 0, **bounds: Any) -> list:
    items = array(value, path, min_len=min_len, max_len=max_len)
    return [number(x, f'{path}[{i}]', **bounds) for i, x in enumerate(items)]


JOB_REQUIRED = ('seed', 'paths', 'method', 'tradesPerDay', 'horizon', 'phases')
JOB_OPTIONAL = ('blockLength', 'sizing', 'returns', 'model', 'from', 'ruin', 'fanPaths')


def _seed(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise _bad('seed', 'must be a string of 1 to 200 characters')
    return value


def validate_job(job: Any) -> dict:
    """Check a job against the contract; return it with defaults filled in.

    Raises :class:`JobError` (code ``INVALID_JOB``) naming the first bad field.
    """
    strict(job, '', JOB_REQUIRED, JOB_OPTIONAL)
    out: dict = {
        'seed': _seed(job['seed']),
        'paths': number(job['paths'], 'paths', ge=1, le=MAX_PATHS, integer=True),
        'method': choice(job['method'], 'method', METHODS),
        'blockLength': number(job['blockLength'], 'blockLength', ge=1) if 'blockLength' in job else None,
        'sizing': choice(job.get('sizing', 'fixed'), 'sizing', SIZINGS),
        'returns': _number_list(job.get('returns', []), 'returns', max_len=MAX_RETURNS, gt=-1),
        'tradesPerDay': _number_list(job['tradesPerDay'], 'tradesPerDay', min_len=1, max_len=MAX_DAYS_IN_HISTORY,
                                     ge=0, le=MAX_TRADES_PER_DAY, integer=True),
        'model': model(job['model'], 'model') if 'model' in job else None,
        'horizon': _horizon(job['horizon']),
        'phases': [phase(p, f'phases[{i}]')
                   for i, p in enumerate(array(job['phases'], 'phases', min_len=1, max_len=3))],
        'from': start_state(job['from'], 'from') if 'from' in job else None,
        'ruin': boolean(job.get('ruin', True), 'ruin'),
        'fanPaths': number(job.get('fanPaths', 200), 'fanPaths', ge=0, le=MAX_FAN_PATHS, integer=True),
    }
    _cross_checks(out)
    return out


def _cross_checks(job: dict) -> None:
    """The schema's ``superRefine``: constraints across fields."""
    if job['method'] != 'parametric' and not job['returns']:
        raise _bad('returns', f"method '{job['method']}' needs at least one trade return")
    if job['method'] == 'parametric' and job['model'] is None:
        raise _bad('model', "method 'parametric' needs a model")
    if not any(n > 0 for n in job['tradesPerDay']):
        raise _bad('tradesPerDay', 'no day with a trade')
    if job['from'] is not None and job['from']['phaseIndex'] >= len(job['phases']):
        raise _bad('from.phaseIndex', 'no such phase')
