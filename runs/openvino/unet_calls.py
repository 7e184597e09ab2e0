import time, copy, statistics, types, torch, numpy as np, openvino as ov, sys
from miniai.loading import load_components
from miniai.perf import compiled_unet
from diffusers.models.attention_processor import AttnProcessor
torch.set_num_threads(2)
c = load_components()
x = torch.randn(20, 4, 8, 16); t = torch.tensor(500.0); e = torch.randn(20, 77, 64)
class Plain(torch.nn.Module):
    def __init__(self, unet): super().__init__(); self.unet = unet
    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states).sample
with torch.no_grad(): m = ov.convert_model(Plain(c.unet).eval(), example_input=(x, t, e), input=[list(x.shape), [], list(e.shape)])
prec = sys.argv[1] if len(sys.argv) > 1 else 'f32'
comp = ov.Core().compile_model(m, 'CPU', {'INFERENCE_PRECISION_HINT': prec, 'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_NUM_THREADS': 2})
req = comp.create_infer_request()
ov_call = lambda: req.infer([x.numpy(), np.asarray(t, dtype=np.float32), e.numpy()], share_inputs=True)
dt = torch.bfloat16 if prec == 'bf16' else torch.float32
u1 = copy.deepcopy(c.unet).to(dt)
comp1 = compiled_unet(u1)
u2 = copy.deepcopy(c.unet).to(dt); u2.set_attn_processor(AttnProcessor())
comp2 = compiled_unet(u2)
calls = {'ov': ov_call,
         'compiled (sdpa)': lambda: comp1(x.to(dt), t, encoder_hidden_states=e.to(dt)),
         'compiled (math attn)': lambda: comp2(x.to(dt), t, encoder_hidden_states=e.to(dt))}
with torch.inference_mode():
    ref = c.unet(x, t, encoder_hidden_states=e).sample
    for k, f in calls.items():
        t0 = time.time(); o = f(); o = torch.from_numpy(o[0]) if k == 'ov' else o.sample
        print(k, f'first {time.time()-t0:.1f}s, max diff {(o.float() - ref).abs().max():.2e}')
    times = {k: [] for k in calls}
    for r in range(30):
        for k, f in calls.items():
            t0 = time.perf_counter(); f(); times[k].append(time.perf_counter() - t0)
for k, v in times.items():
    print(f"{prec} {k:22} median {1e3*statistics.median(v):.2f} ms  / ov {statistics.median([a/b for a,b in zip(v, times['ov'])]):.3f}")
