import subprocess, sys
import numpy as np, pytest, torch
from PIL import Image
from miniai.sampling import encode_image, generate_latents
from miniai.loading import load_components, make_scheduler, with_scheduler
from miniai.diffedit import diffedit_mask, mask_maps, ddim_encode, masked_decode, diffedit, upsample_mask, mask_overlay

@pytest.fixture(scope='module')
def img():
    rng = np.random.default_rng(0)
    a = np.zeros((16, 16, 3), np.uint8); a[4:12, 6:10] = 255
    return Image.fromarray(a)

def test_mask_properties(c, img):
    m = diffedit_mask(c, img, 'a digit 1', 'a digit 8', n=4, seed=0)
    assert m.shape == (8, 8) and m.dtype == torch.float32
    assert set(m.unique().tolist()) <= {0., 1.}
    assert torch.equal(m, diffedit_mask(c, img, 'a digit 1', 'a digit 8', n=4, seed=0))
    assert diffedit_mask(c, img, 'a digit 1', 'a digit 1', n=4, seed=0).sum() == 0
    raw, norm = mask_maps(c, img, 'a digit 1', 'a digit 8', n=4, seed=0)
    assert norm.max() == pytest.approx(1.0) and norm.min() >= 0 and raw.min() >= 0
    assert torch.equal(diffedit_mask(c, img, 'a digit 1', 'a digit 8', n=4, seed=0, threshold=0.0), (norm > 0).float())
    assert diffedit_mask(c, img, 'a digit 1', 'a digit 8', n=4, seed=0, threshold=1.0).sum() == 0

def test_generator_and_seed_agree(c, img):
    a = diffedit_mask(c, img, 'a', 'b', n=3, seed=5)
    b = diffedit_mask(c, img, 'a', 'b', n=3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)

def test_encode_levels(c, img):
    enc = ddim_encode(c, img, strength=0.5, steps=20, progress=False)
    assert len(enc) == 11 and all(e.shape == (1, 4, 8, 8) for e in enc)
    torch.testing.assert_close(enc[0], encode_image(c, img))
    assert len(ddim_encode(c, img, strength=1.0, steps=7, progress=False)) == 8

def test_zero_mask_keeps_image_latents(c, img):
    enc = ddim_encode(c, img, steps=20, progress=False)
    out = masked_decode(c, enc, 'a digit 8', torch.zeros(8, 8), steps=20, progress=False)
    torch.testing.assert_close(out, enc[0], rtol=0, atol=1e-6)

def test_one_mask_is_plain_ddim(c, img):
    enc = ddim_encode(c, img, strength=0.5, steps=20, progress=False)
    out = masked_decode(c, enc, 'a digit 8', torch.ones(8, 8), strength=0.5, steps=20, progress=False)
    plain = generate_latents(with_scheduler(c, 'ddim'), ['a digit 8'], steps=20, strength=0.5, start_latents=enc[-1], progress=False)
    torch.testing.assert_close(out, plain, rtol=0, atol=1e-6)

def test_partial_mask_background_exact(c, img):
    enc = ddim_encode(c, img, steps=10, progress=False)
    m = torch.zeros(8, 8); m[2:6, 2:6] = 1
    out = masked_decode(c, enc, 'a digit 8', m, steps=10, progress=False)
    bg = (1 - m).bool()
    torch.testing.assert_close(out[..., bg], enc[0][..., bg], rtol=0, atol=1e-6)
    assert (out[..., m.bool()] - enc[0][..., m.bool()]).abs().max() > 1e-3

def test_diffedit_end_to_end(c, img):
    out, m = diffedit(c, img, 'a digit 1', 'a digit 8', steps=6, n=2, seed=0, return_mask=True, progress=False)
    assert isinstance(out, Image.Image) and out.size == img.size and m.shape == (8, 8)
    same = diffedit(c, img, 'a digit 1', 'a digit 8', mask=torch.zeros(8, 8), steps=6, progress=False)
    assert same.size == img.size

def test_display_helpers(img):
    m = torch.zeros(8, 8); m[0, 0] = 1
    up = upsample_mask(m, img.size)
    assert up.shape == (16, 16) and up[:2, :2].sum() == 4 and up.sum() == 4
    ov = np.asarray(mask_overlay(img, m))
    assert tuple(ov[0, 0]) == (128, 0, 0) and tuple(ov[15, 15]) == (0, 0, 0)

@pytest.mark.parametrize('kwargs,exc,match', [
    (dict(image='x.png'), TypeError, 'image must be a PIL image'),
    (dict(image=Image.new('RGB', (15, 16))), ValueError, 'multiples of 2'),
    (dict(strength=0.0), ValueError, r'strength must be in \(0, 1\]'),
    (dict(strength=1.5), ValueError, 'strength must be'),
    (dict(threshold=1.5), ValueError, r'threshold must be in \[0, 1\]'),
    (dict(n=0), ValueError, 'n must be an int >= 1'),
    (dict(query=''), ValueError, 'query is empty'),
    (dict(query='   '), ValueError, 'query is empty'),
    (dict(mask=torch.zeros(4, 4)), ValueError, 'mask must have the latent shape'),
])
def test_bad_input(c, img, kwargs, exc, match):
    kw = dict(image=img, reference='a digit 1', query='a digit 8', steps=2, n=1, progress=False)
    kw.update(kwargs)
    with pytest.raises(exc, match=match): diffedit(c, kw.pop('image'), kw.pop('reference'), kw.pop('query'), **kw)

def test_mask_bad_input(c, img):
    with pytest.raises(ValueError, match='threshold'): diffedit_mask(c, img, 'a', 'b', threshold=-0.1)
    with pytest.raises(ValueError, match='n must be'): diffedit_mask(c, img, 'a', 'b', n=0)
    with pytest.raises(TypeError, match='image must be'): diffedit_mask(c, 3, 'a', 'b')
    with pytest.raises(ValueError, match='strength'): ddim_encode(c, img, strength=0)

def test_cli(folder, img, tmp_path):
    src = tmp_path/'in.png'; img.save(src)
    out, mask, fig = tmp_path/'o'/'e.png', tmp_path/'m.png', tmp_path/'f.png'
    r = subprocess.run([sys.executable, '-m', 'miniai.diffedit', str(src), '--reference', 'a digit 1', '--query', 'a digit 8',
                        '--steps', '4', '--n', '2', '--model', str(folder), '--out', str(out), '--mask-out', str(mask),
                        '--figure', str(fig)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (16, 16) and Image.open(mask).size == (16, 16) and Image.open(fig).size == (48, 16)
    r = subprocess.run([sys.executable, '-m', 'miniai.diffedit', str(src), '--model', str(folder)], capture_output=True, text=True)
    assert r.returncode == 2 and 'the following arguments are required: --reference, --query' in r.stderr

@pytest.mark.parametrize('size', [(16, 16), (32, 16), (24, 16), (16, 40), (48, 48)])
def test_any_image_size(c, size):
    "Every size the VAE accepts, square or not, edits to an image of the same size (the mask at latent resolution)"
    w, h = size
    a = np.zeros((h, w, 3), np.uint8); a[h // 4:3 * h // 4, w // 3:2 * w // 3] = 255
    im = Image.fromarray(a)
    out, m = diffedit(c, im, 'a digit 1', 'a digit 8', steps=4, n=2, seed=0, threshold=0.2, return_mask=True, progress=False)
    assert out.size == (w, h) and tuple(m.shape) == (h // 2, w // 2)
    enc = ddim_encode(c, im, steps=4, progress=False)
    kept = masked_decode(c, enc, 'a digit 8', torch.zeros(h // 2, w // 2), steps=4, progress=False)
    torch.testing.assert_close(kept, enc[0], rtol=0, atol=1e-6)      # outside the mask: the image's own latents

def test_empty_mask_warns(c, img):
    with pytest.warns(UserWarning, match="mask is empty"):
        diffedit(c, img, 'a digit 1', 'a digit 1', steps=3, n=2, seed=0, progress=False)

@pytest.mark.parametrize('flag', ['--out', '--mask-out', '--figure'])
def test_cli_never_overwrites_its_input(folder, img, tmp_path, flag):
    src = tmp_path/'in.png'; img.save(src)
    before = src.read_bytes()
    args = ['--out', str(tmp_path/'e.png')] if flag != '--out' else []
    r = subprocess.run([sys.executable, '-m', 'miniai.diffedit', str(src), '--reference', 'a', '--query', 'b', '--model', str(folder),
                        flag, str(src)] + args, capture_output=True, text=True)
    assert r.returncode != 0 and f'{flag} is the input image' in r.stderr and 'Traceback' not in r.stderr
    assert src.read_bytes() == before

@pytest.mark.parametrize('steps, strength', [(50, 0.01), (1, 0.5), (3, 0.3)])
def test_no_denoising_step_is_refused_naming_both(c, steps, strength):
    "strength x steps < 1 would return the input unchanged (or fail with an IndexError): refused, naming both"
    from miniai.diffedit import diffedit, mask_maps, ddim_encode
    im = Image.new('RGB', (16, 16))
    for f in (lambda: diffedit(c, im, 'a', 'b', strength=strength, steps=steps, progress=False),
              lambda: mask_maps(c, im, 'a', 'b', strength=strength, steps=steps),
              lambda: ddim_encode(c, im, strength=strength, steps=steps, progress=False)):
        with pytest.raises(ValueError, match=f'strength {strength:g} x steps {steps} = .*not one denoising step'): f()

def test_paste_outside_keeps_every_pixel_outside_the_mask(c, img):
    from miniai.diffedit import paste_outside
    mask = torch.zeros(8, 8); mask[2:6, 3:5] = 1              # latent pixels, 2x2 image pixels each
    edited = Image.fromarray(np.full((16, 16, 3), 77, np.uint8))
    out = np.asarray(paste_outside(edited, img, mask))
    inside = upsample_mask(mask, img.size).bool().numpy()
    assert (out[inside] == 77).all() and np.array_equal(out[~inside], np.asarray(img)[~inside])
    with pytest.raises(ValueError, match='edited and image must be the same size'):
        paste_outside(edited.resize((8, 8)), img, mask)

def test_composite_pastes_the_input_back_and_the_cli_takes_it(c, folder, img, tmp_path):
    kw = dict(steps=6, n=2, seed=0, progress=False)
    plain, m = diffedit(c, img, 'a digit 1', 'a digit 8', return_mask=True, **kw)
    kept = diffedit(c, img, 'a digit 1', 'a digit 8', composite=True, **kw)
    outside = ~upsample_mask(m, img.size).bool().numpy()
    assert np.array_equal(np.asarray(kept)[outside], np.asarray(img)[outside])
    assert np.array_equal(np.asarray(kept)[~outside], np.asarray(plain)[~outside])
    src, out = tmp_path/'in.png', tmp_path/'e.png'
    img.save(src)
    r = subprocess.run([sys.executable, '-m', 'miniai.diffedit', str(src), '--reference', 'a digit 1', '--query', 'a digit 8',
                        '--steps', '6', '--n', '2', '--model', str(folder), '--out', str(out), '--composite'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.asarray(Image.open(out).convert('RGB')), np.asarray(kept))
