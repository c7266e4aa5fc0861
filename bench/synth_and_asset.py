"""Synthesis time of the sample app, and the size of the Lambda asset it deploys.

Synthesis is timed two ways: in-process (the app's own work, Node.js already running)
and as `npx cdk synth` (what a user waits for). The asset is the zip CDK uploads for
the handlers. Run: .venv/bin/python bench/synth_and_asset.py [samples]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"


def in_process_synth_seconds(samples: int) -> tuple[float, list[float], Path]:
    started = time.perf_counter()
    import app as sample_app  # starts the jsii Node.js process

    startup = time.perf_counter() - started
    timings, outdir = [], Path(tempfile.mkdtemp())
    for _ in range(samples):
        started = time.perf_counter()
        sample_app.build_app(outdir=str(outdir)).synth()
        timings.append(time.perf_counter() - started)
    return startup, timings, outdir


def cli_synth_seconds() -> float:
    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        subprocess.run(["npx", "cdk", "synth", "--quiet", "--output", outdir], cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - started


def asset_zip_bytes(outdir: Path) -> tuple[int, int, int]:
    # The handlers' asset; the sample app's worker brings assets of its own (its code, its runtime's layer).
    (asset,) = [p for p in outdir.iterdir() if p.name.startswith("asset.") and (p / "crud_api").is_dir()]
    files = [p for p in asset.rglob("*") if p.is_file()]
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(asset))
        return len(files), sum(p.stat().st_size for p in files), handle.tell()


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    startup, timings, outdir = in_process_synth_seconds(samples)
    files, raw, zipped = asset_zip_bytes(outdir)
    print(f"Sample app synthesis (both services and the worker, cdk-nag on), {samples} runs:")
    print(f"  import aws_cdk + jsii start-up        {startup:6.2f} s")
    print(f"  in-process synth, first / median      {timings[0]:6.2f} s / {statistics.median(timings):.2f} s")
    print(f"  npx cdk synth (whole command)         {cli_synth_seconds():6.2f} s")
    print(f"Lambda asset: {files} files, {raw / 1024:.1f} KiB, {zipped / 1024:.1f} KiB zipped (Powertools comes from the layer)")


if __name__ == "__main__":
    main()
