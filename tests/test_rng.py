import math, pytest
import miniai.rng as rng
from miniai.rng import seed, rand, rands, fork_safe, in_parent_and_child

def test_formula_for_first_values():
    seed(457428938475)
    a = 457428938475
    a, x = divmod(a, 30268); a, y = divmod(a, 30306); a, z = divmod(a, 30322)
    x, y, z = x+1, y+1, z+1
    assert rng.rnd_state == (x, y, z)
    for _ in range(5):
        x, y, z = 171*x % 30269, 172*y % 30307, 170*z % 30323
        assert rand() == (x/30269 + y/30307 + z/30323) % 1.0

def test_reproducible_and_in_range():
    seed(1); a = rands(1000)
    seed(1); assert rands(1000) == a
    seed(2); assert rands(1000) != a
    assert all(0 <= v < 1 for v in a)

def test_uniform_enough():
    seed(0); xs = rands(20000)
    counts = [0]*10
    for v in xs: counts[int(v*10)] += 1
    chi2 = sum((c-2000)**2/2000 for c in counts)
    assert chi2 < 27.88  # 99.9% point of chi-square with 9 dof

def test_fork_copies_state_by_default():
    fork_safe(False); seed(3)
    p, c = in_parent_and_child(rand)
    assert p == c

def test_fork_safe_differs_but_seed_reproduces():
    fork_safe(True)
    try:
        seed(3); p, c = in_parent_and_child(rand)
        assert p != c
        seed(3); assert rand() == p
        seed(3); p2, c2 = in_parent_and_child(rand)
        assert p2 == p
    finally: fork_safe(False)

@pytest.mark.parametrize('bad', [1.5, '3', None, True])
def test_seed_rejects_non_integers(bad):
    with pytest.raises(TypeError, match='seed'): seed(bad)

def test_rands_rejects_bad_counts():
    with pytest.raises(ValueError, match='n must be >= 0'): rands(-1)
    with pytest.raises(TypeError, match='n must be an int'): rands(2.0)
    assert rands(0) == []
