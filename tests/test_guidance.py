"The guidance study: its variants, measures and sweep, on tiny components (fast), and its benchmark entry."
import subprocess, sys
from types import SimpleNamespace
import pytest, torch
from miniai.data import get_mnist
from miniai.guidance import VARIANTS, update_ratio, overshoot, latent_std, measure_variant, guidance_sweep

def test_variants_give_generate_latents_arguments():
    for name, f in VARIANTS.items():
        kw = f(7.5, 0.02)
        assert set(kw) <= {'guidance_scale', 'guidance', 'guidance_rescale'}, name
    assert VARIANTS['rescale update'](7.5, 0.02)['guidance_scale'] == pytest.approx(0.15)    # g x r
    assert VARIANTS['rescale update'](1, 0.02) == {'guidance_scale': 1}                       # g = 1: no guidance
    assert VARIANTS['decay to 1'](7.5, 0.02)['guidance_scale'](0, 10) == 7.5

def test_update_ratio_and_overshoot(c):
    r = update_ratio(c, steps=3)
    assert r > 0
    lat = torch.randn(2, 4, c.unet.config.sample_size, c.unet.config.sample_size)
    assert overshoot(c, lat) >= 0
    class Identity:                       # a VAE whose decoder returns the latents, to check the arithmetic
        config = SimpleNamespace(scaling_factor=1.0)
        def decode(self, z): return SimpleNamespace(sample=z)
    stub = SimpleNamespace(vae=Identity(), device='cpu', dtype=torch.float32)
    assert overshoot(stub, torch.tensor([[0.5, -1.0, 1.5, -3.0]])) == pytest.approx((0 + 0 + 0.5 + 2.0) / 4)
    assert latent_std(c, 20) > 0

def test_measure_and_sweep(c, clf):
    _, _, xv, _ = get_mnist()
    m = measure_variant(c, clf, xv[:100], 1.0, per_digit=1, steps=2, guidance_scale=3.0)
    assert set(m) == {'accuracy', 'fid', 'overshoot', 'latent_std'} and 0 <= m['accuracy'] <= 1 and m['fid'] > 0
    lines = []
    rows = guidance_sweep(c, clf, scales=(1, 30), variants=('cfg', 'rescale both'), per_digit=1, steps=2, report=lines.append)
    assert [(r['variant'], r['g']) for r in rows] == [('cfg', 1), ('cfg', 30), ('rescale both', 1), ('rescale both', 30)]
    assert 'r = mean |t-u|/|u|' in lines[0] and 'FID floor' in lines[0] and 'accuracy' in lines[1] and len(lines) == 6
    same = [r for r in rows if r['g'] == 1]          # at g = 1 there is no guidance, whichever variant
    assert same[0]['fid'] == same[1]['fid']

def test_bench_full_flag_only_for_guidance():
    r = subprocess.run([sys.executable, '-m', 'miniai.bench', 'matmul', '--full'], capture_output=True, text=True)
    assert r.returncode == 2 and 'unrecognized arguments: --full' in r.stderr

def test_chroma_of_known_colours():
    from PIL import Image
    from miniai.guidance import chroma
    def flat(rgb): return Image.new('RGB', (64, 32), rgb)
    assert chroma([flat((255, 0, 0))]) == pytest.approx(1.0) and chroma([flat((128, 128, 128))]) == 0
    assert chroma([flat((220, 30, 30)), flat((0, 0, 0))]) == pytest.approx(190 / 255 / 2)

def test_colour_sweep_on_the_colour_model_and_refused_on_grey(c):
    from miniai.loading import load_components
    from miniai.evaluate import load_judge
    from miniai.guidance import colour_guidance_sweep
    lines = []
    rows = colour_guidance_sweep(load_components(), load_judge(), scales=(1, 60), variants=('cfg',), n=2, steps=2,
                                 report=lines.append)
    assert [(r['variant'], r['g']) for r in rows] == [('cfg', 1), ('cfg', 60)] and len(lines) == 4
    assert all(0 <= r['binding'] <= 1 and r['chroma'] > 0 and r['overshoot'] >= 0 for r in rows)
    with pytest.raises(ValueError, match='colour scenes'): colour_guidance_sweep(c, load_judge(), n=1, steps=1)
