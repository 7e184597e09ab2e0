"The quality measures: the judge, the Fréchet distance (checked where the answer is known, and against scipy), the benchmark."
from types import SimpleNamespace
import numpy as np, pytest, torch
from miniai.data import get_mnist
from miniai.evaluate import (fid, features, train_classifier, classify, accuracy, balanced, fid_against, pil_to_digits, sample_digits,
                             per_digit_accuracy, diffedit_quality, evaluate_quality)

def scipy_fid(a, b):
    "The usual reference implementation (as in pytorch-fid): scipy's matrix square root of the product"
    from scipy import linalg
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(ca @ cb).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.trace(covmean))

def gauss(n, d, seed, mean=0., scale=1.):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) * scale + mean

def test_same_gaussian_is_near_zero():
    assert fid(gauss(20000, 8, 0), gauss(20000, 8, 1)) < 0.01

def test_shifted_mean_gives_squared_norm():
    mu = torch.tensor([3., 0, 1, 0])
    assert fid(gauss(50000, 4, 0), gauss(50000, 4, 1) + mu) == pytest.approx(10., rel=0.01)

def test_scaled_covariance():
    "N(0, I) vs N(0, s²I) in d dimensions: d·(1 − s)²"
    assert fid(gauss(50000, 4, 0), gauss(50000, 4, 1, scale=3.)) == pytest.approx(4 * (1 - 3) ** 2, rel=0.02)

def test_symmetric_and_equal_to_scipy():
    a, b = gauss(300, 16, 0), gauss(500, 16, 1, mean=0.3, scale=1.5) @ torch.randn(16, 16, generator=torch.Generator().manual_seed(2))
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-9)
    assert fid(a, b) == pytest.approx(scipy_fid(a, b), rel=1e-6)
    assert fid(a.numpy(), b.numpy()) == fid(a, b)            # arrays or tensors

def test_one_dimension_and_bad_input():
    assert fid(gauss(1000, 1, 0), gauss(1000, 1, 1) + 2) == pytest.approx(4, rel=0.05)
    with pytest.raises(ValueError, match=r'feats_a must be an \(N, D\) array'): fid(torch.zeros(10), torch.zeros(10, 3))
    with pytest.raises(ValueError, match='N >= 2'): fid(torch.zeros(1, 3), torch.zeros(10, 3))
    with pytest.raises(ValueError, match='same feature size'): fid(torch.zeros(10, 3), torch.zeros(10, 4))
    bad = torch.zeros(10, 3); bad[0, 0] = float('nan')
    with pytest.raises(ValueError, match='feats_b holds NaN'): fid(torch.zeros(10, 3), bad)

def test_classifier_is_a_trustworthy_judge(clf):
    _, _, xv, yv = get_mnist()
    assert accuracy(clf, xv, yv) > 0.97
    assert features(clf, xv[:7]).shape == (7, 128)

def test_train_classifier_learns_and_is_deterministic():
    "A short training (the full 400 steps are the notebooks' and the benchmarks'): well above chance, same per seed"
    xt, yt, xv, yv = get_mnist()
    a, b = train_classifier(xt, yt, steps=60), train_classifier(xt, yt, steps=60)
    assert accuracy(a, xv, yv) > 0.7
    assert torch.equal(classify(a, xv[:50]), classify(b, xv[:50]))

def test_real_digits_are_close_noise_is_far(clf):
    xt, yt, xv, yv = get_mnist()
    floor = fid_against(clf, balanced(xt, yt, 100)[0], xv)
    noise = fid_against(clf, torch.rand(1000, 784, generator=torch.Generator().manual_seed(0)), xv)
    one_digit = fid_against(clf, xt[yt == 7][:1000], xv)          # perfectly drawn, no variety: FID sees it
    assert floor < 0.05 * noise and floor < 0.2 * one_digit, (floor, one_digit, noise)

def test_balanced():
    xt, yt, *_ = get_mnist()
    x, y = balanced(xt, yt, 3)
    assert len(x) == 30 and torch.equal(y, torch.arange(10).repeat_interleave(3))

def test_measures_on_tiny_components(c, clf):
    "The measure functions run on any components (here untrained ones: noise, so accuracy is near chance)"
    x, y = sample_digits(c, per_digit=2, steps=2)
    assert x.shape == (20, 784) and 0 <= x.min() and x.max() <= 1 and torch.equal(y, torch.arange(10).repeat_interleave(2))
    assert len(per_digit_accuracy(clf, x, y)) == 10
    r = diffedit_quality(c, clf, pairs=((1, 7),), per_pair=1, strength=0.5, threshold=0.3)
    assert set(r) == {'accuracy', 'change_outside', 'change_inside'} and 0 <= r['accuracy'] <= 1

def test_evaluate_quality_prints_accuracy_and_fid(c, clf):
    lines = []
    res = evaluate_quality(c, clf, per_digit=2, steps=2, pairs=(), report=lines.append)
    text = '\n'.join(lines)
    assert 'classifier: accuracy' in text and 'FID against the 1000 validation digits' in text and 'images/s' in text
    assert res['fid'] > res['fid_floor'] > 0

def test_fid_of_a_set_with_itself_is_zero_not_negative():
    from miniai.evaluate import fid
    x = torch.randn(100, 32, generator=torch.Generator().manual_seed(0)) * 10   # rounding once made this -5e-12
    assert fid(x, x) == 0.0 or 0 < fid(x, x) < 1e-9
    assert fid(x, x) >= 0
    with pytest.raises(TypeError, match='feats_a must hold real numbers, got torch.complex64'):
        fid(x.to(torch.complex64), x)

def test_scene_judge_reads_real_validation_scenes():
    "The shipped scene judge on real validation scenes: digits >= 97%, colours and presence >= 99% (the issue's bar)"
    from miniai.evaluate import load_judge, read_scenes, scene_scores
    from miniai.scenes import scenes
    sc = scenes(600, seed=21, split='valid')
    s = scene_scores(read_scenes(load_judge(), [x.image for x in sc]), sc)
    assert s['digit'] >= 0.97 and min(s['presence'], s['ink'], s['background']) >= 0.99, s
    assert s['binding'] >= 0.94, s

def test_read_scenes_takes_tensors_and_reads_empty_slots():
    from miniai.evaluate import load_judge, read_scenes, scene_scores
    from miniai.scenes import scenes, scenes_tensor, render, PALETTE, BACKGROUNDS
    judge, sc = load_judge(), scenes(40, seed=2, split='valid')
    assert read_scenes(judge, scenes_tensor([s.image for s in sc])) == read_scenes(judge, [s.image for s in sc])
    blank = render(torch.zeros(3, 2, 32, 32), torch.zeros(3, 2, dtype=torch.bool), torch.zeros(3, 2, dtype=torch.long),
                   torch.tensor([0, 3, 8]))   # nothing drawn, on three backgrounds
    assert [r['slots'] for r in read_scenes(judge, blank)] == [(None, None)] * 3
    assert [r['background'] for r in read_scenes(judge, blank)] == [BACKGROUNDS[i] for i in (0, 3, 8)]
    with pytest.raises(ValueError, match='read and truth must pair up'): scene_scores([], sc)

def test_slot_fid_floor_is_far_below_other_digits():
    from miniai.evaluate import load_judge, slot_fid, slot_features
    from miniai.scenes import scenes
    judge = load_judge()
    valid, train = scenes(400, seed=1, split='valid'), scenes(400, seed=2)
    sevens = [s for s in scenes(1500, seed=3) if all(d is None or d[0] == 7 for d in s.slots)]
    floor = slot_fid(judge, [s.image for s in train], [s.image for s in valid])
    assert slot_features(judge, [s.image for s in valid]).shape == (sum(d is not None for s in valid for d in s.slots), 128)
    assert floor < 0.2 * slot_fid(judge, [s.image for s in sevens], [s.image for s in valid])

class StandInVAE(torch.nn.Module):
    "A VAE's interface around a fixed round trip: `down` makes the latents, `up` the pictures"
    dtype, device = torch.float32, torch.device('cpu')
    def __init__(self, down, up): super().__init__(); self.down, self.up = down, up
    def encode(self, x): return SimpleNamespace(latent_dist=SimpleNamespace(mean=self.down(x)))
    def decode(self, z): return SimpleNamespace(sample=self.up(z))

def test_vae_reconstruction_is_the_judge_on_a_lossless_round_trip_and_falls_with_blur():
    from miniai.evaluate import load_judge, read_scenes, scene_scores, vae_reconstruction
    from miniai.scenes import scenes
    judge, sc = load_judge(), scenes(100, seed=4, split='valid')
    exact = vae_reconstruction(StandInVAE(lambda x: x, lambda z: z), judge, n=100, seed=4)
    assert exact.pop('mse') == 0 and exact.pop('n') == 100
    assert exact == scene_scores(read_scenes(judge, [s.image for s in sc]), sc)
    down, up = torch.nn.AvgPool2d(8), torch.nn.Upsample(scale_factor=8, mode='bilinear')   # 8x8 blocks: a blur
    blurred = vae_reconstruction(StandInVAE(down, up), judge, n=100, seed=4)
    assert blurred['mse'] > 0.01 and blurred['binding'] < exact['binding'] - 0.3, blurred

def test_load_judge_names_a_missing_folder(tmp_path):
    from miniai.evaluate import load_judge, train_judge
    with pytest.raises(FileNotFoundError, match='folder: no judge at'): load_judge(tmp_path)

def test_every_caption_of_a_scene_is_followed_by_the_scene_itself():
    "asked/follows read back every caption scenes() writes: a scene's true contents follow its own caption"
    from miniai.evaluate import asked, follows
    from miniai.scenes import scenes
    for s in scenes(300, seed=3, split='valid'):
        assert follows(dict(slots=s.slots, background=s.background), s.caption)['binding'], s.caption
    assert asked('an orange eight on the right, on a white background') == ('white', [(8, 'orange', 1)])
    for bad in ('a dog', 'a teal seven', 'a seven on a pink background'):
        with pytest.raises(ValueError, match='text must be a scene caption'): asked(bad)

def test_follows_says_what_is_wrong():
    from miniai.evaluate import follows, prompt_scores
    read = dict(slots=((7, 'red'), (2, 'blue')), background='black')
    assert follows(read, 'a blue seven on the left and a blue two on the right, on a black background') == dict(
        digits=True, ink=False, slot=True, background=True, binding=False)
    assert follows(read, 'a seven') == dict(digits=False, binding=False)          # a digit more than asked
    assert follows(dict(slots=(None, (7, 'red')), background='white'), 'a red seven on the left')['slot'] is False
    assert prompt_scores([read, read], ['a red seven and a blue two', 'a seven and a two on a white background']) == dict(
        digits=1.0, ink=1.0, background=0.0, binding=0.5)
    with pytest.raises(ValueError, match='reads and texts must pair up, got 1 and 2'): prompt_scores([read], ['a', 'b'])

def test_binding_errors_tell_leaks_from_other_mistakes():
    from miniai.evaluate import binding_errors
    t = 'a red seven on the left and a blue two on the right, on a yellow background'
    reads = [dict(slots=((7, 'blue'), (2, 'red')), background='yellow'),    # inks leaked across
             dict(slots=((3, 'green'), (2, 'blue')), background='black'),   # a wrong digit and ink of no slot's
             dict(slots=((2, 'blue'), (7, 'red')), background='yellow')]    # swapped whole
    e = binding_errors(reads, [t] * 3)
    assert e == dict(empty=0, digit_wrong=3/6, digit_from_other=2/6, ink_wrong=5/6, ink_from_other=4/6,
                     background_wrong=1/3, swapped=1/3, scenes=3)
    # prompts that do not name both slots' digit and ink are not counted
    assert binding_errors(reads[:2], ['a red seven and a blue two', 'a seven on the left and a two on the right']
                          )['scenes'] == 0
    with pytest.raises(ValueError, match='reads and texts must pair up, got 1 and 2'): binding_errors(reads[:1], [t, t])

def test_cross_attention_maps_leave_the_model_and_its_samples_as_they_were(c):
    from miniai.evaluate import cross_attention_maps
    from miniai.sampling import generate_latents
    before = dict(c.unet.attn_processors)
    tokens, maps, latents = cross_attention_maps(c, 'a cat', seed=1, steps=3)
    assert tokens[0] == '<|startoftext|>' and tokens[-1] == '<|endoftext|>' and maps.shape == (len(tokens), 8, 8)
    assert torch.equal(latents, generate_latents(c, ['a cat'], seed=1, steps=3, progress=False))
    assert all(before[k] is p for k, p in c.unet.attn_processors.items())   # the caller's UNet untouched
    assert (maps >= 0).all() and (maps.sum(0) <= 1 + 1e-5).all() and maps.sum(0).min() > 0

def test_digits_of_reads_the_digit_of_either_kind_of_picture(clf):
    from miniai.scenes import scene_of
    from miniai.data import valid_digit_image
    from miniai.evaluate import digits_of
    grey = [valid_digit_image(d) for d in range(10)]
    assert torch.equal(digits_of(grey), pil_to_digits(grey))
    left = [scene_of(((d, 'purple'), None), 'yellow').image for d in range(10)]
    right = [scene_of((None, (d, 'cyan')), 'red').image for d in range(10)]
    for images in (left, right):
        x = digits_of(images)
        assert x.shape == (10, 784) and torch.equal(classify(clf, x), torch.arange(10))
        assert (x - pil_to_digits(grey)).abs().max() < 0.02    # the same ink amounts, up to the colours' rounding

def test_digit_image_follows_the_model(c):
    from miniai.loading import load_components
    from miniai.evaluate import digit_image, draws_scenes
    from miniai.sampling import native_size
    scene_model = load_components()
    assert draws_scenes(scene_model) and not draws_scenes(c)
    assert digit_image(scene_model, 3).size == (64, 32) and digit_image(c, 3).size == native_size(c)[::-1]

def test_bench_scenes_in_bfloat16_says_so_and_measures_every_kind():
    "The colour benchmark in another dtype: the model loaded in it, the header naming it, every kind of prompt measured"
    from miniai.evaluate import bench_scenes, scene_model
    assert scene_model(dtype=torch.bfloat16).unet.dtype == torch.bfloat16
    lines = []
    res = bench_scenes(n=2, steps=2, dtype=torch.bfloat16, report=lines.append)
    assert 'bfloat16' in lines[0] and 'compiled' not in lines[0], lines[0]
    assert all(np.isfinite(res[k]['slot_fid']) for k in ('handwritten', 'one digit', 'two digits', 'held out'))
