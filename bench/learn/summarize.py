#!/usr/bin/env python3
"""Summarises bench/learn/run_targets.sh output: targets, measured, pass/fail."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-learn-out")


def last_json(name):
    path = out / name / "result.json"
    return json.loads(path.read_text()) if path.exists() else None


rows = []
iid = last_json("iid")
dirichlet = last_json("dirichlet")
poisoned = last_json("poisoned")
poisoned_fedavg = last_json("poisoned-fedavg")  # optional contrast run
central = last_json("centralised")
if iid:
    rows.append(("IID FedAvg", iid["final_accuracy"], ">= 0.890", iid["final_accuracy"] >= 0.890))
    if central:
        c = central["final_accuracy"]
        rows.append(("centralised, same sample budget", c, "baseline", None))
        # DESIGN.md: federation costs at most a point against pooling the data.
        rows.append(("IID FedAvg - centralised", iid["final_accuracy"] - c, ">= -0.01 (DESIGN.md)", iid["final_accuracy"] - c >= -0.01))
    rounds = len(iid["rounds"])
    rows.append(("IID seconds per round (train)", iid["seconds"]["train"] / rounds, "", None))
if dirichlet:
    rows.append(("Dirichlet(0.5) FedAvg", dirichlet["final_accuracy"], ">= 0.884", dirichlet["final_accuracy"] >= 0.884))
if poisoned and iid:
    gap = iid["final_accuracy"] - poisoned["final_accuracy"]
    rows.append(("2/10 poisoned, trimmed:0.2", poisoned["final_accuracy"], "within 0.02 of clean", gap <= 0.02))
if poisoned_fedavg:
    rows.append(("2/10 poisoned, plain FedAvg", poisoned_fedavg["final_accuracy"], "(contrast)", None))
for name, value, target, ok in rows:
    verdict = "" if ok is None else ("PASS" if ok else "FAIL")
    print(f"{name:<34} {value:8.4f}  {target:<26} {verdict}")
