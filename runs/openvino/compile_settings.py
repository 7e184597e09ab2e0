# python runs/openvino/compile_settings.py f32|bf16: one UNet call (guided batch of 20), OpenVINO against our compiled UNet with other inductor settings, 30 turning rounds
import time, copy, statistics, sys, torch, numpy as np
from miniai.loading import load_components
from miniai.perf import FreezingCompiled, TextKeysPadded
from miniai.openvino_peer import OpenVINOUNet
torch.set_num_threads(2)
prec = sys.argv[1]; dt = torch.bfloat16 if prec == 'bf16' else torch.float32
c = load_components()
x = torch.randn(20, 4, 8, 16); t = torch.tensor(500.0); e = torch.randn(20, 77, 64)
def variant(cl=False, cl_in=False, **settings):
    u = copy.deepcopy(c.unet).to(dt)
    if cl: u = u.to(memory_format=torch.channels_last)
    cl = cl or cl_in
    f = FreezingCompiled(TextKeysPadded(u)); f.settings.update(settings)
    xx = x.to(dt).contiguous(memory_format=torch.channels_last) if cl else x.to(dt)
    return lambda: f(xx, t, encoder_hidden_states=e.to(dt)).sample
ovu = OpenVINOUNet(c.unet, 20, (4, 8, 16), 77, 64, prec)
at = dict(max_autotune=True, max_autotune_gemm_backends='CPP,ATEN')
calls = {'ov': lambda: ovu(x, t, e).sample, 'base': variant(), 'cl input': variant(cl_in=True),
         'autotune': variant(**at), 'autotune+cl input': variant(cl_in=True, **at), 'autotune+cl all': variant(cl=True, **at)}
with torch.inference_mode():
    ref = c.unet(x, t, encoder_hidden_states=e).sample
    for k, f in calls.items():
        t0 = time.time(); o = f(); print(k, f'first {time.time()-t0:.1f}s, max diff {(o.float() - ref).abs().max():.2e}', flush=True)
    times = {k: [] for k in calls}
    for r in range(30):
        for k, f in calls.items():
            t0 = time.perf_counter(); f(); times[k].append(time.perf_counter() - t0)
for k, v in times.items():
    print(f"{prec} {k:16} median {1e3*statistics.median(v):.2f} ms  / ov {statistics.median([a/b for a,b in zip(v, times['ov'])]):.3f}", flush=True)
