"""Evidently 0.7's drift stat tests, computed on prepared columns with numpy and scipy.

Each test mirrors the module of the same name under
`evidently/legacy/calculations/stattests/` (the code DataDriftPreset runs): the same
binning (`utils.get_binned_data`), the same normalisation, the same scipy call, the same
comparison with the threshold. What differs is the work: a column is cleaned, sorted or
counted once (`Prepared`), and every test reads those arrays instead of pandas Series.

`SUPPORTED_METHODS` lists what a monitoring config may name per feature.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

NUMERICAL = "numerical"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class MethodInfo:
    """A drift method by its Evidently name.

    `kind` is "p_value" (drift when the statistic is below the threshold; `inclusive`:
    at or below) or "distance" (drift when at or above it; `inclusive` False: above).
    """

    name: str
    display_name: str
    column_types: tuple[str, ...]
    default_threshold: float
    kind: str
    inclusive: bool

    def drifted(self, statistic: float, threshold: float) -> bool:
        if self.kind == "p_value":
            return bool(statistic <= threshold) if self.inclusive else bool(statistic < threshold)
        return bool(statistic >= threshold) if self.inclusive else bool(statistic > threshold)


@dataclass
class Prepared:
    """One column of reference and current, NaN and infinities dropped.

    Numerical columns keep both sides sorted; categorical ones are factorized into `keys`
    (the distinct values of both sides) with integer `ref_codes` / `cur_codes`.
    Counts over `keys` exist for both kinds (computed on first use for numerical ones).
    """

    column_type: str
    ref: np.ndarray  # numerical: sorted values; categorical: codes into keys
    cur: np.ndarray
    categorical_keys: np.ndarray | None = None
    _counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def n_ref(self) -> int:
        return int(self.ref.size)

    @property
    def n_cur(self) -> int:
        return int(self.cur.size)

    @cached_property
    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys, reference counts, current counts) over the distinct values of both."""
        if self._counts is not None:
            return self._counts
        ref_keys, ref_counts = _sorted_value_counts(self.ref)
        cur_keys, cur_counts = _sorted_value_counts(self.cur)
        keys = np.union1d(ref_keys, cur_keys)
        ref_full = np.zeros(keys.size, dtype=np.int64)
        cur_full = np.zeros(keys.size, dtype=np.int64)
        ref_full[np.searchsorted(keys, ref_keys)] = ref_counts
        cur_full[np.searchsorted(keys, cur_keys)] = cur_counts
        return keys, ref_full, cur_full

    @cached_property
    def ref_distinct(self) -> int:
        return int(np.count_nonzero(self.counts[1]))

    @cached_property
    def cur_distinct(self) -> int:
        return int(np.count_nonzero(self.counts[2]))

    @cached_property
    def distinct(self) -> int:
        """Distinct values over reference and current together (Evidently's n_values)."""
        return int(self.counts[0].size)

    def distinct_above(self, limit: int) -> bool:
        """Whether reference and current together hold more than `limit` distinct values.

        Numerical sides are sorted: their own distinct counts are one comparison pass each,
        and either one above the limit settles it without counting the union.
        """
        if self.column_type == NUMERICAL and "counts" not in self.__dict__:
            for side in (self.ref, self.cur):
                if side.size > limit and np.count_nonzero(side[1:] != side[:-1]) + 1 > limit:
                    return True
        return self.distinct > limit

    def values(self, side: str) -> np.ndarray:
        """The values themselves (categorical: decoded), for tests that take samples."""
        data = self.ref if side == "ref" else self.cur
        if self.column_type == CATEGORICAL:
            return self.categorical_keys[data]
        return data


def _sorted_value_counts(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if sorted_values.size == 0:
        return sorted_values[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.append(starts, sorted_values.size))
    return sorted_values[starts], counts


# --- binning, as evidently/legacy/calculations/stattests/utils.py::get_binned_data ---


def sorted_histogram(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """np.histogram(values, edges)[0] for an array of edges, on already sorted values."""
    cumulative = np.concatenate(
        (
            sorted_values.searchsorted(edges[:-1], "left"),
            sorted_values.searchsorted(edges[-1:], "right"),
        )
    )
    return np.diff(cumulative)


def _binned(prep: Prepared, feel_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    if prep.column_type == NUMERICAL and prep.ref_distinct > 20:
        edges = np.histogram_bin_edges(np.concatenate((prep.ref, prep.cur)), bins="sturges")
        ref_percents = sorted_histogram(prep.ref, edges) / prep.n_ref
        cur_percents = sorted_histogram(prep.cur, edges) / prep.n_cur
    else:
        _, ref_counts, cur_counts = prep.counts
        ref_percents = ref_counts / prep.n_ref
        cur_percents = cur_counts / prep.n_cur
    if feel_zeroes:
        for percents in (ref_percents, cur_percents):
            smallest = percents[percents != 0].min()
            np.place(percents, percents == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return ref_percents, cur_percents


# --- the tests: (prepared column, threshold) -> statistic ---


def _wasserstein(prep: Prepared) -> float:
    # scipy.stats.wasserstein_distance is the integral of |F_ref - F_cur| over the pieces
    # between consecutive values of both sides merged (a CDF counts the values <= x; ties
    # make pieces of width zero). Both sides are sorted, so the merge is never built: the
    # piece after a current value c_j ends at c_j+1 unless a reference value lies before
    # it, and F_ref there counts the reference values <= c_j; the piece after a reference
    # value r_i ends at r_i+1 or the first current value >= r_i. One searchsorted of the
    # reference into the current side gives all of it. The CDF gaps are kept as
    # |count_ref * n_cur - count_cur * n_ref|, integers exact in float64 (below 2**53),
    # until the one division at the end: the widths are scipy's, only the order of the
    # sum differs.
    ref, cur = prep.ref, prep.cur
    n_ref, n_cur = ref.size, cur.size
    if ref.dtype != np.float64 or cur.dtype != np.float64:  # scipy takes values as floats
        ref, cur = ref.astype(np.float64), cur.astype(np.float64)
    if float(n_ref) * n_cur * 2 > 2**53:  # the gaps would not be exact: integers instead
        return _wasserstein_merged(prep)
    before = cur.searchsorted(ref, "left")  # current values < each reference value
    # reference values <= c_j: those whose `before` is at most j
    below = np.cumsum(np.bincount(before, minlength=n_cur + 1)[:n_cur], dtype=np.float64)
    width = np.diff(cur)
    # a current piece cut short by the first reference value after c_j (before = j + 1)
    first = np.flatnonzero(np.diff(before, prepend=-1))
    first = first[(before[first] >= 1) & (before[first] < n_cur)]
    cut = before[first] - 1
    width[cut] = np.minimum(width[cut], ref[first] - cur[cut])
    below *= n_cur
    gap = below[:-1]
    gap -= np.arange(n_ref, n_cur * n_ref, n_ref, dtype=np.float64)
    np.abs(gap, out=gap)
    total = float(np.sum(gap * width))
    if below[-1] < float(n_ref) * n_cur:  # reference values above the last current one
        total += abs(below[-1] - float(n_cur) * n_ref) * (ref[int(below[-1]) // n_cur] - cur[-1])
    # the reference pieces: F_cur counts the current values < r_i (== r_i: width zero)
    ends = cur.take(np.minimum(before[:-1], n_cur - 1))
    ends[before[:-1] == n_cur] = np.inf
    width = np.minimum(np.diff(ref), ends - ref[:-1])
    gap = np.arange(n_cur, n_ref * n_cur, n_cur, dtype=np.float64)
    gap -= before[:-1] * float(n_ref)
    np.abs(gap, out=gap)
    total += float(np.sum(gap * width))
    if before[-1] < n_cur:  # current values above the last reference one
        total += abs(float(n_ref) * n_cur - before[-1] * float(n_ref)) * (cur[before[-1]] - ref[-1])
    distance = total / (n_ref * n_cur)
    norm = max(float(np.std(ref)), 0.001)
    return distance / norm


def _wasserstein_merged(prep: Prepared) -> float:
    # the same integral over the merged sides, in exact integers (for very large sides)
    ref, cur = prep.ref, prep.cur
    merged = np.concatenate((ref, cur))
    order = np.argsort(merged, kind="stable")
    merged = merged[order]
    ref_count = np.cumsum(order[:-1] < ref.size, dtype=np.int64)
    gap = ref_count * (ref.size + cur.size)
    gap -= np.arange(1, merged.size, dtype=np.int64) * ref.size
    np.abs(gap, out=gap)
    distance = float(np.dot(gap, np.diff(merged))) / (ref.size * cur.size)
    norm = max(float(np.std(ref)), 0.001)
    return distance / norm


def _jensenshannon(prep: Prepared) -> float:
    from scipy.spatial import distance

    ref_percents, cur_percents = _binned(prep, feel_zeroes=False)
    return float(distance.jensenshannon(ref_percents, cur_percents))


def _psi(prep: Prepared) -> float:
    ref_percents, cur_percents = _binned(prep, feel_zeroes=True)
    return float(np.sum((ref_percents - cur_percents) * np.log(ref_percents / cur_percents)))


def _kl_div(prep: Prepared) -> float:
    from scipy import stats

    ref_percents, cur_percents = _binned(prep, feel_zeroes=True)
    return float(stats.entropy(ref_percents, cur_percents))


def _ks(prep: Prepared) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(prep.ref, prep.cur)[1])


def _chisquare(prep: Prepared) -> float:
    from scipy.stats import chisquare

    _, ref_counts, cur_counts = prep.counts
    k_norm = prep.n_cur / prep.n_ref
    f_exp = [count * k_norm for count in ref_counts.tolist()]
    return float(chisquare(cur_counts.tolist(), f_exp)[1])


def _z(prep: Prepared) -> float:
    from scipy.stats import norm

    keys, ref_counts, cur_counts = prep.counts
    if (
        prep.ref_distinct == 1
        and prep.cur_distinct == 1
        and np.array_equal(ref_counts > 0, cur_counts > 0)
    ):
        return 1.0
    # keys are sorted; the first is 0, every other value 1 (z_stattest.py)
    order = np.argsort(keys, kind="stable") if prep.column_type == CATEGORICAL else None
    first = int(order[0]) if order is not None else 0
    n1, n2 = prep.n_ref, prep.n_cur
    p1 = float(n1 - int(ref_counts[first])) / n1
    p2 = float(n2 - int(cur_counts[first])) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z_stat = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - norm.cdf(np.abs(z_stat))))


def _hellinger(prep: Prepared) -> float:
    if prep.column_type == CATEGORICAL:
        _, ref_counts, cur_counts = prep.counts
        ref_shares = (ref_counts / prep.n_ref).tolist()
        cur_shares = (cur_counts / prep.n_cur).tolist()
        total = 0.0
        for p1, p2 in zip(ref_shares, cur_shares, strict=True):
            total += math.sqrt(p1 * p2)
        return math.sqrt(1 - float(np.clip(total, 0, 1)))
    keys = prep.counts[0]
    edges = np.histogram_bin_edges(keys, bins="sturges")
    widths = np.diff(edges).astype(float)
    ref_hist = sorted_histogram(prep.ref, edges)
    cur_hist = sorted_histogram(prep.cur, edges)
    h1 = (ref_hist / widths / ref_hist.sum()).tolist()
    h2 = (cur_hist / widths / cur_hist.sum()).tolist()
    bin_width = (max(edges) - min(edges)) / (len(edges) - 1)
    total = 0.0
    for p1, p2 in zip(h1, h2, strict=True):
        total += math.sqrt(float(p1) * float(p2)) * bin_width
    return math.sqrt(1 - float(np.clip(total, 0, 1)))


def _evidently_key_order(first_side: list, second_side: list) -> list:
    """`list(set(a.unique()) | set(b.unique()))`: the order Evidently's dicts iterate in."""
    return list(set(first_side) | set(second_side))


def _first_appearance(codes: np.ndarray, n_keys: int) -> list[int]:
    first = np.full(n_keys, codes.size, dtype=np.int64)
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
    present = np.flatnonzero(first < codes.size)
    return present[np.argsort(first[present], kind="stable")].tolist()


def _tvd_of(order: list, ref_counts: dict, cur_counts: dict) -> float:
    # tvd_stattest.py::_total_variation_distance, with its key order and integer types
    ref = [ref_counts.get(key, 0) for key in order]
    cur = [cur_counts.get(key, 0) for key in order]
    ref_array = np.array(ref, dtype=np.int64)
    cur_array = np.array(cur, dtype=np.int64)
    return 0.5 * np.sum(np.abs(ref_array / np.int64(sum(ref)) - cur_array / np.int64(sum(cur))))


def _tvd(prep: Prepared) -> float:
    """Permutation p-value of the total variation distance (1,000 permutations, seed 0).

    Evidently draws `np.random.choice(reference + current, len(reference), replace=False)`
    after `np.random.seed(0)`, which is the legacy generator's permutation of the pooled
    list; the same permutations here, counted instead of listed, give the same statistics
    bit for bit, so the p-value (a count of `observed <= permuted`) is the same.
    """
    keys = prep.categorical_keys
    ref_codes, cur_codes = prep.ref, prep.cur
    values = keys.tolist() if keys.dtype != object else list(keys)
    if keys.dtype.kind in "iub":
        values = [keys.dtype.type(value) for value in values]  # pandas hands numpy scalars out
    n_keys = len(values)

    def statistic(
        first_codes: np.ndarray, second_codes: np.ndarray, second_order: list[int]
    ) -> float:
        first_counts = np.bincount(first_codes, minlength=n_keys)
        second_counts = np.bincount(second_codes, minlength=n_keys)
        first_seen = [values[i] for i in _first_appearance(first_codes, n_keys)]
        second_seen = [values[i] for i in second_order if second_counts[i] > 0]
        order = _evidently_key_order(first_seen, second_seen)
        index = {values[i]: i for i in range(n_keys)}
        first_map = {key: first_counts[index[key]] for key in order if first_counts[index[key]] > 0}
        second_map = {
            key: second_counts[index[key]] for key in order if second_counts[index[key]] > 0
        }
        return _tvd_of(order, first_map, second_map)

    cur_order = _first_appearance(cur_codes, n_keys)
    observed = statistic(ref_codes, cur_codes, cur_order)
    pooled = np.concatenate((ref_codes, cur_codes))
    # new_current is Counter(pooled) - Counter(new_reference): its elements come grouped,
    # in the order each value first appears in the pooled list
    pooled_order = _first_appearance(pooled, n_keys)
    random = np.random.RandomState(0)
    permuted = []
    for _ in range(1000):
        chosen = random.permutation(pooled.size)
        new_ref = pooled[chosen[: ref_codes.size]]
        new_cur_counts = np.bincount(pooled, minlength=n_keys) - np.bincount(
            new_ref, minlength=n_keys
        )
        new_cur = np.repeat(np.arange(n_keys), new_cur_counts)
        permuted.append(statistic(new_ref, new_cur, pooled_order))
    return float(np.sum(observed <= np.abs(np.array(permuted))) / len(permuted))


def _g_test(prep: Prepared) -> float:
    from scipy.stats import power_divergence

    _, ref_counts, cur_counts = prep.counts
    return float(
        power_divergence(cur_counts.tolist(), ref_counts.tolist(), lambda_="log-likelihood")[1]
    )


def _fisher_exact(prep: Prepared) -> float:
    from scipy.stats import fisher_exact

    if prep.n_ref != prep.n_cur:
        raise ValueError(
            "fisher_exact needs reference and current of equal length (Evidently's rule)"
        )
    keys, ref_counts, cur_counts = prep.counts
    if prep.ref_distinct > 2 or prep.cur_distinct > 2:
        raise ValueError("fisher_exact needs binary data in reference and current")
    if keys.size != 2:
        raise ValueError(
            "fisher_exact needs two categories (Evidently pairs one with a placeholder)"
        )
    # generate_fisher2x2_contingency_table maps the categories to 0/1 in the order of
    # set(reference.unique().tolist() + current.unique().tolist())
    values = keys.tolist()
    seen = [values[i] for i in _first_appearance(prep.ref, 2)] + [
        values[i] for i in _first_appearance(prep.cur, 2)
    ]
    mapping = dict(zip(list(set(seen)), [0, 1], strict=True))
    one = next(i for i, value in enumerate(values) if mapping[value] == 1)
    table = np.array(
        [
            [cur_counts[one], prep.n_cur - cur_counts[one]],
            [ref_counts[one], prep.n_ref - ref_counts[one]],
        ]
    )
    return float(fisher_exact(table)[1])


def _anderson(prep: Prepared) -> float:
    from scipy.stats import anderson_ksamp

    return float(anderson_ksamp([prep.values("ref"), prep.values("cur")])[2])


def _cramer_von_mises(prep: Prepared) -> float:
    # cramer_von_mises_stattest.py::_cvm_2samp (Evidently's own port of scipy's, whose
    # arithmetic differs from today's scipy in the last bits: near p = 1e-8, 1 - cdf turns
    # those into differences of 1e-9 relative and more, so Evidently's is followed here)
    from scipy.stats import rankdata

    xa, ya = prep.ref, prep.cur  # sorted
    nx, ny = xa.size, ya.size
    if nx <= 1 or ny <= 1:
        raise ValueError("Cramer-von Mises needs at least two values on each side")
    method = "asymptotic" if max(nx, ny) > 20 else "exact"
    ranks = rankdata(np.concatenate([xa, ya]), method="average")
    rx, ry = ranks[:nx], ranks[nx:]
    u = nx * np.sum((rx - np.arange(1, nx + 1)) ** 2)
    u += ny * np.sum((ry - np.arange(1, ny + 1)) ** 2)
    k, big_n = nx * ny, nx + ny
    t = u / (k * big_n) - (4 * k - 1) / (6 * big_n)
    if method == "exact":
        return float(_cvm_exact_pvalue(u, nx, ny))
    et = (1 + 1 / big_n) / 6
    vt = (big_n + 1.0) * (4 * k * big_n - 3 * (nx**2 + ny**2) - 2 * k)
    vt = vt / (45 * big_n**2 * 4 * k)
    tn = 1 / 6 + (t - et) / np.sqrt(45 * vt)
    if tn < 0.003:
        return 1.0
    return float(max(0, 1.0 - _cvm_cdf_inf(tn)))


def _cvm_cdf_inf(x: float) -> np.ndarray:
    # cramer_von_mises_stattest.py::_cdf_cvm_inf, term for term
    from scipy.special import gammaln, kv

    x = np.asarray(x)

    def term(x: np.ndarray, k: int) -> np.ndarray:
        u = np.exp(gammaln(k + 0.5) - gammaln(k + 1)) / (np.pi**1.5 * np.sqrt(x))
        y = 4 * k + 1
        q = y**2 / (16 * x)
        b = kv(0.25, q)
        return u * np.sqrt(y) * np.exp(-q) * b

    tot = np.zeros_like(x, dtype="float")
    cond = np.ones_like(x, dtype="bool")
    k = 0
    while np.any(cond):
        z = term(x[cond], k)
        tot[cond] = tot[cond] + z
        cond[cond] = np.abs(z) >= 1e-7
        k += 1
    return tot


def _cvm_exact_pvalue(s: float, m: int, n: int) -> np.float64:
    # cramer_von_mises_stattest.py::_pval_cvm_2samp_exact (Xiao, Gordon and Yakovlev 2006)
    lcm = np.lcm(m, n)
    a = lcm // m
    b = lcm // n
    mn = m * n
    zeta = lcm**2 * (m + n) * (6 * s - mn * (4 * mn - 1)) // (6 * mn**2)
    zeta_bound = lcm**2 * (m + n)
    combinations = math.factorial(m + n) / (math.factorial(m) * math.factorial(n))
    dtype = np.min_scalar_type(max(zeta_bound, combinations))
    gs = [np.array([[0], [1]], dtype=dtype)] + [np.empty((2, 0), dtype=dtype) for _ in range(m)]
    for u in range(n + 1):
        next_gs = []
        tmp = np.empty((2, 0), dtype=dtype)
        for v, g in enumerate(gs):
            vi, i0, i1 = np.intersect1d(tmp[0], g[0], return_indices=True)
            tmp = np.concatenate(
                [np.stack([vi, tmp[1, i0] + g[1, i1]]), np.delete(tmp, i0, 1), np.delete(g, i1, 1)],
                1,
            )
            tmp[0] += (a * v - b * u) ** 2
            next_gs.append(tmp)
        gs = next_gs
    value, freq = gs[m]
    return np.float64(np.sum(freq[value >= zeta]) / combinations)


def _mannw(prep: Prepared) -> float:
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(x=prep.ref, y=prep.cur, alternative="less")[1])


def _t_test(prep: Prepared) -> float:
    from scipy.stats import ttest_ind

    return float(ttest_ind(prep.ref, prep.cur)[1])


def _energy(prep: Prepared) -> float:
    from scipy.stats import energy_distance

    return float(energy_distance(prep.ref, prep.cur))


def _epps_singleton(prep: Prepared) -> float:
    from scipy.stats import epps_singleton_2samp, iqr

    if iqr(np.hstack((prep.ref, prep.cur))) == 0:
        raise ValueError(
            "Epps-Singleton needs a nonzero interquartile range (Evidently refuses it too)"
        )
    return float(epps_singleton_2samp(prep.ref, prep.cur)[1])


BOTH = (CATEGORICAL, NUMERICAL)

SUPPORTED_METHODS: dict[str, MethodInfo] = {
    info.name: info
    for info in (
        MethodInfo(
            "wasserstein", "Wasserstein distance (normed)", (NUMERICAL,), 0.1, "distance", True
        ),
        MethodInfo("jensenshannon", "Jensen-Shannon distance", BOTH, 0.1, "distance", True),
        MethodInfo("psi", "PSI", BOTH, 0.1, "distance", True),
        MethodInfo("kl_div", "Kullback-Leibler divergence", BOTH, 0.1, "distance", True),
        MethodInfo("hellinger", "Hellinger distance", BOTH, 0.1, "distance", True),
        MethodInfo("ed", "Energy-distance", (NUMERICAL,), 0.1, "distance", False),
        MethodInfo("ks", "K-S p_value", (NUMERICAL,), 0.05, "p_value", True),
        MethodInfo("chisquare", "chi-square p_value", (CATEGORICAL,), 0.05, "p_value", False),
        MethodInfo("z", "Z-test p_value", (CATEGORICAL,), 0.05, "p_value", False),
        MethodInfo("TVD", "Total-Variation-Distance", (CATEGORICAL,), 0.1, "p_value", False),
        MethodInfo("g_test", "g_test", (CATEGORICAL,), 0.1, "p_value", False),
        MethodInfo("fisher_exact", "Fisher's Exact test", (CATEGORICAL,), 0.1, "p_value", False),
        MethodInfo("anderson", "Anderson-Darling", (NUMERICAL,), 0.1, "p_value", False),
        MethodInfo("cramer_von_mises", "Cramer-von Mises", (NUMERICAL,), 0.1, "p_value", True),
        MethodInfo("mannw", "Mann-Whitney U-rank test", (NUMERICAL,), 0.05, "p_value", False),
        MethodInfo("t_test", "t_test", (NUMERICAL,), 0.05, "p_value", False),
        MethodInfo("es", "Epps-Singleton", (NUMERICAL,), 0.05, "p_value", False),
    )
}

_IMPLEMENTATIONS: dict[str, Callable[[Prepared], float]] = {
    "wasserstein": _wasserstein,
    "jensenshannon": _jensenshannon,
    "psi": _psi,
    "kl_div": _kl_div,
    "hellinger": _hellinger,
    "ed": _energy,
    "ks": _ks,
    "chisquare": _chisquare,
    "z": _z,
    "TVD": _tvd,
    "g_test": _g_test,
    "fisher_exact": _fisher_exact,
    "anderson": _anderson,
    "cramer_von_mises": _cramer_von_mises,
    "mannw": _mannw,
    "t_test": _t_test,
    "es": _epps_singleton,
}


def default_method(prep: Prepared) -> str:
    """registry.py::_get_default_stattest: by column type, reference rows, distinct values."""
    if prep.n_ref <= 1000:
        if prep.column_type == NUMERICAL and prep.distinct_above(5):
            return "ks"
        return "chisquare" if prep.distinct_above(2) else "z"
    if prep.column_type == NUMERICAL and prep.distinct_above(5):
        return "wasserstein"
    return "jensenshannon"


def method_run(name: str, prep: Prepared) -> float:
    """The statistic of method `name` on a prepared column (ValueError when it cannot run)."""
    return _IMPLEMENTATIONS[name](prep)
