"""Builds report.md and report.json from the steps of tools/device/check.sh and prints the headline table last.

Called by check.sh (python3 standard library only, so the rehearsal runs wherever python3 does):
    python3 tools/device/report.py --mode full --steps STEPS.jsonl --logs LOGDIR --out OUTDIR --budget S --elapsed S
Exit status 1 when a goal that the run measured was missed (a goal with no measurement is reported as such, not failed).
"""
import argparse
import datetime
import glob
import json
import os
import re
import sys


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def fmt(v, digits=3):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e5):
            return f"{v:.2e}"
        return f"{v:.{digits}g}"
    return str(v)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def images_per_s(j, batch):
    """Images per second of a bench / peer JSON: its own field if present, else batch / total seconds per batch."""
    if not j:
        return None
    for key in ("images_per_s", "images_per_second"):
        if isinstance(j.get(key), (int, float)):
            return float(j[key])
    total = (j.get("stages_s_per_batch") or {}).get("total")
    return batch / total if total else None


def peak_device_mb(j):
    """Peak device memory in MiB from a bench / peer JSON, wherever the writer put it."""
    for holder in (j, j.get("device") if isinstance(j.get("device"), dict) else {}, j.get("gpu") if isinstance(j.get("gpu"), dict) else {}):
        for key in ("peak_device_mb", "peak_device_memory_mb", "peak_device_mib", "peak_device_memory_mib"):
            if isinstance(holder.get(key), (int, float)):
                return holder[key]
    return None


def ptxas_registers(text):
    """[(function, registers, spill_store_bytes, spill_load_bytes, shared_bytes)] from ptxas -v output."""
    rows, current, spills = [], None, (0, 0)
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line) or re.search(r"Function properties for (\S+)", line)
        if m:
            current = m.group(1)
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            spills = (int(m.group(1)), int(m.group(2)))
        m = re.search(r"Used (\d+) registers(?:.*?(\d+) bytes smem)?", line)
        if m and current:
            rows.append((current, int(m.group(1)), spills[0], spills[1], int(m.group(2) or 0)))
            spills = (0, 0)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--steps", required=True)
    ap.add_argument("--logs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=int, default=0)
    ap.add_argument("--elapsed", type=int, default=0)
    a = ap.parse_args()

    steps = [json.loads(l) for l in read(a.steps).splitlines() if l.strip()]
    logs = a.logs
    J = lambda name: load_json(os.path.join(logs, name + ".json"))
    L = lambda name: read(os.path.join(logs, name + ".log"))
    env = L("environment")
    gpu = next((l.split(",")[0] for l in env.splitlines()[1:] if "," in l and not l.startswith("name")), None) \
        if "name, driver_version" in env else None
    if a.mode == "rehearse":
        gpu = "PTX emulator (rehearsal)"
    batches = (1, 2) if a.mode == "rehearse" else (1, 32)

    goals = []  # (goal, measured, verdict)

    def goal(text, measured, ok):
        verdict = "not measured" if ok is None else ("met" if ok else "MISSED")
        goals.append((text, measured, verdict))

    # Kernel verification.
    counts = []
    for name, label in (("verify", "cuBLAS matmuls"), ("verify-kernels", "our GEMM kernels")):
        m = re.search(r"(\d+) passed, (\d+) failed", L(name))
        if m:
            counts.append((label, int(m.group(1)), int(m.group(2))))
    goal("every kernel verification case passes",
         "; ".join(f"{p} passed, {f} failed ({label})" for label, p, f in counts) if counts else "no result",
         all(f == 0 for _, _, f in counts) if counts else None)

    # Golden parity.
    parity = {p: J(f"parity-{p}") for p in ("fp32", "bf16")}
    for p, j in parity.items():
        if j:
            rows = j["rows"]
            failed = [r for r in rows if not r["passed"]]
            goal(f"golden parity {p} (tiny VCP/ViP2 inference + training step vs PyTorch and CPU)",
                 f"{len(rows) - len(failed)}/{len(rows)} within bounds", not failed)
        else:
            goal(f"golden parity {p}", "no result", None)
    if parity["fp32"]:
        maps = [r for r in parity["fp32"]["rows"] if r["quantity"] in ("final map", "score")]
        worst = max(r["vs_cpu"] for r in maps)
        goal("fp32 GPU maps within 1e-4 of the CPU", f"max {fmt(worst)}", worst <= 1e-4)

    inf = J("infer")
    goal("infer on the device (async uploads, batches of 4) matches the CPU within 1e-4",
         f"{inf['images']} images: max |map diff| {fmt(inf['max_abs_map_diff'])}, max |score diff| {fmt(inf['max_abs_score_diff'])}"
         if inf else "no result", inf["passed"] if inf else None)
    srv = J("serve")
    goal("serve on the device (v1 + Open Inference Protocol, concurrent, batched) matches infer within 1e-4",
         f"{srv['requests']} requests in {srv['seconds']:.2f} s: max |score diff| {fmt(srv['max_score_diff'])}"
         if srv else "no result", (not srv["problems"]) if srv else None)

    # Whole-pipeline speed, ours vs the authors' PyTorch (autocast fp16, as their test.py runs) at each batch size.
    speed_rows = []
    for b in batches:
        ours = {p: images_per_s(J(f"bench-{p}-b{b}"), b) for p in ("cublas", "kernel", "bf16", "bf16k")}
        peer = {p: images_per_s(J(f"peer-{p}-b{b}"), b) for p in ("fp32", "fp16")}
        speed_rows.append((b, ours["cublas"], ours["kernel"], ours["bf16"], ours["bf16k"], peer["fp32"], peer["fp16"]))
    b_last = batches[-1]
    _, c, k, bf, bfk, p32, p16 = speed_rows[-1]
    best = max([v for v in (c, k, bf, bfk) if v is not None], default=None)
    if best is not None and p16:
        goal(f"VCP-CLIP 518 px images/s >= PyTorch autocast at batch {b_last} (stretch 2x)",
             f"{fmt(best)} vs {fmt(p16)} ({fmt(best / p16)}x; see the model-only table)", best >= p16)
    else:
        goal(f"VCP-CLIP 518 px images/s >= PyTorch autocast at batch {b_last}",
             f"ours {fmt(best)}, PyTorch {fmt(p16)}", None)

    # Kernel level: gemm_tc vs cuBLAS bf16, attention_tc vs SDPA (ours from kernels bench, torch's from torch_kernels).
    kb, tk = J("kernels-bench"), J("torch-kernels")
    kernel_rows = []
    torch_by = {}
    for r in (tk or {}).get("rows", []):
        torch_by[(r.get("case"), r.get("impl"), r.get("batch"))] = r
    gemm_ratios, attn_ratios = [], []
    for r in (kb or {}).get("rows", []):
        case, batch = r.get("case"), r.get("batch")
        kernel = r.get("kernel", "")
        is_tc = "bf16" in kernel                     # bf16 arithmetic: compared with torch's bf16 peers
        ours_tc = kernel.startswith(("gemm_tc", "attention_forward_tc"))   # our tensor-core kernels: the goals
        tref = torch_by.get((case, "sdpa_bf16" if case == "attention" else "cublas_bf16", batch)) if is_tc else \
            torch_by.get((case, "sdpa_fp32" if case == "attention" else "cublas_fp32", batch))
        torch_tf = tref.get("tflops") if tref else None
        kernel_rows.append((case, kernel, batch, r.get("ms"), r.get("tflops"), r.get("peer"), r.get("peer_tflops"),
                            r.get("ratio"), torch_tf, (r["tflops"] / torch_tf) if torch_tf and r.get("tflops") else None,
                            r.get("max_rel_diff")))
        if ours_tc and case != "attention":
            ref = r.get("peer_tflops") or torch_tf
            if ref and r.get("tflops"):
                gemm_ratios.append(r["tflops"] / ref)
        if ours_tc and case == "attention" and torch_tf and r.get("tflops"):
            attn_ratios.append(r["tflops"] / torch_tf)
    if a.mode == "rehearse":
        goal("gemm_tc >= 50% of cuBLAS bf16 on ViT-L shapes", "emulator times are not GPU times", None)
        goal("attention_tc >= 50% of torch SDPA on ViT-L shapes", "emulator times are not GPU times", None)
    else:
        goal("gemm_tc >= 50% of cuBLAS bf16 on ViT-L shapes (worst shape)",
             f"{fmt(min(gemm_ratios))}" if gemm_ratios else "no result", (min(gemm_ratios) >= 0.5) if gemm_ratios else None)
        goal("attention_tc >= 50% of torch SDPA (worst batch)",
             f"{fmt(min(attn_ratios))}" if attn_ratios else "no result", (min(attn_ratios) >= 0.5) if attn_ratios else None)

    # Registers and spills from ptxas.
    regs = ptxas_registers(L("ptxas"))
    spilling = [r for r in regs if r[2] or r[3]]
    goal("no kernel spills (ptxas -arch=sm_90 on the shipped PTX)",
         f"{len(spilling)} of {len(regs)} spill" if regs else "no result", (not spilling) if regs else None)

    # report.md
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = next((l.split("commit:")[1].strip() for l in env.splitlines() if "commit:" in l), "unknown")
    md = [f"# vcp-native GPU check: {gpu or 'unknown GPU'}", "",
          f"{when}; mode `{a.mode}`; commit `{commit}`; {a.elapsed} s of a {a.budget} s budget.", ""]
    if a.mode == "rehearse":
        md += ["Rehearsal on the PTX emulator with tiny shapes: it proves the script and the binary's code paths, not "
               "GPU speed or real-hardware correctness.", ""]
    md += ["## Headline", "", table(["goal", "measured", "verdict"], goals), ""]
    md += ["## Steps", "", table(["step", "status", "seconds", "note"],
                                 [(s["step"], s["status"], s.get("seconds"), s.get("note", "")) for s in steps]), ""]
    md += ["## Environment", "", "```", env.strip()[-6000:], "```", ""]
    for p, j in parity.items():
        if j:
            md += [f"## Golden parity, {p} ({j.get('device')})", "",
                   table(["case", "quantity", "measure", "vs PyTorch", "vs CPU", "bound", "passed"],
                         [(r["case"], r["quantity"], r["measure"], r["vs_reference"], r["vs_cpu"], r["bound"], r["passed"])
                          for r in j["rows"]]), ""]
    md += ["## Whole pipeline: VCP-CLIP, ViT-L/14@336px random weights, 518 px" if a.mode != "rehearse"
           else "## Whole pipeline (tiny model, 28 px, emulator)", "",
           "images/s (higher is better); PyTorch = the authors' method (tools/peer/vcp_pytorch_peer.py) on the same GPU.", "",
           table(["batch", "ours fp32 cuBLAS", "ours fp32 gemm kernel", "ours bf16 cuBLAS", "ours bf16 gemm_tc",
                  "PyTorch fp32", "PyTorch autocast fp16"], speed_rows), ""]
    model_rows = []
    for b in batches:
        row = [b]
        for name in [f"bench-{p}-b{b}" for p in ("cublas", "kernel", "bf16", "bf16k")] + [f"peer-{p}-b{b}" for p in ("fp32", "fp16")]:
            s_ = (J(name) or {}).get("stages_s_per_batch") or {}
            model = (s_.get("total") or 0) - (s_.get("decode_preprocess") or 0)
            row.append(b / model if model > 0 else None)
        model_rows.append(tuple(row))
    md += ["Without decoding and preprocessing (images/s of upload + model + post-processing): our decode runs on all "
           "cores but one on a GPU backend (as `infer` does), the peer's on one thread as in a plain loop.", "",
           table(["batch", "ours fp32 cuBLAS", "ours fp32 gemm kernel", "ours bf16 cuBLAS", "ours bf16 gemm_tc",
                  "PyTorch fp32", "PyTorch autocast fp16"], model_rows), ""]
    stage_rows = []
    for name in sorted(glob.glob(os.path.join(logs, "bench-*.json")) + glob.glob(os.path.join(logs, "peer-*.json"))):
        j = load_json(name)
        if j and "stages_s_per_batch" in j:
            s = j["stages_s_per_batch"]
            mem = peak_device_mb(j)
            stage_rows.append((os.path.basename(name)[:-5], s.get("decode_preprocess"), s.get("image_tower"),
                               s.get("text_heads"), s.get("postprocess"), s.get("total"), mem))
    if stage_rows:
        md += ["Seconds per batch by stage:", "",
               table(["run", "decode+preprocess", "image tower", "text+heads", "post", "total", "peak device MiB"], stage_rows), ""]
    prof = J("profile-bf16")
    if prof and prof.get("block_phases_s_per_batch"):
        phases = prof["block_phases_s_per_batch"]
        total = sum(phases.values()) or 1
        md += [f"Transformer-block phases, bf16, batch {prof.get('batch_size')} (both towers, seconds per batch, each phase "
               "waited for on the device, so slightly slower than the plain run):", "",
               table(["phase", "s/batch", "share"], [(k, v, f"{100 * v / total:.0f} %") for k, v in phases.items()]), ""]
    if kernel_rows:
        md += ["## Kernels (CUDA events)", "",
               table(["case", "ours", "batch", "ms", "TFLOP/s", "peer (ours)", "peer TFLOP/s", "ours/peer", "torch TFLOP/s",
                      "ours/torch", "max rel diff vs fp32"], kernel_rows), ""]
    estimates = {e["kernel"]: e for e in (J("registers") or [])}
    if regs or estimates:
        names = [r[0] for r in regs] or sorted(estimates)
        by_name = {r[0]: r for r in regs}
        md += ["## Registers: ptxas -arch=sm_90 -v on the shipped PTX, beside the emulator's estimate", "",
               "estimate = most 32-bit values live at once by the emulator's liveness analysis + 8 (its occupancy model).", "",
               table(["kernel", "ptxas registers", "estimate", "live values", "spill stores (B)", "spill loads (B)", "shared (B)"],
                     [(n, by_name.get(n, (0, None))[1], estimates.get(n, {}).get("estimate"), estimates.get(n, {}).get("live_values"),
                       *(by_name[n][2:] if n in by_name else (None, None, None))) for n in names]), ""]
    ncu = L("ncu")
    if ncu.strip() and any(s["step"] == "ncu" and s["status"] == "pass" for s in steps):
        keep = [l for l in ncu.splitlines() if not l.startswith("==PROF==")]
        md += ["## ncu (gemm_tc and attention_tc, --clock-control none)", "", "```", "\n".join(keep[-150:]), "```", ""]
    for s in steps:
        if s["status"] in ("fail", "timeout"):
            md += [f"## {s['step']}: {s['status']} (last lines)", "", "```", "\n".join(L(s["step"]).splitlines()[-40:]), "```", ""]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump({"gpu": gpu, "mode": a.mode, "commit": commit, "when": when, "elapsed_s": a.elapsed,
                   "goals": [{"goal": g, "measured": m, "verdict": v} for g, m, v in goals], "steps": steps,
                   "parity": parity, "speed": [dict(zip(("batch", "ours_cublas", "ours_kernel", "ours_bf16", "ours_bf16_gemm_tc", "peer_fp32",
                                                           "peer_fp16"), r)) for r in speed_rows],
                   "kernels": kb, "torch_kernels": tk,
                   "registers": [dict(zip(("function", "registers", "spill_stores", "spill_loads", "shared"), r)) for r in regs]},
                  f, indent=1)

    print()
    print(f"GPU check ({a.mode}) on {gpu or 'unknown GPU'}: report in {a.out}/report.md")
    width = max(len(g[0]) for g in goals)
    for g, m, v in goals:
        print(f"  {g.ljust(width)}  {m}  [{v}]")
    return 1 if any(v == "MISSED" for _, _, v in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
