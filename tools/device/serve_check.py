#!/usr/bin/env python3
"""Drives a running `vcp-native serve` the way an inspection line would and checks it against `infer` (standard library only).

    python3 tools/device/serve_check.py --port P --images DIR --reference INFER_OUT [--atol 1e-4] [--json-out FILE]

Waits for /readyz, then sends every PNG of DIR at once from several threads (so the server batches them), half through
the plain API (POST /v1/detect) and half through the Open Inference Protocol (POST /v2/models/vcp-native/infer, base64
BYTES input), and compares each score with INFER_OUT/results.json (the same images scored by `infer`); then reads
/metrics (prometheus-net) and checks it counted every image and each route's answers. Exit 1 on any non-200 answer, a
missing score, a difference above --atol or a wrong count.
"""
import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def request(url, body=None, headers=None, timeout=120):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:  # the server's one-line reason is in the body
        return e.code, e.read()


def wait_ready(base, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if request(base + "/readyz", timeout=5)[0] == 200:
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    return False


def score(base, path, protocol):
    data = open(path, "rb").read()
    if protocol == "v1":
        status, body = request(base + "/v1/detect", data, {"Content-Type": "application/octet-stream"})
        return (status, json.loads(body)["score"]) if status == 200 else (status, body.decode(errors="replace")[:300])
    payload = {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(data).decode()]}]}
    status, body = request(base + "/v2/models/vcp-native/infer", json.dumps(payload).encode(), {"Content-Type": "application/json"})
    if status != 200:
        return status, body.decode(errors="replace")[:300]
    outputs = {o["name"]: o for o in json.loads(body)["outputs"]}
    return status, outputs["score"]["data"][0]


def metric_values(text):
    """Prometheus text format: 'name{labels} value' lines (comments skipped) as {"name{labels}": number}."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            number = float(value)
            values[key] = int(number) if number.is_integer() else number
    return values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--ready-seconds", type=float, default=120)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    base = f"http://127.0.0.1:{a.port}"
    if not wait_ready(base, a.ready_seconds):
        print(f"serve: /readyz not 200 within {a.ready_seconds:.0f} s", file=sys.stderr)
        return 1
    results = json.load(open(os.path.join(a.reference, "results.json")))
    records = results["results"] if isinstance(results, dict) else results  # infer: header fields + "results"
    expected = {os.path.basename(r["input"]): r["score"] for r in records}
    files = sorted(f for f in os.listdir(a.images) if f.endswith(".png"))
    jobs = [(f, "v1" if i % 2 == 0 else "v2") for i, f in enumerate(files)]
    started = time.time()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        answers = list(pool.map(lambda job: (job, score(base, os.path.join(a.images, job[0]), job[1])), jobs))
    seconds = time.time() - started
    problems, worst = [], 0.0
    for (name, protocol), (status, value) in answers:
        if status != 200 or value is None or name not in expected:
            problems.append(f"{name} ({protocol}): status {status}: {value}")
            continue
        diff = abs(value - expected[name])
        worst = max(worst, diff)
        if diff > a.atol:
            problems.append(f"{name} ({protocol}): score {value} vs infer {expected[name]} (diff {diff:.3g})")
    # /metrics (prometheus-net text format) must count what was just sent: every image computed once, each route's 200s.
    status, text = request(base + "/metrics")
    metrics = metric_values(text.decode() if status == 200 else "")
    v1 = sum(1 for (_, p), (st, _) in answers if p == "v1" and st == 200)
    v2 = sum(1 for (_, p), (st, _) in answers if p == "v2" and st == 200)
    counted = {
        "vcp_serve_images_computed_total": len(answers),
        'vcp_serve_requests_total{route="/v1/detect",status="200"}': v1,
        'vcp_serve_requests_total{route="/v2/models/{name}/infer",status="200"}': v2,
    }
    for name, want in counted.items():
        if metrics.get(name) != want:
            problems.append(f"/metrics: {name} is {metrics.get(name)}, expected {want} (status {status})")
    batches = metrics.get("vcp_serve_batch_size_count")
    print(f"serve: {len(answers)} concurrent requests (v1 and v2) in {seconds:.2f} s in {batches} batches; max |score diff| vs infer {worst:.3g} (atol {a.atol})")
    for p in problems:
        print("  " + p)
    if a.json_out:
        json.dump({"requests": len(answers), "seconds": seconds, "batches": batches, "max_score_diff": worst, "problems": problems}, open(a.json_out, "w"))
    return 1 if problems or not answers else 0


if __name__ == "__main__":
    sys.exit(main())
