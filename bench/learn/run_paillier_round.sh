#!/usr/bin/env bash
# Paillier round time against plain round time for the CNN (10 clients, IID, FedAvg, 2048-bit
# key, packed), both measured in this run, side by side, with the same seed, data and threads.
#   bench/learn/run_paillier_round.sh [CAIRN_BINARY] [OUT_DIR] [ROUNDS]
set -euo pipefail
cairn=${1:-build/bin/cairn}
out=${2:-bench-learn-paillier}
rounds=${3:-2}
mkdir -p "$out"
common=(--dataset fashion-mnist --clients 10 --rounds "$rounds" --local-epochs 1 --batch-size 64 --lr 0.01
        --partition iid --model cnn --aggregate fedavg --seed 1 --threads 1 --contribution none)
# Side by side, so both see the same machine load.
"$cairn" learn simulate "${common[@]}" --secure none --out "$out/plain" 2>"$out/plain.log" >/dev/null &
"$cairn" learn simulate "${common[@]}" --secure paillier --paillier-bits 2048 --out "$out/paillier" 2>"$out/paillier.log" >/dev/null &
wait
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
plain = json.loads((out / "plain" / "result.json").read_text())
paillier = json.loads((out / "paillier" / "result.json").read_text())
def per_round(r, key):
    return sum(x["seconds"][key] for x in r["rounds"]) / len(r["rounds"])
# A round: clients train and send, the aggregator combines, the provider decrypts.
# Evaluation on the test set is the same in both and not part of the protocol.
phases = ["train", "encrypt", "aggregate", "decrypt"]
p = {k: per_round(plain, k) for k in phases}
q = {k: per_round(paillier, k) for k in phases}
tp, tq = sum(p.values()), sum(q.values())
print("per round (s)      " + "  ".join(f"{k:>9}" for k in phases) + "      total")
print("plain              " + "  ".join(f"{p[k]:9.2f}" for k in phases) + f"  {tp:9.2f}")
print("paillier (packed)  " + "  ".join(f"{q[k]:9.2f}" for k in phases) + f"  {tq:9.2f}")
print(f"Paillier / plain round time: {tq / tp:.2f}x (goal <= 1.2x)")
print(f"upload per round: plain {plain['rounds'][0]['upload_bytes']/1e6:.1f} MB, paillier {paillier['rounds'][0]['upload_bytes']/1e6:.1f} MB")
print(f"final accuracy: plain {plain['final_accuracy']:.4f}, paillier {paillier['final_accuracy']:.4f}")
PY
