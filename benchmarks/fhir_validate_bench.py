"""FHIR document validation: IG package load time and bundles validated per second.

    .venv/bin/python -m benchmarks.fhir_validate_bench [--runs 5] [--seconds 1.0]
        [--ig ../shared/abdm/fhir/ig-6.0.0-definitions] [--examples ../shared/abdm/fhir/examples]

- ``load``: parsing the whole NRCeS IG 6.0.0 definitions package from its folder, uncached
  (``read_package``), and a cached ``load_ig`` hit.
- ``bundles``: ``validate_bundle`` on each NHA example (nha-abdm-*) and on a synthetic
  OP consultation with 200 extra Observations, with the IG package ("ig") and with the core
  rules alone ("core"). Each run loops for at least ``--seconds``; figures are the median
  over ``--runs`` runs (wall clock; "cpu" is the process's own CPU time, which is what a
  busy shared machine distorts least).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import machine, median
from healthstack.protocol.fhir.validation import IgPackage, load_ig, validate_bundle
from healthstack.protocol.fhir.validation.package import read_package

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "abdm" / "fhir"
LOINC = "http://loinc.org"


def _rate(bundle: dict[str, Any], ig: IgPackage | None, seconds: float) -> tuple[float, float]:
    """(bundles/s by wall clock, bundles/s by process CPU time), looping >= ``seconds``."""
    validate_bundle(bundle, ig=ig)  # warm: compiled invariants, expanded value sets
    calls = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while True:
        validate_bundle(bundle, ig=ig)
        calls += 1
        elapsed = time.perf_counter() - wall
        if elapsed >= seconds:
            return calls / elapsed, calls / max(time.process_time() - cpu, 1e-9)


def synthetic(base: dict[str, Any], observations: int) -> dict[str, Any]:
    """``base`` (an OP consultation) plus ``observations`` vital-sign Observations, each
    in the bundle and listed in a PhysicalExamination section."""
    bundle = copy.deepcopy(base)
    comp = bundle["entry"][0]["resource"]
    subject = comp["subject"]["reference"]
    refs = []
    for i in range(observations):
        oid = str(uuid.UUID(int=i + 1))
        refs.append({"reference": f"urn:uuid:{oid}"})
        bundle["entry"].append(
            {
                "fullUrl": f"urn:uuid:{oid}",
                "resource": {
                    "resourceType": "Observation",
                    "id": oid,
                    "status": "final",
                    "code": {
                        "coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}],
                        "text": "Heart rate",
                    },
                    "subject": {"reference": subject},
                    "effectiveDateTime": "2024-01-04T15:36:45+05:30",
                    "valueQuantity": {
                        "value": 60 + i % 40,
                        "unit": "beats/minute",
                        "system": "http://unitsofmeasure.org",
                        "code": "/min",
                    },
                },
            }
        )
    comp["section"].append(
        {
            "title": "Vitals",
            "code": {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "425044008",
                        "display": "Physical exam section",
                    }
                ]
            },
            "entry": refs,
        }
    )
    # The example already lists a Physical Examination section; keep one per slice.
    comp["section"] = [
        s for s in comp["section"] if s["code"]["coding"][0]["code"] != "425044008"
    ] + [comp["section"][-1]]
    return bundle


def run(ig_path: Path, examples: Path, runs: int, seconds: float) -> dict[str, Any]:
    load_runs = []
    for _ in range(runs):
        started = time.perf_counter()
        read_package(ig_path)
        load_runs.append(time.perf_counter() - started)
    ig = load_ig(ig_path)
    started = time.perf_counter()
    for _ in range(1000):
        load_ig(ig_path)
    cached_us = (time.perf_counter() - started) / 1000 * 1e6

    bundles: dict[str, dict[str, Any]] = {}
    for path in sorted(examples.glob("nha-abdm-*/*.json")):
        bundles[path.stem] = json.loads(path.read_text())
    op = bundles["OP_Consultation_fhir_bundle"]
    bundles["synthetic_op_200_observations"] = synthetic(op, 200)

    results: dict[str, Any] = {}
    for name, bundle in bundles.items():
        report = validate_bundle(bundle, ig=ig)
        figures: dict[str, Any] = {
            "entries": len(bundle["entry"]),
            "json_kb": round(len(json.dumps(bundle)) / 1024, 1),
            "errors": len(report.errors),
            "invariants_evaluated": report.invariants_evaluated,
        }
        for label, package in (("ig", ig), ("core", None)):
            walls, cpus = zip(*(_rate(bundle, package, seconds) for _ in range(runs)), strict=True)
            figures[f"{label}_bundles_per_s"] = round(median(list(walls)), 1)
            figures[f"{label}_cpu_bundles_per_s"] = round(median(list(cpus)), 1)
            figures[f"{label}_ms_per_bundle"] = round(1000 / median(list(walls)), 2)
        results[name] = figures

    typical = [v for k, v in results.items() if not k.startswith("synthetic")]
    summary = {
        "ig_load_s_median": round(median(load_runs), 3),
        "ig_load_cached_us": round(cached_us, 2),
        "profiles": len(ig.profiles),
        "ig_bundles_per_s_median_nha_examples": round(
            median([v["ig_bundles_per_s"] for v in typical]), 1
        ),
        "core_bundles_per_s_median_nha_examples": round(
            median([v["core_bundles_per_s"] for v in typical]), 1
        ),
        "ig_bundles_per_s_synthetic_200_obs": results["synthetic_op_200_observations"][
            "ig_bundles_per_s"
        ],
        "core_bundles_per_s_synthetic_200_obs": results["synthetic_op_200_observations"][
            "core_bundles_per_s"
        ],
    }
    return {
        "machine": machine(),
        "runs": runs,
        "seconds_per_run": seconds,
        "ig": {"path": str(ig_path), "version": ig.version},
        "load_s": [round(x, 3) for x in load_runs],
        "bundles": results,
        "summary": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--ig", type=Path, default=SHARED / "ig-6.0.0-definitions")
    parser.add_argument("--examples", type=Path, default=SHARED / "examples")
    args = parser.parse_args()
    print(json.dumps(run(args.ig, args.examples, args.runs, args.seconds), indent=1))


if __name__ == "__main__":
    main()
