"The app's functions without the page (13_serving): served models only, uploads, cancellable jobs, bounded work."
import threading, time
import numpy as np, pytest, torch
from PIL import Image
from miniai.miniature import digit_prompt
from miniai.serving import (serve_models, get_model, read_upload, stoppable, generate_stream, check_request_work,
                            MAX_REQUEST_WORK)

def test_only_served_models(tmp_path):
    try:
        assert serve_models() == ['scene-sd', 'digits-4step']
        for name in ('/etc', str(tmp_path), 'no-such-model'):
            with pytest.raises(ValueError, match="model must be one of scene-sd, digits-4step; got"): get_model(name)
        assert get_model() is get_model('scene-sd')
    finally: serve_models()

def test_serving_compiled_is_a_setting_of_serve_models():
    from miniai.serving import SERVING
    try:
        serve_models(compile=True)
        assert SERVING['compile'] is True
    finally: serve_models()
    assert SERVING['compile'] is False

def test_uploads_are_read_as_the_command_line_reads_them_and_kept(tmp_path):
    ramp = (np.linspace(0, 65535, 256).reshape(16, 16)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path/'ramp16.png')
    grey = np.asarray(read_upload(tmp_path/'ramp16.png'))[..., 0]
    assert np.array_equal(grey, (ramp / 257).round().astype(np.uint8))       # 16-bit scaled, not binarised
    rgba = np.zeros((8, 8, 4), np.uint8); rgba[..., :3] = 255; rgba[:4, :, 3] = 255
    Image.fromarray(rgba, 'RGBA').save(tmp_path/'half.png')
    im = np.asarray(read_upload(tmp_path/'half.png'))
    assert (im[:4] == 255).all() and (im[4:] == 0).all()                  # transparent -> black, as the CLI reads it
    phone = Image.new('RGB', (8, 4), 'red'); exif = phone.getexif(); exif[0x0112] = 6
    phone.save(tmp_path/'phone.jpg', exif=exif)
    assert read_upload(tmp_path/'phone.jpg').size == (4, 8)              # EXIF orientation applied
    assert sorted(p.name for p in tmp_path.iterdir()) == ['half.png', 'phone.jpg', 'ramp16.png']   # nothing deleted

def test_closing_a_stream_stops_its_worker():
    c = get_model()
    calls, forward = [], c.unet.forward
    c.unet.forward = lambda *a, **k: calls.append(1) or forward(*a, **k)
    try:
        stream = generate_stream(c, digit_prompt(5), steps=100, seed=0, poll=0.05)
        next(stream)
        stream.close()
        time.sleep(0.5)
        n = len(calls)
        time.sleep(0.5)
        assert len(calls) == n < 100
    finally: del c.unet.forward

def test_stoppable_raises_what_the_work_raises_and_polls():
    def work(emit, check):
        emit(1)
        time.sleep(0.3)
        raise ValueError('bad')
    out = []
    with pytest.raises(ValueError, match='bad'):
        for v in stoppable(work, idle='idle', poll=0.05): out.append(v)
    assert out[0] == 1 and 'idle' in out

def test_check_work():
    c = get_model()
    check_request_work(c, (32, 32), MAX_REQUEST_WORK // 64)
    with pytest.raises(ValueError, match=r'this request is 2,000,064 latent pixels x UNet evaluations'):
        check_request_work(c, (32, 32), MAX_REQUEST_WORK // 64 + 1)
