"miniai-app as a person or a script would use it: through gradio_client, and through a real browser where Chromium is installed"
import os, shutil, socket, subprocess, sys
from pathlib import Path
import pytest
gr = pytest.importorskip('gradio', reason='the app extra is not installed: pip install "miniai[app]"')
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from miniai.scenes import scene_of
from miniai.miniature import digit_prompt
from miniai.evaluate import classify, digits_of
from miniai.training import weights_hash
from miniai import app as miniapp, serving

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def server(tmp_path_factory):
    "The app on the default model, served on a free loopback port, with its own upload folder"
    old = os.environ.get('GRADIO_TEMP_DIR')
    os.environ['GRADIO_TEMP_DIR'] = str(tmp_path_factory.mktemp('gradio'))
    demo = miniapp.make_app()
    port = free_port()
    demo.launch(server_name='127.0.0.1', server_port=port, prevent_thread_lock=True, quiet=True, **miniapp.LAUNCH)
    yield f'http://127.0.0.1:{port}/'
    demo.close()
    if old is None: os.environ.pop('GRADIO_TEMP_DIR')
    else: os.environ['GRADIO_TEMP_DIR'] = old

@pytest.fixture(scope='module')
def client(server): return Client(server, verbose=False)

def digit_of(path, clf, scale=1):
    "The digit the judge reads in the picture at `path`, shown `scale` times larger than it was drawn"
    im = Image.open(path)
    return int(classify(clf, digits_of([im.resize((im.width // scale, im.height // scale), Image.NEAREST)]))[0])

def three(k=0): return scene_of(((3, 'white'), None), k=k).image   # a validation three, as the default model draws

def test_generate_draws_a_five(client, clf):
    before = weights_hash(miniapp.get_model().unet)
    out = client.predict(prompt='a handwritten digit five', steps=20, seed=0, n=1, api_name='/generate')
    assert Image.open(out).size == (64, 32)
    assert digit_of(out, clf) == 5
    assert weights_hash(miniapp.get_model().unet) == before   # requests only read the shared model

def test_diffedit_turns_a_three_into_an_eight(client, clf, tmp_path):
    p = tmp_path/'three.png'
    three().save(p)
    out = client.predict(image=handle_file(str(p)), reference=digit_prompt(3), query=digit_prompt(8), api_name='/diffedit')
    assert Image.open(out).size == (64, 32)
    assert digit_of(out, clf) == 8

def test_imagic_endpoint(client, tmp_path):
    p = tmp_path/'three.png'
    three(1).save(p)
    out = client.predict(image=handle_file(str(p)), target=digit_prompt(8), eta=0.6, embedding_steps=5, unet_steps=2, steps=5,
                         api_name='/imagic')
    assert Image.open(out).size == (64, 32)

def huge_png(path):
    "A 20,000 x 20,000 image: 400 million pixels, but a small file (1 bit per pixel, all black)"
    Image.new('1', (20000, 20000)).save(path, optimize=False)
    return path

@pytest.mark.parametrize('what', ['empty prompt', 'steps 0', 'not an image', 'huge image', 'no image'])
def test_bad_input_is_a_message_and_the_server_lives_on(client, tmp_path, what):
    three_png = tmp_path/'three.png'
    three().save(three_png)
    text = tmp_path/'notes.png'; text.write_text('not an image')
    edit = dict(reference=digit_prompt(3), query=digit_prompt(8), api_name='/diffedit')
    call, expect = {
        'empty prompt': (dict(prompt='  ', api_name='/generate'), 'prompt is empty'),
        'steps 0':      (dict(prompt=digit_prompt(5), steps=0, api_name='/generate'), 'steps must be from 1 to 100, got 0'),
        'not an image': (dict(image=handle_file(str(text)), **edit), 'not an image file'),
        'huge image':   (dict(image=handle_file(str(huge_png(tmp_path/'huge.png'))), **edit), 'image has too many pixels to decode'),
        'no image':     (dict(image=None, **edit), 'give an image'),
    }[what]
    with pytest.raises(AppError, match=expect): client.predict(**call)
    assert Image.open(client.predict(prompt=digit_prompt(1), steps=4, n=1, api_name='/generate')).size == (64, 32)

def test_the_generate_tab_shows_the_images_enlarged(server):
    "The page's Generate button shows the grid UI_SCALE times larger, nearest-neighbour; /generate stays native size"
    args = (digit_prompt(1), '', 2, 7.5, miniapp.OWN_SCHEDULER, 0, 2, None)
    page = [o for o in miniapp.generate_page(*args) if isinstance(o, Image.Image)][-1]
    api = [o for o in miniapp.generate_images(*args) if isinstance(o, Image.Image)][-1]
    assert api.size == (128, 32) and page.size == (128 * miniapp.UI_SCALE, 32 * miniapp.UI_SCALE)
    assert page.resize(api.size, Image.NEAREST).tobytes() == api.tobytes()

def test_cli_refuses_a_bad_port():
    r = subprocess.run([str(Path(sys.executable).parent/'miniai-app'), '--port', '70000'], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and '--port must be from 1 to 65535' in r.stderr

def chromium():
    "Paths of Debian's chromium and chromedriver, or the reason this machine cannot run the browser test"
    b, d = shutil.which('chromium') or shutil.which('chromium-browser'), shutil.which('chromedriver')
    if not (b and d): return None, "Chromium is not installed (sudo apt install chromium chromium-driver)"
    try: import selenium  # noqa: F401
    except ImportError: return None, "selenium is not installed (pip install selenium)"
    return (b, d), None

def test_browser_diffedit_tab(server, tmp_path, clf):
    """A real (headless) browser: on the DiffEdit tab, pick a two-digit scene, type a query that turns its right seven
    into a one, click Edit, wait for the result, screenshot it"""
    paths, why = chromium()
    if paths is None:
        print(f"skipping the browser test: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
    from miniai.evaluate import read_scenes
    opts = webdriver.ChromeOptions()
    for a in ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,1400']: opts.add_argument(a)
    opts.binary_location = paths[0]
    drv = webdriver.Chrome(options=opts, service=Service(paths[1]))
    try:
        drv.get(server)
        wait = WebDriverWait(drv, 120)
        wait.until(lambda d: d.find_elements(By.ID, 'generate'))
        next(b for b in drv.find_elements(By.CSS_SELECTOR, 'button[role=tab]') if b.text.strip() == 'DiffEdit').click()
        wait.until(lambda d: [e for e in d.find_elements(By.ID, 'diffedit-use-digit') if e.is_displayed()])[0].click()
        reference, query = (drv.find_element(By.CSS_SELECTOR, f'#diffedit-{k} textarea') for k in ('reference', 'query'))
        caption = miniapp.SCENE_PROMPTS['reference']   # the picked scene's caption fills both, for the user to change one
        wait.until(lambda d: query.get_attribute('value') == caption and reference.get_attribute('value') == caption)
        query.send_keys(Keys.CONTROL, 'a')
        query.send_keys(miniapp.SCENE_PROMPTS['query'])
        wait.until(lambda d: query.get_attribute('value') == miniapp.SCENE_PROMPTS['query'])
        drv.find_element(By.ID, 'diffedit').click()
        img = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#diffedit-result img'))[0]
        assert '/file=' in img.get_attribute('src')
        shot = Path(os.environ.get('MINIAI_SCREENSHOT', tmp_path/'app.png'))
        drv.save_screenshot(str(shot))
        assert Image.open(shot).size[0] > 0
        # the page's result, read by the judge: the red three and the yellow background kept, the seven now a blue one
        path = img.get_attribute('src').split('/file=', 1)[1]
        im = Image.open(path)
        im = im.resize((im.width // miniapp.UI_SCALE, im.height // miniapp.UI_SCALE), Image.NEAREST)
        assert read_scenes(clf, [im]) == [dict(slots=((3, 'red'), (1, 'blue')), background='yellow')]
    finally: drv.quit()


# --- a hostile or careless client: nothing of anyone else's is touched, no request holds the worker for long ---

def test_naming_another_user_s_result_deletes_nothing(client, tmp_path):
    "A result's path in Gradio's cache is a hash of its content: sending the same bytes names the same file"
    out = client.predict(prompt=digit_prompt(4), steps=4, seed=3, n=1, api_name='/generate')
    cache = Path(os.environ['GRADIO_TEMP_DIR'])
    theirs = [p for p in cache.rglob('*.png') if p.read_bytes() == Path(out).read_bytes()]
    assert theirs, 'the result is not in the server cache'
    mine = tmp_path/theirs[0].name
    mine.write_bytes(theirs[0].read_bytes())
    client.predict(image=handle_file(str(mine)), reference=digit_prompt(4), query=digit_prompt(9), steps=4,
                   api_name='/diffedit')
    assert all(p.exists() for p in theirs), 'another user\'s result was deleted'

@pytest.mark.parametrize('model', ['/etc', '/no/such/folder', '../../etc', 'scene-sd/../scene-sd'])
def test_only_the_served_models_load(client, model):
    "Any other model is one message, the same whether or not the folder exists, and nothing new is cached"
    before = len(serving._models)
    with pytest.raises(AppError, match=r"scene-sd.*digits-4step"):   # Gradio's menu, or our own check, names them
        client.predict(prompt=digit_prompt(1), steps=2, model=model, api_name='/generate')
    assert len(serving._models) == before

def test_a_request_s_work_is_bounded(client, tmp_path):
    big = tmp_path/'big.png'
    Image.new('RGB', (512, 512)).save(big)
    with pytest.raises(AppError, match=r'more than the 2,000,000 this server takes at once'):
        client.predict(image=handle_file(str(big)), reference=digit_prompt(3), query=digit_prompt(8), n=32, steps=100,
                       strength=1.0, api_name='/diffedit')
    with pytest.raises(AppError, match=r'more than the 2,000,000'):
        client.predict(image=handle_file(str(big)), target=digit_prompt(8), api_name='/imagic')

def test_uploads_over_the_size_limit_are_refused(client, tmp_path):
    junk = tmp_path/'junk.png'
    junk.write_bytes(os.urandom(21 * 1024 * 1024))
    with pytest.raises(Exception): client.predict(image=handle_file(str(junk)), reference='a', query='b',
                                                  api_name='/diffedit')
    assert Image.open(client.predict(prompt=digit_prompt(1), steps=2, n=1, api_name='/generate')).size == (64, 32)

def test_a_cancelled_job_stops(client):
    "Cancelling a job stops its loop at the next step: the shared UNet is called no more"
    import time
    unet = miniapp.get_model().unet
    calls, forward = [], unet.forward
    unet.forward = lambda *a, **k: calls.append(1) or forward(*a, **k)
    try:
        job = client.submit(prompt=digit_prompt(2), steps=100, n=16, api_name='/generate')
        t0 = time.time()
        while len(calls) < 3:
            assert time.time() - t0 < 60, 'the job did not start'
            time.sleep(0.02)
        job.cancel()
        time.sleep(2)
        stopped_at = len(calls)
        time.sleep(1)
        assert len(calls) == stopped_at < 200, (stopped_at, len(calls))   # 100 steps would be 100 calls
    finally: del unet.forward
    assert Image.open(client.predict(prompt=digit_prompt(1), steps=2, n=1, api_name='/generate')).size == (64, 32)

def test_cli_bad_model_and_busy_port_are_one_line(capsys):
    exe = str(Path(sys.executable).parent/'miniai-app')
    r = subprocess.run([exe, '--model', '/nonexistent'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no such folder '/nonexistent'" in r.stderr and 'Traceback' not in r.stderr, r.stderr
    with socket.socket() as s:   # in-process: the same command, without a second start of Gradio
        s.bind(('127.0.0.1', 0)); s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SystemExit) as e: miniapp.app_cli(port=port)
    err = capsys.readouterr().err
    assert e.value.code == 2 and f'--port {port}: cannot listen' in err and len(err.strip().splitlines()) == 1, err

def test_the_pickers_give_scenes_and_their_captions(clf):
    "Validation digits in colours and a drawing in a slot both arrive as 64x32 scenes, with the caption the judge reads"
    from PIL import ImageDraw
    from miniai.evaluate import read_scenes
    im, shown, text = miniapp.pick_scene('3', 'red', '7', 'blue', 'yellow', 2)
    assert im.size == (64, 32) and shown.size == (64 * miniapp.UI_SCALE, 32 * miniapp.UI_SCALE)
    assert read_scenes(clf, [im]) == [dict(slots=((3, 'red'), (7, 'blue')), background='yellow')]
    assert text == 'a red three on the left and a blue seven on the right, on a yellow background'
    im, _, text = miniapp.pick_scene(miniapp.NO_DIGIT, 'red', '5', 'green', 'black', 0)
    assert text == 'a green five on the right, on a black background'
    canvas = Image.new('RGB', (280, 280))
    ImageDraw.Draw(canvas).ellipse((90, 40, 190, 240), outline='white', width=18)   # a zero
    drawn, _, text = miniapp.pick_sketch(canvas, 'right', 'cyan', 'purple')
    assert drawn.size == (64, 32) and read_scenes(clf, [drawn]) == [dict(slots=(None, (0, 'cyan')), background='purple')]
    assert text == 'a cyan zero on the right, on a purple background'
    assert miniapp.described(Image.new('RGB', (32, 32)))[2] == ''            # not a scene: nothing to read

@pytest.mark.parametrize('call, match', [
    (lambda: miniapp.pick_scene('none', 'red', 'none', 'blue', 'black', 0), 'slots must be'),
    (lambda: miniapp.pick_scene('3', 'red', '7', 'blue', 'red', 0), "background must be one of"),
    (lambda: miniapp.pick_scene('3', 'red', '7', 'blue', 'yellow', 10**6), 'k must be below'),
    (lambda: miniapp.pick_scene('3', 'red', '7', 'blue', 'yellow', None), 'k must be an int'),
    (lambda: miniapp.pick_sketch(Image.new('RGB', (280, 280), 'white'), 'left', 'red', 'black'), 'sketch is empty'),
    (lambda: miniapp.pick_sketch(Image.new('RGB', (9, 9)), 'middle', 'red', 'black'), 'slot must be one of left, right'),
    (lambda: miniapp.pick_sketch(Image.new('RGB', (9, 9)), 'left', 'red', 'red'), 'ink and background must be')])
def test_the_pickers_name_bad_choices(call, match):
    with pytest.raises(gr.Error, match=match): call()

def test_diffedit_api_pastes_back_when_asked(client, tmp_path):
    import numpy as np
    p = tmp_path/'scene.png'
    scene = miniapp.pick_scene('3', 'red', '7', 'blue', 'yellow', 0)[0]
    scene.save(p)
    kw = dict(image=handle_file(str(p)), reference=miniapp.SCENE_PROMPTS['reference'], query=miniapp.SCENE_PROMPTS['query'],
              strength=0.9, threshold=0.1, steps=20, api_name='/diffedit')
    pasted = np.asarray(Image.open(client.predict(composite=True, **kw)).convert('RGB'))
    kept = np.asarray(Image.open(client.predict(composite=False, **kw)).convert('RGB'))
    left = np.asarray(scene)[:, :32]
    assert (pasted[:, :32] == left).mean() > (kept[:, :32] == left).mean()   # the left slot: more pixels exactly kept
