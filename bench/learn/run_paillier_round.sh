#!/usr/bin/env bash
# Paillier round time against plain round time for the CNN (10 clients, IID, FedAvg, 2048-bit
# key, packed), both measured in this run with the same seed and data.
#   bench/learn/run_paillier_round.sh [CAIRN_BINARY] [OUT_DIR] [ROUNDS]
# The runs go one after the other (each gets the whole machine, so run it on a quiet one),
# each with 1 and with 2 libtorch threads: the Paillier run uses the other cores for its
# randomisers and its vector operations, the plain run may use them for training, and the
# ratio compares each configuration's faster setting.
set -euo pipefail
cairn=${1:-build/bin/cairn}
out=${2:-bench-learn-paillier}
rounds=${3:-2}
mkdir -p "$out"
common=(--dataset fashion-mnist --clients 10 --rounds "$rounds" --local-epochs 1 --batch-size 64 --lr 0.05
        --partition iid --model cnn --aggregate fedavg --seed 1 --contribution none)
for threads in 1 2; do
  echo "plain, $threads thread(s)" >&2
  "$cairn" learn simulate "${common[@]}" --threads "$threads" --secure none \
    --out "$out/plain-$threads" 2>"$out/plain-$threads.log" >/dev/null
  echo "paillier, $threads thread(s)" >&2
  "$cairn" learn simulate "${common[@]}" --threads "$threads" --secure paillier --paillier-bits 2048 \
    --out "$out/paillier-$threads" 2>"$out/paillier-$threads.log" >/dev/null
done
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
# A round: clients train and send, the aggregator combines, the provider decrypts.
# Evaluation on the test set is the same in both and not part of the protocol.
phases = ["train", "encrypt", "aggregate", "decrypt"]
def load(name):
    return json.loads((out / name / "result.json").read_text())
def per_round(r):
    return {k: sum(x["seconds"][k] for x in r["rounds"]) / len(r["rounds"]) for k in phases}
rows = {}
print("per round (s)          " + "  ".join(f"{k:>9}" for k in phases) + "      total")
for kind in ["plain", "paillier"]:
    for threads in [1, 2]:
        r = load(f"{kind}-{threads}")
        p = per_round(r)
        rows[(kind, threads)] = (sum(p.values()), r)
        print(f"{kind:<9} {threads} thread(s) " + "  ".join(f"{p[k]:9.2f}" for k in phases)
              + f"  {sum(p.values()):9.2f}")
best = {kind: min((rows[(kind, t)][0], t) for t in [1, 2]) for kind in ["plain", "paillier"]}
(tp, t_plain), (tq, t_paillier) = best["plain"], best["paillier"]
print(f"Paillier / plain round time: {tq / tp:.2f}x (goal <= 1.2x; each at its faster setting: "
      f"plain {t_plain} thread(s), paillier {t_paillier})")
plain, paillier = rows[("plain", t_plain)][1], rows[("paillier", t_paillier)][1]
print(f"upload per round: plain {plain['rounds'][0]['upload_bytes']/1e6:.1f} MB, "
      f"paillier {paillier['rounds'][0]['upload_bytes']/1e6:.1f} MB")
print(f"accuracy per round: plain {[x['accuracy'] for x in plain['rounds']]}, "
      f"paillier {[x['accuracy'] for x in paillier['rounds']]}")
PY
