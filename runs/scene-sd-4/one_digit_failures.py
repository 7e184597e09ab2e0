"""Which of the bench's 100 one-digit prompts the shipped colour model fails, and how (the judge's reading).

Run from the repository root: `python runs/scene-sd-4/one_digit_failures.py`; its output is beside it, and the
figure of the failed scenes goes to `runs/scene-sd-4/one_digit_failures.png`."""
from PIL import Image
from miniai.loading import load_components
from miniai.evaluate import load_judge, read_scenes, scene_prompts, follows
from miniai.sampling import generate
from miniai.data import image_grid

c, judge = load_components('scene-sd'), load_judge()
texts = scene_prompts(100, 0)['one digit']   # the bench's own prompts, seed and settings
images = generate(c, texts, steps=30, guidance_scale=7.5, seed=0, progress=False)
failed = []
for i, (text, read) in enumerate(zip(texts, read_scenes(judge, images))):
    missed = [k for k, ok in follows(read, text).items() if not ok and k != 'binding']
    if missed:
        failed.append(i)
        print(f"{i:3} {text!r:40} read {read['slots']} on {read['background']}: wrong {', '.join(missed)}")
print(f"{len(failed)} of {len(texts)} failed")
grid = image_grid([images[i] for i in failed], rows=1)
grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST).save('runs/scene-sd-4/one_digit_failures.png')
