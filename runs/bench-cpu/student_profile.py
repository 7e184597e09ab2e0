"""Where a batch of ten images from the 4-step student goes, in bfloat16 with the UNet and decoder compiled (as
`python -m miniai.bench distill --compile` times it): text encoding, the loop, the decoder, the PIL images.
Run from the repository root: python runs/bench-cpu/student_profile.py"""
import statistics, time, torch
from miniai.loading import load_components
from miniai.sampling import generate, generate_latents, decode, encode_prompts
from miniai.perf import compiled_unet
from miniai.distill import digit_prompt
from miniai.perf import cpu_name

def median_ms(f, n=20):
    "Median time of `f()` over `n` calls, in milliseconds"
    times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)

c = load_components('digits-4step', dtype=torch.bfloat16)
prompts = [digit_prompt(7)] * 10
kw = dict(steps=4, guidance_scale=7.5, seed=0, progress=False, compile=True)
latents = generate_latents(c, prompts, **kw)
decode(c, latents, compile=True)   # compiles the decoder
unet, emb = compiled_unet(c.unet), encode_prompts(c, prompts, uncond=False)[1]
w = torch.zeros(10, c.unet.config.time_cond_proj_dim, dtype=c.dtype)
with torch.inference_mode():
    parts = {'whole (generate)': median_ms(lambda: generate(c, prompts, **kw)),
             'text encoding': median_ms(lambda: encode_prompts(c, prompts, uncond=False)),
             'the loop (generate_latents, 4 steps)': median_ms(lambda: generate_latents(c, prompts, **kw)),
             'one UNet call': median_ms(lambda: unet(latents, torch.tensor(500), encoder_hidden_states=emb,
                                                     timestep_cond=w)),
             'decode (compiled decoder and PIL images)': median_ms(lambda: decode(c, latents, compile=True))}
print(f"CPU: {cpu_name()}, {torch.get_num_threads()} threads; batch of 10, medians of 20 calls")
for k, v in parts.items(): print(f"{k:<42} {v:6.1f} ms")
