"The sampler (04_stable_diffusion): the hand-written loop against diffusers' own pipeline, on tiny components built from configs (no network)."
import os, subprocess, sys, warnings
import numpy as np, pytest, torch
from PIL import Image
from miniai.sampling import (diffusers_pipeline, generate_latents, decode, generate, encode_image, encode_prompts,
                             slerp, interpolate, vae_scale_factor, chained_interpolate)
from miniai.data import save_gif
from miniai.sampler_inputs import frame_change
from miniai.loading import load_components, make_scheduler
from miniai.guidance import guidance_decay, cfg_rescale_pred, cfg_rescale_update


def pipeline(c, sched):
    p = diffusers_pipeline(c, scheduler=make_scheduler(sched))
    p.set_progress_bar_config(disable=True)
    return p

PROMPTS = ['a red fox in the snow', 'an astronaut riding a horse']

@pytest.mark.parametrize('sched', ['lms', 'ddim', 'euler', 'dpm'])
@pytest.mark.parametrize('batch,size', [(1, (16, 16)), (2, (16, 24)), (2, (24, 16))])
@pytest.mark.parametrize('rescale', [0.0, 0.7])
def test_latents_match_pipeline(folder, sched, batch, size, rescale):
    c = load_components(folder, device='cpu', scheduler=sched)
    h, w = size
    f = vae_scale_factor(c)
    lat = torch.randn(batch, 4, h//f, w//f, generator=torch.Generator().manual_seed(7))
    prompts, neg = PROMPTS[:batch], ['blurry'] * batch
    ours = generate_latents(c, prompts, negative_prompt=neg, height=h, width=w, steps=6, guidance_scale=7.5,
                            guidance_rescale=rescale, latents=lat.clone(), progress=False)
    ref = pipeline(c, sched)(prompts, negative_prompt=neg, height=h, width=w, num_inference_steps=6, guidance_scale=7.5,
                             guidance_rescale=rescale, latents=lat.clone(), output_type='latent').images
    assert ours.shape == ref.shape
    assert (ours - ref).abs().max() <= 1e-4

def test_no_guidance_matches_pipeline(c):
    lat = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    ours = generate_latents(c, PROMPTS[:1], steps=5, guidance_scale=1.0, latents=lat.clone(), progress=False)
    ref = pipeline(c, 'lms')(PROMPTS[:1], num_inference_steps=5, guidance_scale=1.0, latents=lat.clone(), output_type='latent').images
    assert (ours - ref).abs().max() <= 1e-4

def test_decode_matches_pipeline(c):
    lat = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(5))
    ours = decode(c, generate_latents(c, PROMPTS, steps=4, latents=lat.clone(), progress=False))
    ref = pipeline(c, 'lms')(PROMPTS, num_inference_steps=4, latents=lat.clone(), output_type='np').images
    for im, r in zip(ours, ref):
        assert im.size == (16, 16) and im.mode == 'RGB'
        assert np.abs(np.asarray(im) / 255. - r).max() <= 1/255 + 1e-6

def test_seed_reproducible(c):
    a = generate_latents(c, PROMPTS[:1], steps=3, seed=11, progress=False)
    b = generate_latents(c, PROMPTS[:1], steps=3, seed=11, progress=False)
    d = generate_latents(c, PROMPTS[:1], steps=3, seed=12, progress=False)
    assert torch.equal(a, b) and not torch.equal(a, d)

def test_img2img_strength(c):
    img = generate(c, PROMPTS[:1], steps=3, seed=1, progress=False)[0]
    zero = generate_latents(c, PROMPTS[:1], init_image=img, strength=0.0, steps=10, progress=False)
    torch.testing.assert_close(zero, encode_image(c, img))
    assert np.array_equal(np.asarray(decode(c, zero)[0]), np.asarray(decode(c, encode_image(c, img))[0]))
    for s, expect in [(0.5, 5), (0.35, 3), (1.0, 10)]:
        seen = []
        generate_latents(c, PROMPTS[:1], init_image=img, strength=s, steps=10, seed=0, progress=False,
                         callback=lambda i, t, x: seen.append(i))
        assert len(seen) == expect == int(10 * s)

def test_callback_every(c):
    seen = []
    generate_latents(c, PROMPTS[:1], steps=7, seed=0, progress=False, callback_every=3, callback=lambda i, t, x: seen.append(i))
    assert seen == [2, 5]

def test_guidance_schedule_and_variants(c):
    lat = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    const = generate_latents(c, PROMPTS[:1], steps=4, guidance_scale=5.0, latents=lat, progress=False)
    fn = generate_latents(c, PROMPTS[:1], steps=4, guidance_scale=lambda i, n: 5.0, latents=lat, progress=False)
    torch.testing.assert_close(const, fn)
    decayed = generate_latents(c, PROMPTS[:1], steps=4, guidance_scale=guidance_decay(7.5, 1.), latents=lat, progress=False)
    variant = generate_latents(c, PROMPTS[:1], steps=4, guidance=cfg_rescale_pred, latents=lat, progress=False)
    assert not torch.equal(decayed, const) and not torch.equal(variant, const)

def test_guidance_function_applies_below_scale_one(c):
    "The update-rescaling variants use scales like 0.15: a guidance function must turn guidance on whatever the scale"
    lat = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    plain = generate_latents(c, PROMPTS[:1], steps=4, guidance_scale=0.15, latents=lat, progress=False)   # no guidance
    text_only = generate_latents(c, PROMPTS[:1], steps=4, guidance_scale=1.0, latents=lat, progress=False)
    torch.testing.assert_close(plain, text_only)
    upd = generate_latents(c, PROMPTS[:1], steps=4, guidance_scale=0.15, guidance=cfg_rescale_update, latents=lat, progress=False)
    assert (upd - plain).abs().max() > 1e-3

def test_negative_prompt_broadcast(c):
    u1, _ = encode_prompts(c, PROMPTS, 'blurry')
    u2, _ = encode_prompts(c, PROMPTS, ['blurry', 'blurry'])
    torch.testing.assert_close(u1, u2)

def test_fp16_on_cpu(folder):
    try:
        c16 = load_components(folder, device='cpu', dtype=torch.float16)
        x16 = generate_latents(c16, PROMPTS[:1], steps=3, seed=0, progress=False)
    except RuntimeError as e:
        if 'Half' in str(e): pytest.skip(f'fp16 not supported on this CPU build: {e}')
        raise
    c32 = load_components(folder, device='cpu')
    x32 = generate_latents(c32, PROMPTS[:1], steps=3, seed=0, progress=False)
    assert x16.dtype == torch.float16 and torch.isfinite(x16).all()
    assert (x16.float() - x32).abs().max() < 0.05 * x32.abs().max()

def test_fp16_decode_falls_back_to_fp32(folder, monkeypatch):
    c16 = load_components(folder, device='cpu', dtype=torch.float16)
    real = c16.vae.decode
    def flaky(z, *a, **k):
        out = real(z, *a, **k)
        if z.dtype == torch.float16: out.sample.fill_(float('inf'))
        return out
    monkeypatch.setattr(c16.vae, 'decode', flaky)
    with pytest.warns(UserWarning, match='float32'):
        im = decode(c16, torch.randn(1, 4, 8, 8))[0]
    assert np.asarray(im).std() > 0 and c16.vae.dtype == torch.float16

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_fp16_matches_pipeline(folder):
    c = load_components(folder, device='cuda')
    assert c.dtype == torch.float16
    lat = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(7))
    ours = generate_latents(c, PROMPTS[:1], steps=6, latents=lat.clone(), progress=False)
    ref = pipeline(c, 'lms').to('cuda')(PROMPTS[:1], num_inference_steps=6, latents=lat.clone().cuda().half(), output_type='latent').images
    assert (ours.float() - ref.float()).abs().max() <= 1e-2

def test_long_prompt_truncated_with_warning(c):
    with pytest.warns(UserWarning, match='truncated'):
        generate_latents(c, ['word ' * 100], steps=1, seed=0, progress=False)

def test_slerp():
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    torch.testing.assert_close(slerp(a, b, 0.), a); torch.testing.assert_close(slerp(a, b, 1.), b)
    m = slerp(a, a * 2, 0.5)   # parallel: straight line
    torch.testing.assert_close(m, a * 1.5)
    x, y = torch.tensor([1., 0.]), torch.tensor([0., 1.])
    torch.testing.assert_close(slerp(x, y, 0.5), torch.tensor([2**-.5, 2**-.5]))

def test_chained_interpolation_starts_like_generate_and_moves_frame_by_frame(c):
    frames = chained_interpolate(c, 'a cat', 'a dog', seed=3, n=3, strength=0.5, steps=4, progress=False)
    assert len(frames) == 3 and all(f.size == (16, 16) for f in frames)
    first = generate(c, ['a cat'], seed=3, steps=4, progress=False)[0]
    assert np.array_equal(np.asarray(frames[0]), np.asarray(first))
    change = frame_change(frames)
    assert change.shape == (2,) and (change > 0).all() and (change <= 1).all()
    assert frame_change([first, first]).item() == 0
    with pytest.raises(ValueError, match='n must be'): chained_interpolate(c, 'a', 'b', n=1)
    with pytest.raises(ValueError, match=r'strength must be in \(0, 1\], got 2'): chained_interpolate(c, 'a', 'b', strength=2)

def test_interpolate_and_gif(c, tmp_path):
    frames = interpolate(c, 'a cat', 'a dog', seed_a=0, seed_b=1, n=3, steps=2, progress=False)
    first = generate(c, ['a cat'], steps=2, latents=torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0)), progress=False)[0]
    assert len(frames) == 3 and np.array_equal(np.asarray(frames[0]), np.asarray(first))
    p = save_gif(frames, tmp_path/'m.gif')
    assert Image.open(p).n_frames == 4
    with pytest.raises(ValueError, match='n must be'): interpolate(c, 'a', 'b', n=1)

@pytest.mark.parametrize('kwargs,exc,match', [
    (dict(prompts=[]), ValueError, 'prompts is empty'),
    (dict(prompts=3), TypeError, 'prompts must be'),
    (dict(negative_prompt=['a', 'b', 'c']), ValueError, 'negative_prompt has 3'),
    (dict(height=15), ValueError, 'height must be a positive multiple of 2'),
    (dict(width=0), ValueError, 'width must be'),
    (dict(steps=0), ValueError, 'steps must be'),
    (dict(strength=1.5, init_image='x'), ValueError, 'strength must be'),
    (dict(guidance_scale=float('nan')), ValueError, 'guidance_scale must be'),
    (dict(guidance_scale=float('inf')), ValueError, 'guidance_scale must be'),
    (dict(init_image='not an image'), TypeError, 'image must be a PIL image'),
    (dict(init_image=Image.new('RGB', (20, 20)), height=16, width=16), ValueError, 'resize it first'),
    (dict(latents=torch.zeros(1, 4, 4, 4)), ValueError, 'latents must have shape'),
])
def test_bad_input(c, kwargs, exc, match):
    kw = dict(prompts=['a', 'b'], steps=2, progress=False)
    kw.update(kwargs)
    with pytest.raises(exc, match=match): generate_latents(c, kw.pop('prompts'), **kw)

def test_init_image_mode_converted(c):
    gray = Image.new('L', (16, 16), 128)
    x = generate_latents(c, ['a'], init_image=gray, strength=0.5, steps=2, seed=0, progress=False)
    assert x.shape == (1, 4, 8, 8)

def test_start_latents_shape_error_names_the_shapes(c):
    with pytest.raises(ValueError, match=r"start_latents must have shape \(1, 4, 8, 8\) or \(2, 4, 8, 8\), got \(1, 4, 8, 16\)"):
        generate_latents(c, PROMPTS, steps=2, strength=0.5, start_latents=torch.zeros(1, 4, 8, 16), progress=False)
    with pytest.raises(ValueError, match=r"must have shape \(1, 4, 8, 8\), got"):
        generate_latents(c, PROMPTS[:1], steps=2, strength=0.5, start_latents=torch.zeros(1, 4, 8, 16), progress=False)

def test_sixteen_bit_and_transparent_images(tmp_path):
    from miniai.sampling import image_to_tensor
    ramp = (np.linspace(0, 65535, 16 * 16).reshape(16, 16)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path/'ramp16.png')
    im = Image.open(tmp_path/'ramp16.png')
    assert im.mode.startswith('I')
    x = image_to_tensor(im)
    assert x.shape == (1, 3, 16, 16) and len(x.unique()) > 200         # not clipped to two grey levels
    torch.testing.assert_close(x[0, 0], torch.from_numpy(ramp / 65535 * 2 - 1).float(), atol=1e-5, rtol=0)
    rgba = np.zeros((4, 4, 4), np.uint8); rgba[..., :3] = 255; rgba[:2, :, 3] = 255      # white, top half opaque
    y = image_to_tensor(Image.fromarray(rgba, 'RGBA'))
    assert (y[0, :, :2] == 1).all() and (y[0, :, 2:] == -1).all()     # transparent -> black
    with pytest.raises(ValueError, match="mode 'F'"): image_to_tensor(Image.new('F', (4, 4)))

def test_components_dataclass(c):
    import dataclasses
    from miniai.sampling import Components
    from miniai.loading import with_scheduler
    assert isinstance(c, Components)
    r = repr(c)
    for part in ('tokenizer=CLIPTokenizer', 'text_encoder=CLIPTextModel', 'vae=AutoencoderKL', 'unet=UNet2DConditionModel', 'scheduler=', 'device=cpu'):
        assert part in r, (part, r)
    other = torch.nn.Identity()
    c2 = dataclasses.replace(c, unet=other)
    assert c2.unet is other and c.unet is not other and c2.vae is c.vae   # a swap makes a new object; c is unchanged
    cd = with_scheduler(c, 'ddim')
    assert type(cd.scheduler).__name__ == 'DDIMScheduler' and cd.unet is c.unet and type(c.scheduler).__name__ == 'LMSDiscreteScheduler'

def test_predict_noise_guidance_is_explicit(c):
    from miniai.sampling import predict_noise, embed_text
    x = torch.randn(2, 4, 8, 8)
    emb = embed_text(c, ['a', 'b'])
    with pytest.raises(ValueError, match='do_classifier_free_guidance=True it needs 4'):
        predict_noise(c, x, 10, emb, do_classifier_free_guidance=True)
    with pytest.raises(ValueError, match='do_classifier_free_guidance=False it needs 2'):
        predict_noise(c, x, 10, torch.cat([emb, emb]))
    u, t = predict_noise(c, x, 10, embed_text(c, ['', ''])), predict_noise(c, x, 10, emb)
    torch.testing.assert_close(predict_noise(c, x, 10, torch.cat([embed_text(c, ['', '']), emb]), do_classifier_free_guidance=True, guidance_scale=3.0),
                               u + 3.0 * (t - u), rtol=1e-4, atol=1e-5)

def test_named_pieces(c):
    from miniai.sampling import latent_shape, start_step, random_latents, make_generator, encode_prompts, embed_text
    assert latent_shape(c, 3, 16, 24) == (3, 4, 8, 12)
    assert [start_step(10, s) for s in (1.0, 0.8, 0.5, 0.0)] == [0, 2, 5, 10]
    torch.testing.assert_close(random_latents(c, (1, 4, 2, 2), make_generator(seed=3)), torch.randn(1, 4, 2, 2, generator=torch.Generator().manual_seed(3)))
    emb = embed_text(c, ['x', 'y', 'z'])
    with pytest.raises(ValueError, match='negative_prompt has 2 entries but there are 3 embeddings'):
        encode_prompts(c, None, ['a', 'b'], emb)
    u, t = encode_prompts(c, None, None, emb)
    assert u.shape == t.shape == emb.shape

def test_each_distinct_prompt_is_encoded_once(c):
    "embed_text: a repeated prompt costs one row of the text encoder; a loop without guidance encodes no negatives"
    from miniai.sampling import embed_text
    rows = []
    hook = c.text_encoder.register_forward_hook(lambda m, args, out: rows.append(len(args[0])))
    try:
        emb = embed_text(c, ['x', 'y', 'x'])
        assert rows == [2]
        torch.testing.assert_close(emb[0], emb[2], rtol=0, atol=0)
        torch.testing.assert_close(emb[1:2], embed_text(c, ['y']), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(embed_text(c, 'y'), embed_text(c, ['y']), rtol=0, atol=0)   # a string: one prompt
        rows.clear()
        u, t = encode_prompts(c, ['x'] * 3, uncond=False)
        assert u is None and t.shape[0] == 3 and rows == [1]
        with pytest.raises(ValueError, match='negative_prompt has 2 entries but there are 3 prompts'):
            encode_prompts(c, ['x'] * 3, ['a', 'b'], uncond=False)
        rows.clear()
        generate_latents(c, ['x'] * 2, steps=2, guidance_scale=1.0, progress=False)
        assert rows == [1]
    finally: hook.remove()

# --- silently wrong before: now the right result, or a clear error ---

@pytest.mark.parametrize('sched', ['ddim', 'lms', 'euler', 'dpm'])
def test_two_threads_sharing_components_get_what_one_alone_gets(c, sched):
    "The scheduler changes as it steps: each call works on its own copy, so threads may share one Components"
    import threading
    from miniai.loading import with_scheduler
    cs = with_scheduler(c, sched)
    kw = dict(steps=12, progress=False)
    alone = {s: generate_latents(cs, PROMPTS, seed=s, **kw) for s in (1, 2)}
    got, errors = {}, []
    def run(s):
        try: got[s] = generate_latents(cs, PROMPTS, seed=s, **kw)
        except Exception as e: errors.append(e)
    threads = [threading.Thread(target=run, args=(s,)) for s in (1, 2)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors, errors
    for s in (1, 2): torch.testing.assert_close(got[s], alone[s], rtol=0, atol=0)

def test_threads_tokenizing_at_once_get_their_own_embeddings(c):
    "The fast tokenizer keeps its padding settings between calls: without the lock, threads mixed them up"
    import threading
    from miniai.sampling import embed_text
    batches = [['a cat' + ' and a cat' * j for j in range(k)] + ['a dog on a red background'] for k in range(1, 9)]
    alone = [embed_text(c, b) for b in batches]
    got, errors = {}, []
    def run(i):
        try:
            for _ in range(20): got[i] = embed_text(c, batches[i])
        except Exception as e: errors.append(e)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors, errors
    for i, a in enumerate(alone): torch.testing.assert_close(got[i], a, rtol=0, atol=0)

def test_uint8_image_tensor_is_read_as_pixels(c):
    "torchvision.io.read_image gives uint8 (3, H, W): it is converted, not taken for floats in [0, 255]"
    from miniai.sampling import image_to_tensor
    px = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(image_to_tensor(px), image_to_tensor(px.float() / 255))
    with pytest.raises(TypeError, match='float in \\[0, 1\\] or uint8, got torch.int32'): image_to_tensor(px.int())

@pytest.mark.parametrize('what', ['guidance', 'callback', 'init_image'])
def test_non_finite_latents_name_the_step(c, what):
    kw = dict(steps=6, progress=False, seed=0)
    if what == 'guidance':
        kw['guidance'] = lambda u, t, g: u * float('nan')   # a broken guidance function
        match = r'stopped being finite \(NaN or inf\) at step 1 of 6'
    elif what == 'callback':
        kw['callback'] = lambda i, t, x: x * float('inf') if i == 3 else None
        match = r'stopped being finite \(NaN or inf\) at step 4 of 6'
    else:
        kw.update(init_image=torch.full((3, 16, 16), float('nan')), strength=0.5)
        match = 'init_image holds NaN or inf'
    with pytest.raises(ValueError, match=match): generate_latents(c, PROMPTS[:1], **kw)

def test_guidance_rescale_nan_is_refused(c):
    with pytest.raises(ValueError, match=r'guidance_rescale must be in \[0, 1\], got nan'):
        generate_latents(c, PROMPTS[:1], steps=2, guidance_rescale=float('nan'), progress=False)

def test_compile_true_equals_the_eager_loop():
    """generate_latents(compile=True): the UNet compiled with freezing, once per model; the same latents within 1e-4;
    decode(compile=True): the same pixels within 1e-4"""
    from miniai.sampling import VAEDecoder
    from miniai.perf import compiled_unet, compiled_decoder
    c = load_components(device='cpu')   # the embedded model: its latents end a few units in size, as a user's do
    # 30 steps, as the claim is made: at 3, LMS's huge steps magnify a 3e-6 difference of one UNet call to 5e-4
    p, kw = ['a handwritten digit seven'], dict(steps=30, seed=0, progress=False)
    eager = generate_latents(c, p, **kw)
    assert (generate_latents(c, p, compile=True, **kw) - eager).abs().max() <= 1e-4
    with torch.no_grad(): pixels = VAEDecoder(c.vae)(eager)
    assert (compiled_decoder(c.vae)(eager) - pixels).abs().max() <= 1e-4
    assert compiled_decoder(c.vae) is compiled_decoder(c.vae) and compiled_decoder(c.vae) is not compiled_unet(c.unet)
    with pytest.raises(TypeError, match="compile must be True or False, got 1"): decode(c, eager, compile=1)
    first = compiled_unet(c.unet)
    assert compiled_unet(c.unet) is first and c.unet is not first   # kept for the model; the model itself untouched
    with torch.no_grad(): c.unet.conv_in.bias.add_(0.0)            # weights changed in place: folded in again
    assert compiled_unet(c.unet) is not first
    with pytest.raises(TypeError, match="compile must be True or False, got 'yes'"):
        generate_latents(c, p, compile='yes', **kw)


def test_text_keys_padded_attends_as_the_unet_does():
    """TextKeysPadded: the text padded to a multiple of 16 tokens and masked, on the CPU: the UNet's own output within
    float32's rounding; a caller's mask and a length already a multiple of 16 are left alone; it reads as the UNet"""
    from miniai.perf import TextKeysPadded
    c = load_components(device='cpu')
    unet, padded = c.unet, TextKeysPadded(c.unet)
    assert padded.config is unet.config and padded.dtype == unet.dtype and padded.unet is unet
    x, t = torch.randn(2, 4, 8, 16, generator=torch.Generator().manual_seed(0)), torch.tensor(500)
    text = encode_prompts(c, ['a handwritten digit seven', 'a red 3 and a blue 1 on yellow'], uncond=False)[1]
    with torch.inference_mode(): want = unet(x, t, encoder_hidden_states=text).sample
    calls = []   # what the UNet is handed: the text's length, and the mask
    hook = unet.register_forward_pre_hook(lambda m, a, kw: calls.append((a[2].shape[1], kw['encoder_attention_mask'])),
                                          with_kwargs=True)
    try:
        with torch.inference_mode():
            assert (padded(x, t, encoder_hidden_states=text).sample - want).abs().max() <= 1e-5
            mask = torch.ones(2, 77, dtype=torch.bool)
            padded(x, t, text, encoder_attention_mask=mask)
            padded(x, t, text[:, :64])
    finally: hook.remove()
    assert text.shape[1] == 77 and calls[0][0] == 80 and calls[0][1].tolist() == [[True] * 77 + [False] * 3] * 2
    assert calls[1][0] == 77 and calls[1][1] is mask and calls[2] == (64, None)


def test_lms_coefficients_are_diffusers_own_and_integrated_once(monkeypatch):
    "remember_lms_coefficients: diffusers' values; a second call of the loop with the same schedule integrates nothing"
    import copy
    import miniai.perf
    from diffusers.schedulers import scheduling_lms_discrete
    from miniai.perf import remember_lms_coefficients
    monkeypatch.setattr(miniai.perf, '_LMS_COEFFICIENTS', {})   # none remembered yet by other tests in this process
    ref = make_scheduler('lms')
    ref.set_timesteps(7)
    ours = remember_lms_coefficients(copy.deepcopy(ref))
    ks = [(min(i + 1, 4), i, k) for i in range(7) for k in range(min(i + 1, 4))]
    assert [ours.get_lms_coefficient(*k) for k in ks] == [ref.get_lms_coefficient(*k) for k in ks]
    assert 'get_lms_coefficient' not in vars(ref)   # the scheduler it was copied from is untouched
    c = load_components(device='cpu')
    kw = dict(steps=7, seed=0, progress=False, guidance_scale=1.0)
    first = generate_latents(c, ['a handwritten digit one'], **kw)
    calls = []
    real = scheduling_lms_discrete.integrate.quad
    monkeypatch.setattr(scheduling_lms_discrete.integrate, 'quad', lambda *a, **k: calls.append(a) or real(*a, **k))
    assert torch.equal(generate_latents(c, ['a handwritten digit one'], **kw), first) and calls == []
    generate_latents(c, ['a handwritten digit one'], **dict(kw, steps=5))   # a new schedule: integrated once
    assert len(calls) == sum(min(i + 1, 4) for i in range(5))
