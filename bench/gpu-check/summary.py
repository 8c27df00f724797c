"""Sums up a run.sh run: OUT/steps.tsv, OUT/gpu.csv and the xunit v2 XML OUT/tests.xml -> OUT/gpu-check.json."""
import json
import os
import sys
import xml.etree.ElementTree as ET

out, elapsed = sys.argv[1], int(sys.argv[2])


def read(name):
    path = os.path.join(out, name)
    return open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else None


steps = {}
for line in (read("steps.tsv") or "").splitlines():
    name, rc, ms = line.split("\t")
    # timeout(1) exits 124 (or 137 after the kill) when the step ran out of time.
    steps[name] = {"exit": int(rc), "ms": int(ms), "timed_out": rc in ("124", "137")}

gpu = (read("gpu.csv") or "").strip().splitlines()
summary = {"elapsed_s": elapsed, "device": gpu[0] if gpu else None, "steps": steps}


def is_gpu_test(name):
    # Real-device tests say so in their class or method name, or run a "gpu" backend theory row.
    n = name.lower()
    return "gpu" in n or "realcuda" in n


xml = os.path.join(out, "tests.xml")
if os.path.exists(xml):
    counts = {"all": {"pass": 0, "fail": 0, "skip": 0}, "gpu": {"pass": 0, "fail": 0, "skip": 0}}
    failures, skips, timings, outputs = [], {}, [], {}
    for t in ET.parse(xml).iter("test"):
        name, result = t.get("name"), t.get("result", "").lower()
        result = {"pass": "pass", "fail": "fail", "skip": "skip"}.get(result, "fail")
        for group in ("all", "gpu") if is_gpu_test(name) else ("all",):
            counts[group][result] += 1
        if result == "fail":
            msg = t.findtext("failure/message") or ""
            failures.append({"test": name, "message": msg[:1500]})
        elif result == "skip":
            reason = (t.findtext("reason") or "").split("\n")[0][:200]
            skips[reason] = skips.get(reason, 0) + 1
        timings.append((float(t.get("time", 0)), name))
        # Real-device tests print their measurements (times, errors at real size): keep them.
        output = (t.findtext("output") or "").strip()
        if output and is_gpu_test(name) and result != "skip":
            outputs[name] = output.splitlines()[:12]
    summary["tests"] = counts
    summary["failures"] = failures
    summary["skip_reasons"] = skips
    summary["gpu_test_output"] = outputs
    summary["slowest"] = [{"test": n, "s": round(s, 3)} for s, n in sorted(timings, reverse=True)[:10]]
else:
    summary["tests"] = None
    summary["note"] = "no tests.xml: the test step did not finish (see tests.log for the partial results)"

# The benches' figures (tables and ratio lines) travel in the JSON too, so one file tells the whole story.
summary["benches"] = {name: (read(name + ".log") or "").strip().splitlines()[-20:] for name in ("precision-bench", "train-bench", "native-abi", "native-abi-real")}

ok = summary["tests"] is not None and summary["tests"]["all"]["fail"] == 0 and summary["tests"]["gpu"]["skip"] == 0 \
    and summary["tests"]["gpu"]["pass"] > 0
summary["gpu_check_passed"] = ok
with open(os.path.join(out, "gpu-check.json"), "w") as f:
    json.dump(summary, f, indent=2)
print(json.dumps({k: summary.get(k) for k in ("device", "elapsed_s", "tests", "gpu_check_passed")}, indent=2))
sys.exit(0 if ok else 1)
