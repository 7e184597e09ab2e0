"""DiffEdit on colour scenes with the shipped `scene-sd`: where its mask falls, what changes outside it, and how much of
that the VAE's round trip alone changes. From the repository root:
`python runs/scene-sd-v2/diffedit_outside_mask.py > runs/scene-sd-v2/diffedit_outside_mask.txt`"""
import os
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from miniai.loading import load_components
from miniai.scenes import scenes, SIDE
from miniai.clip import complete_caption
from miniai.diffedit import diffedit, upsample_mask, DIFFEDIT
from miniai.sampling import encode_image, decode
from miniai.evaluate import load_judge, read_scenes

def pixels(im): return np.asarray(im, dtype=np.float32) / 255

c, judge = load_components('scene-sd'), load_judge()
print(f"{DIFFEDIT}; validation scenes of seed 5 with two digits; the right digit d becomes (d + 3) mod 10")
for s in [s for s in scenes(40, seed=5, split='valid') if all(s.slots)][:6]:
    (d0, i0), (d1, i1) = s.slots
    reference = complete_caption(s.slots, s.background)
    query = complete_caption(((d0, i0), ((d1 + 3) % 10, i1)), s.background)
    edited, mask = diffedit(c, s.image, reference, query, seed=0, return_mask=True, progress=False)
    inside = upsample_mask(mask, s.image.size).bool().numpy()
    before, after, round_trip = pixels(s.image), pixels(edited), pixels(decode(c, encode_image(c, s.image))[0])
    change = lambda a, b: float(np.abs(a - b).mean(-1)[~inside].mean())
    read = read_scenes(judge, [edited])[0]
    print(f"{reference!r} -> right {(d1 + 3) % 10}: mask share left {inside[:, :SIDE].mean():.2f} right "
          f"{inside[:, SIDE:].mean():.2f}; outside the mask, mean |change| edit {change(before, after):.4f}, VAE round "
          f"trip {change(before, round_trip):.4f}; judge reads {read['slots']}, {read['background']}")
