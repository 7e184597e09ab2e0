"""The colour model's UNet (batch 20 = 10 guided images, 8x16 latents, float32), compiled with freezing, with its
attention as diffusers runs it (AttnProcessor2_0: torch's fused scaled_dot_product_attention) and as plain matrix
products and a softmax (AttnProcessor, on a copy): does inductor do better with the plain form? Timed in alternation."""
import copy, time, statistics as st, torch
from diffusers.models.attention_processor import AttnProcessor
from miniai.loading import load_components
from miniai.perf import FrozenCompiled

c = load_components()
unet = c.unet.eval()
plain = copy.deepcopy(unet)
plain.set_attn_processor(AttnProcessor())
torch.manual_seed(0)
x, t = torch.randn(20, unet.config.in_channels, 8, 16), torch.tensor(500)
emb = torch.randn(20, c.tokenizer.model_max_length, c.text_encoder.config.hidden_size)
call = lambda f: f(x, t, encoder_hidden_states=emb).sample
with torch.inference_mode():
    eager = call(unet)
    fused, matmuls = FrozenCompiled(unet), FrozenCompiled(plain)
    for name, f in (('fused', fused), ('matmuls', matmuls)):
        t0 = time.time(); out = call(f)
        print(f'{name}: compiled in {time.time() - t0:.1f} s, max |compiled - eager| {(out - eager).abs().max():.1e}')
    times = {'fused': [], 'matmuls': [], 'eager': []}
    for _ in range(15):
        for name, f in (('fused', fused), ('matmuls', matmuls), ('eager', unet)):
            t0 = time.perf_counter(); call(f); times[name].append(time.perf_counter() - t0)
    for name, v in times.items(): print(f'{name}: {1000 * st.median(v):.1f} ms a call (median of 15)')
    print(f"matmuls / fused, median of pairs: {st.median([m / f for m, f in zip(times['matmuls'], times['fused'])]):.3f}")
    print(f"fused / eager, median of pairs: {st.median([f / e for f, e in zip(times['fused'], times['eager'])]):.3f}")
