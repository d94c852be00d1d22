"""`tinykit data get speech-commands`: download (resume, checksum) from a local HTTP server, extraction."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from http_helpers import Behaviour, serve

from tinykit.cli import main
from tinykit.data import layout, load_dataset
from tinykit.data import speech_commands as sc
from tinykit.data.download import download
from tinykit.errors import DataError

WORDS = ("yes", "no", "up", "marvin", "bed", "cat")
SPEAKERS = [f"{i:02d}c0ffee" for i in range(10)]  # 0-1 validation, 2-3 testing (the official lists)


def _wav(seed: int, seconds: float = 1.0) -> bytes:
    import wave

    rng = np.random.default_rng(seed)
    pcm = (rng.standard_normal(int(16000 * seconds)) * 2000).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def make_archive() -> bytes:
    """A small archive in the real layout: ./word/<speaker>_nohash_<n>.wav, noise, lists, licence."""
    files: dict[str, bytes] = {}
    val, test = [], []
    for w, word in enumerate(WORDS):
        for s, speaker in enumerate(SPEAKERS):
            for n in range(1 + (s % 2)):
                rel = f"{word}/{speaker}_nohash_{n}.wav"
                files[rel] = _wav(100 * w + 10 * s + n)
                (val if s < 2 else test if s < 4 else []).append(rel)
    files["_background_noise_/white_noise.wav"] = _wav(7, 3.0)
    files["_background_noise_/README.md"] = b"noise\n"
    files["validation_list.txt"] = "\n".join(val).encode() + b"\n"
    files["testing_list.txt"] = "\n".join(test).encode() + b"\n"
    files["LICENSE"] = b"CC BY 4.0\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def archive() -> tuple[bytes, str]:
    data = make_archive()
    return data, hashlib.sha256(data).hexdigest()


def _get(url: str, sha: str, tmp: Path, out: str = "data", words: str = "yes,no") -> object:
    return CliRunner().invoke(main, ["data", "get", "speech-commands", "--words", words, "--url", url,
                                     "--sha256", sha, "--cache", str(tmp / "cache"), "-o", str(tmp / out)])


def test_download_extracts_words_noise_and_official_lists(archive, tmp_path: Path) -> None:
    data, sha = archive
    b = Behaviour(data)
    with serve(b) as url:
        res = _get(url, sha, tmp_path)
    assert res.exit_code == 0, res.output
    out = tmp_path / "data"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["_background_noise_", "_silence_",
                                                                   "_unknown_", "no", "yes"]
    assert len(list((out / "yes").glob("*.wav"))) == 15  # 10 speakers, every second one twice
    unknown = sorted(p.name for p in (out / "_unknown_").glob("*.wav"))
    assert len(unknown) == 15 and {n.split("-")[0].split("_nohash_")[1] for n in unknown} == {"up", "marvin",
                                                                                               "bed", "cat"}
    val = (out / "validation_list.txt").read_text().split()
    test = (out / "testing_list.txt").read_text().split()
    assert all((out / p).exists() for p in val + test)
    # the official lists, renamed: speakers 0-1 validate, 2-3 test, for every kept word and _unknown_
    assert {layout.speaker_of(p) for p in val if not p.startswith("_silence_")} == set(SPEAKERS[:2])
    assert {layout.speaker_of(p) for p in test if not p.startswith("_silence_")} == set(SPEAKERS[2:4])
    assert layout.read_marker(out)["complete"] is True
    assert (out / "LICENSE").exists() and (tmp_path / "cache" / "downloads" / sc.ARCHIVE_NAME).exists()
    ds = load_dataset(out)
    assert ds.labels == ("_silence_", "_unknown_", "no", "yes") and ds.counts()["val"][3] == 3
    assert b.ranges == [None]


def test_an_interrupted_download_resumes_with_a_range_request(archive, tmp_path: Path) -> None:
    data, sha = archive
    b = Behaviour(data, cut_after=len(data) // 3, cut_requests=1)
    with serve(b) as url:
        res = download(url, tmp_path / "a.tar.gz", sha)
    assert res.sha256 == sha and res.resumed == 1 and (tmp_path / "a.tar.gz").read_bytes() == data
    assert b.ranges == [None, f"bytes={len(data) // 3}-"] and b.statuses == [200, 206]


def test_a_download_cut_every_time_fails_clearly_and_the_next_run_resumes(archive, tmp_path: Path) -> None:
    data, sha = archive
    with serve(Behaviour(data, cut_after=1000, cut_requests=100)) as url:
        res = _get(url, sha, tmp_path)
    assert res.exit_code == 2 and "interrupted at 4,000 of" in res.output and "resumes" in res.output
    part = tmp_path / "cache" / "downloads" / (sc.ARCHIVE_NAME + ".part")
    assert part.stat().st_size == 4000 and not (tmp_path / "data").exists()
    b = Behaviour(data)
    with serve(b) as url:
        res = _get(url, sha, tmp_path)
    assert res.exit_code == 0, res.output
    assert b.ranges == ["bytes=4000-"] and not part.exists()


@pytest.mark.parametrize("how", ["corrupt", "truncated"])
def test_a_damaged_download_fails_the_checksum_and_is_deleted(archive, tmp_path: Path, how: str) -> None:
    data, sha = archive
    b = Behaviour(data[: len(data) // 2]) if how == "truncated" else Behaviour(data, corrupt=True)
    with serve(b) as url:
        res = _get(url, sha, tmp_path)
    assert res.exit_code == 2, res.output
    assert "error: checksum mismatch" in res.output and "Traceback" not in res.output
    assert not list((tmp_path / "cache" / "downloads").iterdir()) and not (tmp_path / "data").exists()


def test_a_server_that_ignores_range_restarts_the_file(archive, tmp_path: Path) -> None:
    data, sha = archive
    part = tmp_path / "a.tar.gz.part"
    part.write_bytes(b"\0" * 500)  # stale bytes that a resumed download would keep
    b = Behaviour(data, ignore_range=True)
    with serve(b) as url:
        res = download(url, tmp_path / "a.tar.gz", sha)
    assert res.sha256 == sha and b.ranges == ["bytes=500-"] and b.statuses == [200]


def test_a_cached_archive_is_checked_again_and_not_downloaded(archive, tmp_path: Path) -> None:
    data, sha = archive
    with serve(Behaviour(data)) as url:
        assert _get(url, sha, tmp_path, "a").exit_code == 0
    b = Behaviour(b"")
    with serve(b) as url:
        res = _get(url, sha, tmp_path, "b", words="marvin")
    assert res.exit_code == 0, res.output
    assert b.ranges == [] and len(list((tmp_path / "b" / "marvin").glob("*.wav"))) == 15


@pytest.mark.parametrize("args,message", [
    (["--words", "yes,banana"], "has no word 'banana'"),
    (["--words", "yes,yes"], "no duplicates"),
    (["--archive", "/no/such.tar.gz"], "does not exist"),
    (["--url", "http://127.0.0.1:9/x.tar.gz", "--cache", "{tmp}"], "cannot reach"),
])
def test_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    res = CliRunner().invoke(main, ["data", "get", "speech-commands", "-o", str(tmp_path / "o"), *args])
    assert res.exit_code == 2 and "error: " in res.output and message in res.output, res.output


def test_not_an_archive(tmp_path: Path) -> None:
    bad = tmp_path / "x.tar.gz"
    bad.write_bytes(b"this is not gzip")
    res = CliRunner().invoke(main, ["data", "get", "speech-commands", "--archive", str(bad),
                                    "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "cannot read" in res.output and not (tmp_path / "o").exists()


def test_an_interrupted_extraction_never_looks_complete(archive, tmp_path: Path, monkeypatch) -> None:
    data, _ = archive
    arch = tmp_path / "a.tar.gz"
    arch.write_bytes(data)
    real = sc.write_atomic
    calls = []

    def dying(path, payload):
        calls.append(path)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real(path, payload)

    monkeypatch.setattr(sc, "write_atomic", dying)
    with pytest.raises(KeyboardInterrupt):
        sc.get(tmp_path / "data", ["yes"], archive=arch)
    assert not (tmp_path / "data").exists()
    partial = layout.partial_dir(tmp_path / "data")
    with pytest.raises(DataError, match="incomplete"):
        load_dataset(partial)
    res = CliRunner().invoke(main, ["data", "info", str(partial)])
    assert res.exit_code == 2 and "incomplete" in res.output
    monkeypatch.setattr(sc, "write_atomic", real)
    summary = sc.get(tmp_path / "data", ["yes"], archive=arch)  # the same command again starts afresh
    assert summary["counts"]["yes"] == 15 and not partial.exists()
    assert json.loads((tmp_path / "data" / layout.MARKER).read_text())["complete"] is True
