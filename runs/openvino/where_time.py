# python runs/openvino/where_time.py f32|bf16: where one UNet call (the guided batch of 20 latents) spends its time, ours compiled (the profiler, C++ wrapper off) and OpenVINO's (its per-node counters)
import sys, time, copy, collections, torch, numpy as np
from miniai.loading import load_components
from miniai.perf import FreezingCompiled, TextKeysPadded
torch.set_num_threads(2)
prec = sys.argv[1] if len(sys.argv) > 1 else 'f32'
dt = torch.bfloat16 if prec == 'bf16' else torch.float32
c = load_components()
x = torch.randn(20, 4, 8, 16); t = torch.tensor(500.0); e = torch.randn(20, 77, 64)
u = copy.deepcopy(c.unet).to(dt)
f = FreezingCompiled(TextKeysPadded(u)); f.settings.update(cpp_wrapper=False)
torch._inductor.config.cpp.enable_kernel_profile = True
with torch.inference_mode():
    for _ in range(3): f(x.to(dt), t, encoder_hidden_states=e.to(dt))
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(20): f(x.to(dt), t, encoder_hidden_states=e.to(dt))
kinds = collections.Counter()
for ev in p.key_averages():
    name = ev.key
    if '_gemm_' in name: k = "matmuls (inductor's C++ templates)"
    elif name.startswith(('graph_', 'cpp_fused', 'kernel_cpp')) or 'cpp_fused' in name: k = 'inductor C++ kernels (norms, activations, adds)'
    elif 'mkldnn_convolution' in name or 'convolution' in name: k = 'convolutions (oneDNN)'
    elif 'mkl_linear' in name or 'linear' in name or 'addmm' in name or 'mm' in name: k = 'matmuls (library)'
    elif 'scaled_dot_product' in name or 'flash' in name or 'attention' in name: k = 'attention (SDPA)'
    else: k = None
    if k: kinds[k] += ev.self_cpu_time_total
top = sorted(p.key_averages(), key=lambda ev: -ev.self_cpu_time_total)[:15]
tot = sum(ev.self_cpu_time_total for ev in p.key_averages())
print(f"ours compiled {prec}, self CPU time per call {tot/20/1e3:.1f} ms (profiled, cpp_wrapper off)")
for k, v in kinds.most_common(): print(f"  {k:50} {v/20/1e3:6.2f} ms  {v/tot:5.1%}")
for ev in top: print(f"    {ev.key[:60]:60} {ev.self_cpu_time_total/20/1e3:6.2f} ms x{ev.count//20}")
# OpenVINO
import openvino as ov
from miniai.openvino_peer import OpenVINOUNet
m = OpenVINOUNet(c.unet, 20, (4, 8, 16), 77, 64, prec)
core = ov.Core()
class Plain(torch.nn.Module):
    def __init__(s, unet): super().__init__(); s.unet = unet
    def forward(s, a, b, d): return s.unet(a, b, encoder_hidden_states=d).sample
with torch.no_grad(): g = ov.convert_model(Plain(c.unet).eval(), example_input=(x, t, e), input=[list(x.shape), [], list(e.shape)])
comp = core.compile_model(g, 'CPU', {'INFERENCE_PRECISION_HINT': prec, 'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_NUM_THREADS': 2, 'PERF_COUNT': True})
req = comp.create_infer_request()
inp = [x.numpy(), np.asarray(500.0, dtype=np.float32), e.numpy()]
for _ in range(3): req.infer(inp)
agg = collections.Counter(); total = 0
for _ in range(20):
    req.infer(inp)
    for info in req.get_profiling_info():
        us = info.real_time.total_seconds() * 1e6
        agg[(info.node_type, info.exec_type)] += us; total += us
print(f"openvino {prec}, per call {total/20/1e3:.1f} ms (sum of node times)")
for (nt, et), v in agg.most_common(14): print(f"  {nt:28} {et:34} {v/20/1e3:6.2f} ms  {v/total:5.1%}")
