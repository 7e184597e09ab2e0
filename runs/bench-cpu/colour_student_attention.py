"""The colour model's 4-step student in bfloat16 (batch 10, 8x16 latents), its UNet compiled with freezing as
`compiled_unet` does it: with diffusers' attention (torch's fused scaled_dot_product_attention) and, on a copy, as
plain matrix products and a softmax (AttnProcessor); timed in alternation; then the profile of one compiled call.
Run from the repository root: python runs/bench-cpu/colour_student_attention.py"""
import copy, time, statistics as st, torch
from diffusers.models.attention_processor import AttnProcessor
from miniai.loading import load_components
from miniai.perf import compiled_unet

c = load_components('digits-4step', dtype=torch.bfloat16)
unet = c.unet.eval()
plain = copy.deepcopy(unet)
plain.set_attn_processor(AttnProcessor())
torch.manual_seed(0)
bf = dict(dtype=torch.bfloat16)
x, t = torch.randn(10, unet.config.in_channels, 8, 16, **bf), torch.tensor(500)
emb = torch.randn(10, c.tokenizer.model_max_length, c.text_encoder.config.hidden_size, **bf)
w = torch.zeros(10, unet.config.time_cond_proj_dim, **bf)
call = lambda f: f(x, t, encoder_hidden_states=emb, timestep_cond=w).sample
with torch.inference_mode():
    fused, matmuls = compiled_unet(unet), compiled_unet(plain)
    eager = call(unet).float()
    for name, f in (('fused', fused), ('matmuls', matmuls)):
        print(f'{name}: max |compiled - eager| {(call(f).float() - eager).abs().max():.3f}')
    times = {'fused': [], 'matmuls': []}
    for _ in range(20):
        for name, f in (('fused', fused), ('matmuls', matmuls)):
            t0 = time.perf_counter(); call(f); times[name].append(time.perf_counter() - t0)
    for name, v in times.items(): print(f'{name}: {1000 * st.median(v):.1f} ms a call (median of 20)')
    print(f"matmuls / fused, median of pairs: {st.median([m / f for m, f in zip(times['matmuls'], times['fused'])]):.3f}")
    from torch.profiler import profile
    with profile() as prof:
        for _ in range(5): call(fused)
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=4))
