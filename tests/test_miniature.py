"The miniature model's parts (04a_miniature): the byte tokenizer, configs that fit together, captions."
import torch
from miniai.miniature import byte_tokenizer, tiny_configs, tiny_parts

def test_byte_tokenizer_reads_any_text():
    "Every byte has a token, so no text is unknown; merges make words single tokens; 77 positions, CLIP's specials"
    tok = byte_tokenizer()
    assert len(tok) == 2 * 256 + 2 and tok.model_max_length == 77
    ids = tok('héllo ✓').input_ids
    assert ids[0] == tok.convert_tokens_to_ids('<|startoftext|>') and ids[-1] == tok.convert_tokens_to_ids('<|endoftext|>')
    assert tok.unk_token_id not in ids[1:-1] and tok.decode(ids, skip_special_tokens=True).strip() == 'héllo ✓'
    merged = byte_tokenizer(merges=[('e', 'n</w>'), ('s', 'e'), ('se', 'v'), ('sev', 'en</w>')])
    assert merged.tokenize('seven') == ['seven</w>'] and len(merged) == len(tok) + 4

def test_configs_fit_together():
    "The UNet reads the text encoder's width and the VAE's latents; the VAE's images are the UNet's latents scaled up"
    cfg = tiny_configs(vocab_size=514, dim=48, vae_channels=(32, 64, 64), latent_size=8)
    assert cfg['unet']['cross_attention_dim'] == cfg['text_encoder']['hidden_size'] == 48
    assert cfg['unet']['in_channels'] == cfg['vae']['latent_channels']
    assert cfg['vae']['sample_size'] == 8 * 2 ** 2 and cfg['text_encoder']['eos_token_id'] == 513

def test_tiny_parts_are_seeded_and_in_eval_mode():
    a, b = tiny_parts(seed=1), tiny_parts(seed=1)
    for name in ('text_encoder', 'vae', 'unet'):
        assert not a[name].training
        assert all(torch.equal(p, q) for p, q in zip(a[name].parameters(), b[name].parameters())), name
    c = tiny_parts(seed=2)
    assert not torch.equal(next(a['unet'].parameters()), next(c['unet'].parameters()))

def test_captions_and_prompts():
    from miniai.miniature import captions, random_caption, digit_prompt
    assert 'a handwritten digit seven' in captions(7) and 'the number 7' in captions(7)
    assert digit_prompt(7) == 'a handwritten digit seven'
    g = torch.Generator().manual_seed(0)
    caps = [random_caption(3, g, p_empty=0.5) for _ in range(200)]
    assert 60 < caps.count('') < 140 and all(c == '' or c in captions(3) for c in caps)
    assert len(set(caps)) > 4
    again = [random_caption(3, torch.Generator().manual_seed(0), p_empty=0.5) for _ in range(3)]
    assert len(set(again)) == 1                                    # the generator alone decides
