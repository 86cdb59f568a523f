"""Interleaved timing: A B C A B C ... with a warm-up call each, medians and spread.

The machines these run on are shared and noisy, so candidates are never timed one
after the other in separate blocks: each repetition times every candidate once, in
an order rotated by one from the previous repetition, and only ratios of medians
measured in the same run are reported.
"""

import time

import numpy as np


#: Seconds to sleep before each timed call. OpenMP (libgomp, also inside PyTorch and the
#: C backend) and OpenBLAS worker threads spin for a while after a parallel region;
#: without a pause the candidate timed next shares the cores with the spinning threads
#: of the previous one (measured: the Numba binary kernel 151 ms right after PyTorch /
#: the C backend vs 74 ms alone).
PAUSE = 0.05


def interleaved(candidates, repeat, pause=PAUSE):
    """Time each callable ``repeat`` times, interleaved.

    Parameters
    ----------
    candidates : dict of str -> callable
        Zero-argument callables. Each is called once untimed first (warm-up:
        compilation, page faults, caches).
    repeat : int >= 1
        Timed calls per candidate.
    pause : float
        Seconds slept (untimed) before every timed call, see :data:`PAUSE`.

    Returns
    -------
    dict of str -> ndarray of shape (repeat,)
        Wall-clock seconds of every timed call.
    """
    names = list(candidates)
    for name in names:
        candidates[name]()
    times = {name: [] for name in names}
    for r in range(repeat):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn = candidates[name]
            if pause:
                time.sleep(pause)
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: np.asarray(v) for name, v in times.items()}


def summarize(samples):
    """Median and spread of timings: ``(median, half the interquartile range, min, max)``."""
    samples = np.asarray(samples, dtype=float)
    q25, med, q75 = np.percentile(samples, [25, 50, 75])
    return {
        "median": float(med),
        "spread": float((q75 - q25) / 2),
        "min": float(samples.min()),
        "max": float(samples.max()),
        "n": int(samples.size),
    }
