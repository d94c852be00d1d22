"""Package manifests of the exports, built as data and checked against their published formats.

The checks are written from the specifications (they are not the ecosystems' own validators,
which need their tools installed): the Arduino library specification (1.5 format, rev. 2.2) for
``library.properties``, PlatformIO's ``library.json`` manifest reference, and the schema Zephyr's
``scripts/zephyr_module.py`` applies to ``zephyr/module.yml``. An export never writes a manifest
that fails them; the tests run them on every export.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tinykit.errors import TinykitError

ARDUINO_REQUIRED = ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url",
                    "architectures")
ARDUINO_OPTIONAL = ("depends", "dot_a_linkage", "includes", "precompiled", "ldflags", "license")
ARDUINO_CATEGORIES = ("Display", "Communication", "Signal Input/Output", "Sensors", "Device Control", "Timing",
                      "Data Storage", "Data Processing", "Other")
ARDUINO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$")
ARDUINO_NAME_MAX = 63
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
PIO_FIELDS = {"$schema", "name", "version", "description", "keywords", "homepage", "repository", "authors",
              "license", "frameworks", "platforms", "headers", "examples", "dependencies", "export", "scripts",
              "build"}
PIO_BUILD_FIELDS = {"flags", "unflags", "includeDir", "srcDir", "srcFilter", "extraScript", "libArchive",
                    "libLDFMode", "libCompatMode", "builder"}
PIO_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.]|-(?!-))*(?<!-)$")
PIO_LIMITS = {"name": 50, "version": 20, "description": 255}
ZEPHYR_TOP = {"name": str, "build": dict, "tests": list, "samples": list, "boards": list, "blobs": list}
ZEPHYR_BUILD = {"cmake": str, "kconfig": str, "cmake-ext": bool, "kconfig-ext": bool, "sysbuild-cmake": str,
                "sysbuild-kconfig": str, "sysbuild-cmake-ext": bool, "sysbuild-kconfig-ext": bool,
                "depends": list, "settings": dict}
ZEPHYR_SETTINGS = ("board_root", "dts_root", "soc_root", "arch_root", "module_ext_root", "sca_root")


class ManifestError(TinykitError):
    """A manifest an export would write breaks its ecosystem's published format."""


def _fail(what: str, problems: list[str]) -> None:
    if problems:
        raise ManifestError(f"{what}: {'; '.join(problems)}")


# -- Arduino library.properties ------------------------------------------------------------------
def format_properties(fields: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in fields.items())


def parse_properties(text: str) -> dict[str, str]:
    """key=value lines (``#`` comments and blank lines skipped), as the Arduino tools read them."""
    fields = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            fields[key.strip()] = value.strip() if sep else None
    return fields


def check_library_properties(path: Path) -> None:
    """library.properties against the Arduino library specification."""
    fields = parse_properties(Path(path).read_text(encoding="utf-8"))
    problems = [f"{k} is missing" for k in ARDUINO_REQUIRED if not fields.get(k)]
    problems += [f"unknown field {k}" for k in fields if k not in (*ARDUINO_REQUIRED, *ARDUINO_OPTIONAL)]
    name = fields.get("name") or ""
    if name and (not ARDUINO_NAME.match(name) or len(name) > ARDUINO_NAME_MAX or name.lower().startswith("arduino")):
        problems.append(f"name {name!r}: letters, digits, space _ . -, at most {ARDUINO_NAME_MAX}, not Arduino*")
    if fields.get("version") and not SEMVER.match(fields["version"]):
        problems.append(f"version {fields['version']!r} is not semver")
    if fields.get("category") and fields["category"] not in ARDUINO_CATEGORIES:
        problems.append(f"category {fields['category']!r} is not one of {', '.join(ARDUINO_CATEGORIES)}")
    if fields.get("url") and not re.match(r"^https?://\S+$", fields["url"]):
        problems.append(f"url {fields['url']!r} is not an http(s) URL")
    archs = (fields.get("architectures") or "").split(",")
    if any(not re.match(r"^(\*|[a-z0-9_]+)$", a.strip()) for a in archs):
        problems.append(f"architectures {fields.get('architectures')!r}: '*' or comma separated ids")
    layout = Path(path).parent
    if not (layout / "src").is_dir():
        problems.append("no src/ folder (the 1.5 format keeps sources there)")
    problems += [f"example {d.name} has no {d.name}.ino" for d in (layout / "examples").glob("*")
                 if d.is_dir() and not (d / f"{d.name}.ino").is_file()]
    _fail(f"{path} breaks the Arduino library specification", problems)


# -- PlatformIO library.json ----------------------------------------------------------------------
def _str_or_list(value) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def check_library_json(path: Path) -> None:
    """library.json against PlatformIO's manifest reference."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as err:
        raise ManifestError(f"{path} is not JSON: {err}") from None
    problems = [f"{k} is missing" for k in ("name", "version", "description") if not data.get(k)]
    problems += [f"unknown field {k}" for k in data if k not in PIO_FIELDS]
    problems += [f"{k} longer than {n}" for k, n in PIO_LIMITS.items() if len(str(data.get(k, ""))) > n]
    if data.get("name") and not PIO_NAME.match(data["name"]):
        problems.append(f"name {data['name']!r}: letters, digits, _ . and single dashes inside")
    if data.get("version") and not SEMVER.match(data["version"]):
        problems.append(f"version {data['version']!r} is not semver")
    problems += [f"{k} must be a string or a list of strings" for k in ("keywords", "frameworks", "platforms",
                                                                        "headers") if k in data
                 and not _str_or_list(data[k])]
    authors = data.get("authors", [])
    if not all(isinstance(a, dict) and a.get("name") for a in (authors if isinstance(authors, list) else [authors])):
        problems.append("every author needs a name")
    problems += [f"unknown build field {k}" for k in data.get("build", {}) if k not in PIO_BUILD_FIELDS]
    root = Path(path).parent
    for example in data.get("examples", []):
        missing = [f for f in example.get("files", []) if not (root / example.get("base", "") / f).is_file()]
        problems += [f"example {example.get('name')}: {f} is missing" for f in missing]
    _fail(f"{path} breaks PlatformIO's library.json format", problems)


# -- Zephyr zephyr/module.yml ----------------------------------------------------------------------
def _typed(mapping: dict, schema: dict, where: str) -> list[str]:
    problems = [f"{where}{k} is not allowed" for k in mapping if k not in schema]
    return problems + [f"{where}{k} must be a {t.__name__}" for k, t in schema.items()
                       if k in mapping and not isinstance(mapping[k], t)]


def check_module_yml(path: Path) -> None:
    """zephyr/module.yml against the schema Zephyr's module tooling applies, and the files it names."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ManifestError(f"{path} is not a mapping")
    problems = _typed(data, ZEPHYR_TOP, "")
    build = data.get("build", {}) if isinstance(data.get("build"), dict) else {}
    problems += _typed(build, ZEPHYR_BUILD, "build.")
    settings = build.get("settings", {}) if isinstance(build.get("settings"), dict) else {}
    problems += _typed(settings, dict.fromkeys(ZEPHYR_SETTINGS, str), "build.settings.")
    for key in ("tests", "samples", "boards", "depends"):
        values = data.get(key, build.get(key, []))
        if isinstance(values, list) and not all(isinstance(v, str) for v in values):
            problems.append(f"{key} must be a list of strings")
    root = Path(path).parent.parent  # paths are relative to the module root, the parent of zephyr/
    if "cmake" in build and not (root / build["cmake"] / "CMakeLists.txt").is_file():
        problems.append(f"build.cmake {build['cmake']!r} holds no CMakeLists.txt")
    if "kconfig" in build and not (root / build["kconfig"]).is_file():
        problems.append(f"build.kconfig {build['kconfig']!r} is not a file")
    problems += [f"sample {s!r} is not a folder" for s in data.get("samples", []) if not (root / s).is_dir()]
    _fail(f"{path} breaks Zephyr's module.yml format", problems)
