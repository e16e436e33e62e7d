"""Accuracy of the llvm backend's float32 ``exp``, ``log``, ``tanh``, ``sigmoid`` and GELU.

These are polynomials written in LLVM IR (``tinytorch/backends/llvm/mathlib.py``), so that
loops calling them vectorize. Each test runs a compiled kernel (``Tensor(x).exp()`` on the
llvm backend) over about a million float32 inputs and measures the error against NumPy in
float64, in float32 ulps: ``|got - exact| / spacing(exact)``. The bounds sit a little above
the errors measured when the tests were written (quoted in each docstring), so a change that
makes the math less accurate fails here. Special values (inf, -inf, NaN, ±0, overflow and
underflow boundaries, subnormals) must come out as NumPy has them.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor

N = 1 << 20
TINY = np.float32(1.17549435e-38)  # the smallest normal float32


def on_llvm(fn, x: np.ndarray) -> np.ndarray:
    with tinytorch.backend("llvm"):
        out = fn(Tensor(x, dtype=x.dtype)).numpy()
    assert out.dtype == x.dtype
    return out


def ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Error in units of the float32 spacing at the exact value (subnormal spacing below
    the normal range)."""
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


def uniform(lo: float, hi: float, seed: int = 0) -> np.ndarray:
    """N float32 values spread over [lo, hi]: an even grid plus uniform random points."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(lo, hi, N // 2)
    return np.concatenate([grid, rng.uniform(lo, hi, N - N // 2)]).astype(np.float32)


def positive_floats(top: int = 0x7F800000, seed: int = 0) -> np.ndarray:
    """N random bit patterns of positive float32s below the pattern ``top`` (by default all
    finite ones, subnormals included: every binade from 1e-45 to 3.4e38 equally likely)."""
    bits = np.random.default_rng(seed).integers(1, top, N, dtype=np.int64)
    return bits.astype(np.uint32).view(np.float32)


def sigmoid64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def gelu64(x: np.ndarray) -> np.ndarray:
    """The tanh-approximation GELU in float64, as x·σ(2u) (= 0.5·x·(1 + tanh u)), which has
    no cancellation for negative x."""
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
    with np.errstate(over="ignore"):
        return x / (1 + np.exp(-2 * u))


# ----------------------------------------------------------------------- accuracy
def test_exp_is_within_1_5_ulp_over_the_finite_range():
    """exp on [-87, 88.72]: measured max 1.00 ulp."""
    x = uniform(-87.0, 88.72)
    assert ulps(on_llvm(Tensor.exp, x), np.exp(x.astype(np.float64))).max() <= 1.5


def test_exp_near_zero_is_within_1_ulp():
    """exp on [-1e-3, 1e-3] (where e^x ≈ 1 + x): measured max 0.50 ulp."""
    x = uniform(-1e-3, 1e-3)
    assert ulps(on_llvm(Tensor.exp, x), np.exp(x.astype(np.float64))).max() <= 1.0


def test_exp_underflows_gradually_into_subnormals_as_numpy_does():
    """exp on [-103.9, -87.4], whose results are subnormal: measured max 0.75 ulp."""
    x = uniform(-103.9, -87.4)
    got = on_llvm(Tensor.exp, x)
    assert ulps(got, np.exp(x.astype(np.float64))).max() <= 1.0
    assert (got > 0).all()


def test_exp_is_right_just_below_overflow():
    """exp on [88, 88.7228], results up to FLT_MAX: measured max 0.89 ulp."""
    x = uniform(88.0, 88.72283)
    got = on_llvm(Tensor.exp, x)
    assert np.isfinite(got).all()
    assert ulps(got, np.exp(x.astype(np.float64))).max() <= 1.5


def test_log_is_within_1_ulp_over_every_positive_float():
    """log over all positive finite float32s, subnormals included: measured max 0.77 ulp."""
    x = positive_floats()
    assert ulps(on_llvm(Tensor.log, x), np.log(x.astype(np.float64))).max() <= 1.0


def test_log_near_one_is_within_1_ulp():
    """log on [0.5, 2] (results near 0, the hard case for a polynomial): measured 0.80 ulp."""
    x = uniform(0.5, 2.0)
    assert ulps(on_llvm(Tensor.log, x), np.log(x.astype(np.float64))).max() <= 1.0


def test_log_of_subnormals_is_within_1_ulp():
    """log on the subnormal range (1e-45 .. 1.2e-38): measured max 0.50 ulp."""
    x = positive_floats(top=0x00800000)  # every subnormal bit pattern
    assert (x < TINY).all()
    assert ulps(on_llvm(Tensor.log, x), np.log(x.astype(np.float64))).max() <= 1.0


@pytest.mark.parametrize("lo, hi", [(-10.0, 10.0), (-0.7, 0.7), (-1e-3, 1e-3)])
def test_tanh_is_within_2_ulp(lo, hi):
    """tanh on [-10, 10] and near 0 (both branches and the switch at 0.625): measured max
    1.31 ulp (at x ≈ ±0.629, just past the switch)."""
    x = uniform(lo, hi)
    assert ulps(on_llvm(Tensor.tanh, x), np.tanh(x.astype(np.float64))).max() <= 2.0


@pytest.mark.parametrize("lo, hi", [(-20.0, 20.0), (-87.0, 87.0)])
def test_sigmoid_is_within_3_ulp(lo, hi):
    """sigmoid on [-20, 20] and [-87, 87]: measured max 2.27 ulp."""
    x = uniform(lo, hi)
    assert ulps(on_llvm(Tensor.sigmoid, x), sigmoid64(x.astype(np.float64))).max() <= 3.0


def test_gelu_is_within_3_ulp_where_it_is_well_conditioned():
    """GELU on [-1, 10]: measured max 2.46 ulp (NumPy's float32 formula: 3.96)."""
    x = uniform(-1.0, 10.0)
    assert ulps(on_llvm(Tensor.gelu, x), gelu64(x.astype(np.float64))).max() <= 3.0


def test_gelu_error_is_below_one_ulp_of_its_input_everywhere():
    """GELU on [-1000, 1000]: |error| <= 1.25·2^-23·|x|, measured 1.00·2^-23·|x|.

    For x << 0, GELU(x) ≈ x·e^(2u) is tiny and very sensitive to x (rounding 2u in float32
    already moves it by many ulps of itself), so the honest measure there is relative to x.
    """
    x = uniform(-1000.0, 1000.0)
    err = np.abs(on_llvm(Tensor.gelu, x).astype(np.float64) - gelu64(x.astype(np.float64)))
    assert (err <= 1.25 * 2.0**-23 * np.abs(x)).all()


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid"])
def test_float64_math_agrees_with_numpy_within_4_float64_ulps(name):
    """float64 kernels call the C library (measured: exp, log 1 ulp; sigmoid 2; tanh 3)."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-700, 700, 100_000)
    if name == "log":
        x = np.exp(x)
    if name == "tanh":
        x = x / 35
    expected = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": sigmoid64}[name](x)
    got = on_llvm(getattr(Tensor, name), x)
    assert (np.abs(got - expected) <= 4 * np.spacing(np.abs(expected))).all()


# ------------------------------------------------------------------- special values
INF, NAN = np.inf, np.nan
SPECIAL = {
    "exp": [(INF, INF), (-INF, 0.0), (NAN, NAN), (0.0, 1.0), (-0.0, 1.0), (1e-30, 1.0),
            (-1e-30, 1.0), (1000.0, INF), (-1000.0, 0.0), (88.72284, INF), (-103.98, 0.0),
            (3.4028235e38, INF), (-3.4028235e38, 0.0)],
    "log": [(0.0, -INF), (-0.0, -INF), (-1.0, NAN), (-1e-30, NAN), (-INF, NAN), (INF, INF),
            (NAN, NAN), (1.0, 0.0), (1e-45, None), (1e-40, None), (3.4028235e38, None)],
    "tanh": [(INF, 1.0), (-INF, -1.0), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0), (1e-30, 1e-30),
             (-1e-30, -1e-30), (1e-40, 1e-40), (20.0, 1.0), (-20.0, -1.0), (1000.0, 1.0),
             (-1000.0, -1.0)],
    "sigmoid": [(INF, 1.0), (-INF, 0.0), (NAN, NAN), (0.0, 0.5), (-0.0, 0.5), (1000.0, 1.0),
                (-1000.0, 0.0), (1e-30, 0.5), (-88.0, None), (-100.0, None)],
    "gelu": [(INF, INF), (NAN, NAN), (0.0, 0.0), (-0.0, -0.0), (1000.0, 1000.0),
             (-1000.0, -0.0), (1e-30, 5e-31), (-1e-30, -5e-31)],
}  # fmt: skip
EXACT = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": sigmoid64, "gelu": gelu64}
CASES = [(name, x, y) for name, pairs in SPECIAL.items() for x, y in pairs]


@pytest.mark.parametrize("name, x, expected", CASES, ids=[f"{n}({x})" for n, x, _ in CASES])
def test_special_values_come_out_as_numpy_has_them(name, x, expected):
    """exp(inf) = inf, log(0) = -inf, log(-1) = NaN, tanh(-0) = -0, NaN -> NaN, ...
    (``None``: the float64 value at the float32 input, e.g. a subnormal sigmoid(-100))."""
    x = np.float32(x)
    got = on_llvm(getattr(Tensor, name), np.array([x]))[0]
    if expected is None:
        expected = EXACT[name](np.array([x], dtype=np.float64))[0]
        assert ulps(np.array([got]), np.array([expected]))[0] <= 1.0
        return
    expected = np.float32(expected)
    if np.isnan(expected):
        assert np.isnan(got)
    elif np.isinf(expected) or expected == 0:
        assert got == expected and np.signbit(got) == np.signbit(expected)
    else:
        assert ulps(np.array([got]), np.array([np.float64(expected)]))[0] <= 1.0


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "gelu"])
def test_special_values_agree_with_the_numpy_backend_inside_a_vector_loop(name):
    """The specials scattered through a long array (vector lanes and the scalar tail) come
    out as on the numpy backend: NaN and infinities in the same places, the rest close."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(1000).astype(np.float32) * 50
    specials = np.array([INF, -INF, NAN, 0.0, -0.0, 1e-40, -1e-40, 88.8, -104.0], np.float32)
    x[rng.choice(1000, 300, replace=False)] = rng.choice(specials, 300)
    got = on_llvm(getattr(Tensor, name), x)
    expected = getattr(Tensor(x), name)().numpy()
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(got[np.isinf(expected)], expected[np.isinf(expected)])
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-5, atol=1e-6)
