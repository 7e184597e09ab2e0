import numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st, HealthCheck
import miniai.matmul as mm

FAST = ['numba', 'elementwise', 'dot', 'broadcast', 'einsum', 'torch', 'blocked']
ALL = ['naive'] + FAST + ['cuda']

def get(name): return getattr(mm, f'matmul_{name}')

def check(name, a, b):
    r = get(name)(a, b)
    ref = torch.as_tensor(a).double() @ torch.as_tensor(b).double()
    assert r.shape == ref.shape
    torch.testing.assert_close(r.double(), ref, rtol=1e-4, atol=1e-4*max(1, a.shape[1])**0.5)

SHAPES = [(1, 7, 1), (1, 5, 9), (9, 5, 1), (3, 1, 4), (5, 784, 10), (7, 13, 3), (4, 64, 64), (6, 33, 65), (5, 4, 129)]

@pytest.mark.parametrize('name', ALL)
@pytest.mark.parametrize('shape', SHAPES[:4] + [(5, 12, 6)])
def test_small_shapes_all(name, shape):
    n, k, m = shape
    torch.manual_seed(n*100+k*10+m)
    check(name, torch.randn(n, k), torch.randn(k, m))

@pytest.mark.parametrize('name', FAST)
@pytest.mark.parametrize('shape', SHAPES)
def test_shapes_fast(name, shape):
    n, k, m = shape
    torch.manual_seed(0)
    check(name, torch.randn(n, k), torch.randn(k, m))

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 70), k=st.integers(1, 70), m=st.integers(1, 140), seed=st.integers(0, 2**16))
def test_blocked_matches_torch_random_shapes(n, k, m, seed):
    g = torch.Generator().manual_seed(seed)
    check('blocked', torch.randn(n, k, generator=g), torch.randn(k, m, generator=g))

def test_blocked_large_and_float64():
    a, b = torch.randn(257, 300), torch.randn(300, 191)
    check('blocked', a, b)
    r = mm.matmul_blocked(a.double(), b.double())
    assert r.dtype == torch.float64
    torch.testing.assert_close(r, a.double() @ b.double())

def test_numpy_and_int_inputs():
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.ones((3, 2), dtype=np.float32)
    for name in FAST: check(name, a, b)
    r = mm.matmul_torch(torch.arange(6).view(2, 3), torch.ones(3, 2, dtype=torch.int64))
    assert r.dtype == torch.float32 and r.tolist() == [[3., 3.], [12., 12.]]

def test_cuda_runs_under_simulator_or_gpu():
    a, b = torch.randn(20, 17), torch.randn(17, 33)   # more than one 16x16 block in each direction
    check('cuda', a, b)
    if not torch.cuda.is_available():
        import numba
        assert numba.config.ENABLE_CUDASIM

def test_cuda_names_the_numpy_that_numba_cuda_cannot_use(monkeypatch):
    "numba-cuda 0.30 beside numpy 2.5 (seen on a lent H200): a clear error that says which numpy to install"
    class Kernel:   # stands in for the compiled kernel, failing at its first launch the way that pair does
        def __getitem__(self, config):
            def launch(*args): raise AttributeError("module 'numpy' has no attribute 'row_stack'")
            return launch
    monkeypatch.setattr(mm, '_compiled', Kernel())
    with pytest.raises(RuntimeError, match=r'numpy<2\.5'): mm.matmul_cuda(torch.ones(2, 3), torch.ones(3, 2))
    class Other(Kernel):
        def __getitem__(self, config):
            def launch(*args): raise AttributeError("something else")
            return launch
    monkeypatch.setattr(mm, '_compiled', Other())
    with pytest.raises(AttributeError, match='something else'): mm.matmul_cuda(torch.ones(2, 3), torch.ones(3, 2))

@pytest.mark.parametrize('name', ALL)
@pytest.mark.parametrize('a_shape,b_shape', [((2, 3), (4, 2)), ((3,), (3, 2)), ((2, 3, 4), (4, 2)), ((0, 3), (3, 2)), ((2, 0), (0, 2)), ((2, 3), (3, 0))])
def test_bad_shapes(name, a_shape, b_shape):
    with pytest.raises(ValueError) as e: get(name)(torch.zeros(a_shape), torch.zeros(b_shape))
    assert str(tuple(a_shape)) in str(e.value) and str(tuple(b_shape)) in str(e.value)

@pytest.mark.parametrize('name', ALL)
def test_bad_types(name):
    with pytest.raises(TypeError, match='a must be'): get(name)([[1., 2.]], torch.zeros(2, 1))

def test_cpu_peak_estimate():
    peak, parts = mm.cpu_peak_gflops()
    assert peak == pytest.approx(parts['cores']*parts['lanes']*2*parts['fma_units']*parts['ghz'])
    assert peak > 0

def test_blocked_leaves_torch_s_thread_count_alone():
    "numba's parallel kernel runs on an OpenMP pool that shares libgomp with torch: the caller's setting comes back"
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        mm.matmul_blocked(torch.randn(64, 64), torch.randn(64, 64))
        assert torch.get_num_threads() == 1
    finally: torch.set_num_threads(before)
