"""Enough events behind an alert: statistical guards that scale with an application's volume.

A ratio of a handful of events is noise: one invalid JSON answer among 15 checks is 7%, and a
5-minute p95 of 12 calls is the slowest of them. Each guarded alert therefore looks at two
windows, a short one (the 5 minutes of the LLM KPI write-ups) and a long one, and fires on
whichever has the evidence:

* a share (errors, timeouts, thumbs down, invalid outputs) must be above its threshold, come
  from at least ``min_events`` bad events, and pass a one-sided binomial test against the
  share that is normal (the threshold, or the baseline), on the arcsine scale where it holds
  at a handful of events too;
* a silence (no calls, no agent runs) counts only in a window where, at the rate of the hour
  before, at least ``min_expected`` events were due (the chance of none by luck is e^-min);
* a quantile or mean needs ``min_calls`` calls in its window, and a quantile compared with its
  baseline must stand above the baseline by more than its own sampling noise.

At a few hundred calls a minute the short window decides, within minutes; at one or two a
minute only the long window has the events, and detection takes correspondingly longer (the
runbook's table says how long). Each window's expression is complete on its own, so ``or``
keeps whichever holds and the alert's value is that window's figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import asin, sqrt
from statistics import NormalDist

from . import promql
from .model import Param

# A window -> the expression of a count (or a rate) over that window.
Over = Callable[[str], str]

WINDOW_HELP = "Windows read (short, long): the short one decides at volume, the long one when "


def z_param(default: float) -> Param:
    return Param(default, "Standard deviations a window's count must stand from what is "
                 "normal (z-test); 2 leaves about 1 chance in 44 per window, 3 about 1 in "
                 "740.")  # fmt: skip


def windows_param(short: str, long: str, what: str) -> Param:
    return Param([short, long], WINDOW_HELP + f"{what} are too few in the short one.", "windows")


def min_events_param(default: int, what: str) -> Param:
    return Param(default, f"Fewest {what} in a window before it can fire.", "int", minimum=1)


# A page must not come from a blip: two bad minutes keep a 5-minute window above its threshold
# for five minutes after they end, long enough for any ``for``. The short window's condition must
# therefore also hold over the last STILL, which clears as soon as the blip does; the long
# window needs no such check, since a blip is a small part of it.
STILL = "2m"


def any_window(windows: Sequence[str], condition: Callable[[str], str],
               sparse: Callable[[str], str] | None = None) -> str:  # fmt: skip
    """``condition`` over each window, joined with ``or``. With ``sparse`` (a window -> "the
    short window holds too few events" condition), the long window is read only where the short
    one is sparse: at volume the short window alone decides, so neither a blip that the short
    window's guard rejects nor the tail of an incident that has ended can hold an alert through
    the long one."""
    short, *longer = windows
    parts = [f"(\n  {condition(short)}\n)"]
    for w in longer:
        gate = f"\n  and {sparse(short)}" if sparse is not None else ""
        parts.append(f"(\n  {condition(w)}{gate}\n)")
    return "\nor\n".join(parts)


def share_exceeds(bad: str, total: str, threshold: str, normal: str, min_events: int,
                  z: float) -> str:  # fmt: skip
    """``bad / total`` is above ``threshold``, from at least ``min_events`` bad events, and a
    binomial test says the share ``normal`` cannot explain it. ``bad`` and ``total`` are counts
    over one window with the same labels; ``threshold`` and ``normal`` are numbers or vectors
    with those labels.

    The test runs on the arcsine scale, where a share of n events has a standard deviation of
    1 / (2 sqrt(n)) whatever the share: ``2 sqrt(n) (asin(sqrt(k/n)) - asin(sqrt(p))) > z``. The
    plain normal approximation ``(k - n p) / sqrt(n p (1 - p))`` is far too eager on the few
    events of a quiet hour: at 75 events and p = 6%, its z > 3 happens by chance in 1 window in
    200, not the 1 in 740 it promises; on the arcsine scale it is 1 in 2,000."""
    return (f"{bad} / {total} > {threshold}\n  and {bad} >= {min_events}\n"
            f"  and 2 * sqrt({total}) * (asin(sqrt({bad} / {total})) - {_arcsine(normal)}) "
            f"> {promql.number(z)}")  # fmt: skip


def _arcsine(share: str) -> str:
    """asin(sqrt(share)), worked out here for a number (PromQL's functions take vectors only)."""
    try:
        return promql.number(round(asin(sqrt(float(share))), 6))
    except ValueError:
        return f"asin(sqrt({share}))"


def quantile_exceeds(value: str, baseline: str, median: str, factor: float, calls: str,
                     z: float, q: float) -> str:  # fmt: skip
    """A ``q`` quantile ``value`` measured over ``calls`` calls is above ``factor`` times its
    ``baseline``, by more than its sampling noise. For a lognormal spread (latencies are close to
    one) the log of a sample quantile has a standard error of ``K ln(baseline / median) /
    sqrt(calls)``, with the spread read off the baseline's own quantile over its median. Where
    the p95 is twice the median, a p95 of 50 calls wanders about 13% on its own (one standard
    error), one of 1,000 calls about 3%."""
    normal = NormalDist()
    zq = normal.inv_cdf(q)
    k = sqrt(q * (1 - q)) / (normal.pdf(zq) * zq)
    noise = f"{promql.number(round(z * k, 4))} * ln({baseline} / {median}) / sqrt({calls})"
    return (
        f"{value} > {promql.number(factor)} * {baseline}\n  and ln({value} / {baseline}) > {noise}"
    )


def count_falls_short(observed: str, expected: str, keep: float, z: float) -> str:
    """``observed`` is below ``keep`` times ``expected`` and a Poisson z-test says normal
    variation cannot explain the shortfall: ``(expected - observed) / sqrt(expected) > z``."""
    return (f"{observed} < {promql.number(keep)} * {expected}\n"
            f"  and ({expected} - {observed}) / sqrt({expected}) > {promql.number(z)}")  # fmt: skip


def count_exceeds(observed: str, expected: str, factor: float, z: float) -> str:
    """``observed`` is above ``factor`` times ``expected`` and above what Poisson variation
    around ``factor * expected`` explains."""
    return (f"{observed} > {promql.number(factor)} * {expected}\n"
            f"  and ({observed} - {promql.number(factor)} * {expected}) / "
            f"sqrt({promql.number(factor)} * {expected} + 1) > {promql.number(z)}")  # fmt: skip


def seconds(window: str) -> str:
    return promql.number(promql.parse_duration(window))
