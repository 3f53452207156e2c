"""Monte Carlo pass probability of a prop-firm assessment under the live rules,
vectorized with NumPy: the Ray Serve side of ``sim/montecarlo``.
"""
from .block_length import stationary_block_length
from .kernel import CHUNK_PATHS, chunk_rng, prepare, run_chunk, run_range, simulate, split
from .plan import OUTCOMES, build_plan
from .validate import JobError, validate_job

__all__ = ['CHUNK_PATHS', 'JobError', 'OUTCOMES', 'build_plan', 'chunk_rng', 'prepare', 'run_chunk', 'run_range',
           'simulate', 'split', 'stationary_block_length', 'validate_job']
