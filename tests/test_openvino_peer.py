"OpenVINO as a peer (09b_openvino): optional; without it everything says so, with it the converted UNet runs our loop."
import importlib.util
import pytest, torch
from miniai import openvino_peer
from miniai.openvino_peer import openvino_available, bench_openvino, openvino_components, OpenVINOUNet
from miniai.sampling import generate_latents

def test_without_openvino_the_peer_says_so(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'openvino' else real(name, *a))
    assert not openvino_available()
    said = []
    assert bench_openvino(report=said.append) == []
    assert said == ["OpenVINO peer: skipped, openvino is not installed (pip install 'miniai[openvino]')"]
    with pytest.raises(ImportError, match=r"pip install 'miniai\[openvino\]'"): OpenVINOUNet(None, 2, (4, 8, 8), 77, 64)

def test_the_bench_runs_its_peer_only_on_the_cpu(monkeypatch):
    from miniai import bench
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert bench._peer_runs_here({}) and bench._peer_runs_here({'size': 'tiny'})
    assert not bench._peer_runs_here({'device': 'cuda'}) and not bench._peer_runs_here({'size': 'sd15'})

needs_openvino = pytest.mark.skipif(not openvino_available(), reason='openvino is not installed (the optional extra)')

@needs_openvino
def test_openvino_unet_gives_our_loops_latents(c):
    prompts = ['a red seven', 'a blue two']
    ours = generate_latents(c, prompts, steps=4, seed=0, progress=False)
    theirs = generate_latents(openvino_components(c, 2), prompts, steps=4, seed=0, progress=False)
    assert (theirs - ours).abs().max() <= 1e-5 * ours.abs().max()   # float32's rounding, at the latents' scale
    with pytest.raises(ValueError, match="precision must be 'f32' or 'bf16', got 'f16'"):
        openvino_components(c, 2, precision='f16')

@needs_openvino
def test_bench_openvino_reports_each_run(c, monkeypatch):
    monkeypatch.setattr(openvino_peer, 'components_for', lambda size, device, dtype=None: c)
    said = []
    rows = bench_openvino('tiny', steps=2, batch=1, repeats=2, precisions=['f32'], report=said.append)
    assert [r['run'] for r in rows] == ['diffusers eager f32', 'ours compiled f32', 'openvino f32']
    assert rows[2]['max_abs_diff'] < 1e-3 and rows[1]['vs_openvino'] > 0
    assert said[0].startswith('OpenVINO peer: size=tiny steps=2 batch=1')

def test_engine_quality_reads_each_engines_pictures_the_same_way(capsys):
    "Each engine draws the same prompts from the same seeds; the judge's shares and slot FID come back per engine"
    from miniai.loading import load_components
    from miniai.openvino_peer import engine_quality
    c = load_components()
    res = engine_quality({'a': (c, False), 'b': (c, False)}, n=2, steps=2, chunk=4)
    assert set(res) == {'a', 'b'} and res['a'] == res['b']
    assert all(0 <= res['a'][k] <= 1 for k in ('digits', 'ink', 'slot', 'background', 'binding'))
    assert 'slot FID' in capsys.readouterr().out
