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
#: Seconds to sleep after a candidate that ran on OpenBLAS (the NumPy reference,
#: scikit-learn, PyTorch): OpenBLAS threads spin for 2**28 cycles (~0.11 s at 2.5 GHz)
#: after each call, and 0.05 s left the Numba binary kernel at 78 ms when it followed
#: the reference, against 50 ms alone.
LONG_PAUSE = 0.15


def interleaved(candidates, repeat, pause=PAUSE, long_pause_after=(), already_warm=()):
    """Time each callable ``repeat`` times, interleaved.

    Parameters
    ----------
    candidates : dict of str -> callable
        Zero-argument callables. Each is called once untimed first (warm-up:
        compilation, page faults, caches), unless named in ``already_warm``.
    repeat : int >= 1
        Timed calls per candidate.
    pause : float
        Seconds slept (untimed) before every timed call, see :data:`PAUSE`.
    long_pause_after : collection of str
        Candidates after which :data:`LONG_PAUSE` is slept instead (thread pools that
        spin longer), when ``pause`` is not 0.
    already_warm : collection of str
        Candidates the caller has just called (the equality check of the runner):
        their warm-up call is skipped, and the first timed call waits
        :data:`LONG_PAUSE` (whatever ran last may have left a pool spinning).

    Returns
    -------
    dict of str -> ndarray of shape (repeat,)
        Wall-clock seconds of every timed call.
    """
    names = list(candidates)
    for name in names:
        if name not in already_warm:
            candidates[name]()
    times = {name: [] for name in names}
    previous = None
    if pause and already_warm:
        time.sleep(LONG_PAUSE)
    for r in range(repeat):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn = candidates[name]
            if pause:
                time.sleep(max(pause, LONG_PAUSE) if previous in long_pause_after else pause)
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            previous = name
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
