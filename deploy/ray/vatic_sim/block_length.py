"""Automatic mean block length for the stationary bootstrap.

Politis & White (2004), "Automatic Block-Length Selection for the Dependent
Bootstrap", with the correction of Patton, Politis & White (2009), computed
the way the Python ``arch`` package's ``optimal_block_length`` does it
(column ``stationary``): the bandwidth ``m`` is twice the first lag after
which ``k_n = max(5, log10 n)`` autocorrelations in a row are insignificant
(band ``2 sqrt(log10(n) / n)``), capped at ``ceil(sqrt n) + k_n``; with the
flat-top window ``h(x) = min(1, 2(1 - |x|))``,

    G = sum_{|k| <= m} h(k/m) |k| acv(k),   sigma2 = sum_{|k| <= m} h(k/m) acv(k),
    b = (2 G^2 / (2 sigma2^2))^(1/3) n^(1/3),

capped at ``ceil(min(3 sqrt n, n / 3))``. Autocovariances use the full
sample length ``n`` as divisor, as ``arch`` does.
"""
from __future__ import annotations

import math

import numpy as np


def _autocorrelations(eps: np.ndarray, m_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocovariances (divisor n) and absolute autocorrelations for lags 0..m_max."""
    n = eps.shape[0]
    acv = np.zeros(m_max + 1)
    abs_acorr = np.zeros(m_max + 1)
    for i in range(m_max + 1):
        cross = float(eps[i:] @ eps[: n - i])
        acv[i] = cross / n
        v1 = float(eps[i + 1:] @ eps[i + 1:])
        v2 = float(eps[: n - i - 1] @ eps[: n - i - 1])
        denom = math.sqrt(v1 * v2)
        abs_acorr[i] = abs(cross) / denom if denom > 0 else 0.0
    return acv, abs_acorr


def _bandwidth(abs_acorr: np.ndarray, kn: int, m_max: int, cv: float) -> int:
    """The flat-top window's bandwidth ``m`` from the first run of insignificant lags."""
    opt_m = None
    for i in range(kn, m_max + 1):
        if np.all(abs_acorr[i - kn: i] < cv):
            opt_m = i - kn
            break
    m = 2 * max(opt_m, 1) if opt_m is not None else m_max
    return min(m, m_max)


def stationary_block_length(x: np.ndarray | list) -> float:
    """Optimal mean block length of the stationary bootstrap for the series ``x``.

    A series too short for the autocorrelations the bandwidth search reads
    (``n < m_max + 2``) or without variance gets 1; the result is never below
    1, the smallest mean block length the job accepts.
    """
    data = np.asarray(x, dtype=np.float64).ravel()
    n = data.shape[0]
    if n < 2:
        return 1.0
    kn = max(5, int(math.log10(n)))
    m_max = int(math.ceil(math.sqrt(n))) + kn
    if n < m_max + 2:
        return 1.0
    eps = data - data.mean()
    if not np.any(eps):
        return 1.0
    b_max = math.ceil(min(3 * math.sqrt(n), n / 3))
    cv = 2 * math.sqrt(math.log10(n) / n)
    acv, abs_acorr = _autocorrelations(eps, m_max)
    m = _bandwidth(abs_acorr, kn, m_max, cv)
    g = 0.0
    lr_acv = acv[0]
    for k in range(1, m + 1):
        lam = 1.0 if k / m <= 0.5 else 2 * (1 - k / m)
        g += 2 * lam * k * acv[k]
        lr_acv += 2 * lam * acv[k]
    d_sb = 2 * lr_acv ** 2
    if not d_sb > 0:
        return 1.0
    b_sb = ((2 * g ** 2) / d_sb) ** (1 / 3) * n ** (1 / 3)
    b_sb = min(b_sb, b_max)
    return float(b_sb) if math.isfinite(b_sb) and b_sb >= 1 else 1.0
