# python runs/openvino/allocator.py f32, with and without MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=268435456: glibc keeping freed memory, per UNet call
import time, copy, statistics, sys, os, torch
from miniai.loading import load_components
from miniai.perf import FreezingCompiled, TextKeysPadded
from miniai.openvino_peer import OpenVINOUNet
torch.set_num_threads(2)
prec = sys.argv[1]; dt = torch.bfloat16 if prec == 'bf16' else torch.float32
c = load_components()
x = torch.randn(20, 4, 8, 16); t = torch.tensor(500.0); e = torch.randn(20, 77, 64)
f = FreezingCompiled(TextKeysPadded(copy.deepcopy(c.unet).to(dt)))
ovu = OpenVINOUNet(c.unet, 20, (4, 8, 16), 77, 64, prec)
calls = {'ov': lambda: ovu(x, t, e).sample, 'ours': lambda: f(x.to(dt), t, encoder_hidden_states=e.to(dt)).sample}
with torch.inference_mode():
    for k, g in calls.items(): g()
    times = {k: [] for k in calls}
    for r in range(40):
        for k, g in calls.items():
            t0 = time.perf_counter(); g(); times[k].append(time.perf_counter() - t0)
env = 'MALLOC_* high' if os.environ.get('MALLOC_MMAP_THRESHOLD_') else 'default malloc'
print(f"{prec} {env:15} ov {1e3*statistics.median(times['ov']):.2f} ms, ours {1e3*statistics.median(times['ours']):.2f} ms, ours/ov {statistics.median([a/b for a,b in zip(times['ours'], times['ov'])]):.3f}", flush=True)
