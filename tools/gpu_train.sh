#!/bin/bash
# Training on a lent GPU machine, in one call of its device tool (a call lasts at most 10 minutes, and a machine left
# idle for 30 s goes back with everything on it). Here: `make gpu-wheels`; then, as the call's command, with `.whl`
# carried:  RUN_S=560 bash tools/gpu_train.sh ARGS...   (ARGS: `python -m miniai.train_tiny`'s, without --out)
# There: install the wheels, train into /tmp/run in a session of its own, and RUN_S seconds after the start bring back
# to $OUT the finished model (model.tgz) or else the newest checkpoint (ckpt.tar.*, in 15 MB parts, since one file
# may hold 16 MB), with the console (train_console.txt). Here again, a checkpoint resumes with the same ARGS:
# `cat ckpt.tar.* | tar xf - -C DIR`, then `python -m miniai.train_tiny --out DIR/run ARGS...` (fit's checkpoints
# made on a GPU resume on a CPU).
T0=$(date +%s); RUN=/tmp/run
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
# no network there: fail fast, never hang
echo 'import socket; socket.setdefaulttimeout(10)' > /tmp/site/sitecustomize.py
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
setsid nohup python3 -m miniai.train_tiny --out $RUN "$@" > /tmp/train.log 2>&1 < /dev/null &
PID=$!
while [ $(( $(date +%s) - T0 )) -lt ${RUN_S:-560} ] && kill -0 $PID 2>/dev/null; do sleep 3; done
kill -0 $PID 2>/dev/null && echo "still training at $(( $(date +%s) - T0 )) s" || echo "training ended"
# the console without most progress-bar updates (one line per 100 steps)
tr '\r' '\n' < /tmp/train.log | awk '!/it\/s|s\/it/ || /[0-9]00\/[0-9]+ \[/' | uniq > $OUT/train_console.txt
tail -n 20 $OUT/train_console.txt
if [ -f $RUN/training_log.json ]; then
  tar czf $OUT/model.tgz -C /tmp run && echo "model: $(du -h $OUT/model.tgz)"
else
  # the run's folder with the newest checkpoint of each stage (a finished VAE's, so that a resumed run skips it)
  cd /tmp && find run -name '*checkpoint-*' -prune -o -type f -print > /tmp/list
  for stage in run/checkpoints/*/; do
    last=$(ls -d ${stage}checkpoint-* 2>/dev/null | sort | tail -1)
    [ -n "$last" ] && find $last -type f >> /tmp/list && echo "checkpoint: $last"
  done
  grep -q '/checkpoint-' /tmp/list || { echo "no checkpoint yet"; exit 0; }
  tar cf - -T /tmp/list | split -b 15000000 - $OUT/ckpt.tar.
fi
