"""A first sweep of DiffEdit's settings for one-slot edits of scenes: 16 validation scenes drawn with seed 1 (not
the 48 of `python -m miniai.bench scene-edit`, drawn with seed 0). From the repository root:
python runs/bench-default/scene_edit_sweep.py > runs/bench-default/scene_edit_sweep.txt"""
import os; os.environ['HF_HUB_OFFLINE']='1'
from miniai.loading import load_components
from miniai.evaluate import load_judge, scene_diffedit_quality
c, j = load_components(), load_judge()
for s, t in [(0.7, 0.3), (0.7, 0.2), (0.7, 0.1), (0.7, 0.05), (0.8, 0.1), (0.6, 0.1)]:
    scene_diffedit_quality(c, j, n_edits=16, seed=1, strength=s, threshold=t)
