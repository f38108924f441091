"""Loading the IG definitions package: folder, zip and npm tarball; caching; errors."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from healthstack.protocol.fhir.validation import IgPackage, IgPackageError, default_ig, load_ig

RECORDS = {
    "371530004": "OPConsultRecord",
    "440545006": "PrescriptionRecord",
    "373942005": "DischargeSummaryRecord",
    "41000179103": "ImmunizationRecord",
    "419891008": "HealthDocumentRecord",
    "721981007": "DiagnosticReportRecord",
}


def test_the_folder_loads_with_every_profile(ig: IgPackage) -> None:
    assert ig.version == "6.0.0"
    assert ig.canonical_base == "https://nrces.in/ndhm/fhir/r4"
    assert len(ig.profiles) == 43  # 42 resource profiles and the BrandName extension
    assert len(ig.profiles_by_type["Composition"]) == 8
    assert len(ig.value_sets) == 28 and len(ig.code_systems) == 2
    assert {code: ig.record_by_code[code].name for code in RECORDS} == RECORDS
    assert ig.record_by_text["Wellness Record"].name == "WellnessRecord"
    assert ig.record_by_text["Invoice Record"].name == "InvoiceRecord"
    assert ig.default_profile("Observation").name == "Observation"  # type: ignore[union-attr]
    assert ig.default_profile("DiagnosticReport") is None  # Lab or Imaging: no default
    assert ig.derives_from(
        ig.canonical_base + "/StructureDefinition/ObservationVitalSigns",
        ig.canonical_base + "/StructureDefinition/Observation",
    )


def test_load_ig_is_cached_per_path(ig_dir: Path) -> None:
    assert load_ig(ig_dir) is load_ig(str(ig_dir))


def _profiles(package: IgPackage) -> set[str]:
    return set(package.profiles)


def test_the_definitions_zip(ig: IgPackage, ig_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "definitions.json.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in ig_dir.glob("*.json"):
            zf.write(path, path.name)
    package = load_ig(archive)
    assert _profiles(package) == _profiles(ig)
    assert package.version == "6.0.0"


def test_the_npm_tarball(ig: IgPackage, ig_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "package.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        for path in ig_dir.glob("*.json"):
            tf.add(path, f"package/{path.name}")
        meta = json.dumps({"name": "ndhm.in", "version": "6.0.0"}).encode()
        info = tarfile.TarInfo("package/package.json")
        info.size = len(meta)
        tf.addfile(info, io.BytesIO(meta))
    package = load_ig(archive)
    assert _profiles(package) == _profiles(ig)


def test_a_changed_archive_is_read_again(ig_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "definitions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in ig_dir.glob("StructureDefinition-Patient.json"):
            zf.write(path, path.name)
    first = load_ig(archive)
    assert load_ig(archive) is first
    stat = archive.stat()
    os.utime(archive, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_ig(archive) is not first


def test_a_missing_package(tmp_path: Path) -> None:
    with pytest.raises(IgPackageError, match="not found .*--ig or HEALTHSTACK_FHIR_IG_PATH"):
        load_ig(tmp_path / "nowhere")


def test_a_folder_without_profiles(tmp_path: Path) -> None:
    (tmp_path / "readme.json").write_text(json.dumps({"resourceType": "Basic"}))
    with pytest.raises(IgPackageError, match="No StructureDefinition snapshots"):
        load_ig(tmp_path)


def test_a_broken_json_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "StructureDefinition-Broken.json").write_text(
        '{"resourceType": "StructureDefinition", "url": '
    )
    with pytest.raises(IgPackageError, match="StructureDefinition-Broken.json .* not valid JSON"):
        load_ig(tmp_path)


def test_a_file_that_is_no_archive(tmp_path: Path) -> None:
    path = tmp_path / "definitions.txt"
    path.write_text("hello")
    with pytest.raises(IgPackageError, match="neither a folder, a zip nor a tar"):
        load_ig(path)


def test_default_ig_follows_the_setting(
    ig_dir: Path, monkeypatch: pytest.MonkeyPatch, ig: IgPackage
) -> None:
    monkeypatch.delenv("HEALTHSTACK_FHIR_IG_PATH", raising=False)
    assert default_ig() is None
    monkeypatch.setenv("HEALTHSTACK_FHIR_IG_PATH", str(ig_dir))
    assert default_ig() is ig
    assert default_ig(ig_dir) is ig
