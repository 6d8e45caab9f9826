"""build_pyz.py: one reproducible file that holds __main__.py and the package."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from helpers import ROOT


def copy_sources(target):
    shutil.copy(os.path.join(ROOT, "build_pyz.py"), target)
    shutil.copytree(os.path.join(ROOT, "chat_app"), os.path.join(target, "chat_app"),
                    ignore=shutil.ignore_patterns("__pycache__"))


def build(source, *args):
    result = subprocess.run([sys.executable, os.path.join(source, "build_pyz.py")] + list(args),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.system
def test_default_output_is_next_to_the_script(tmp_path):
    copy_sources(str(tmp_path))
    result = build(str(tmp_path))
    path = tmp_path / "chat.pyz"
    assert path.exists() and str(path) in result.stdout
    assert os.access(str(path), os.X_OK)


@pytest.mark.system
def test_byte_identical_whatever_the_modification_times(tmp_path):
    source = str(tmp_path / "src")
    os.mkdir(source)
    copy_sources(source)
    build(source, "-o", str(tmp_path / "one.pyz"))
    for folder, _, files in os.walk(source):
        for name in files:
            os.utime(os.path.join(folder, name), (1234567890, 1234567890))
    os.makedirs(os.path.join(source, "chat_app", "__pycache__"), exist_ok=True)
    with open(os.path.join(source, "chat_app", "__pycache__", "x.pyc"), "wb") as handle:
        handle.write(b"stale")
    build(source, "-o", str(tmp_path / "two.pyz"))
    assert (tmp_path / "one.pyz").read_bytes() == (tmp_path / "two.pyz").read_bytes()


def test_archive_holds_only_main_and_the_package(pyz):
    with open(pyz, "rb") as handle:
        assert handle.readline() == b"#!/usr/bin/env python3\n"
    package = sorted(
        os.path.relpath(os.path.join(folder, name), ROOT).replace(os.sep, "/")
        for folder, dirs, files in os.walk(os.path.join(ROOT, "chat_app"))
        for name in files if name.endswith(".py"))
    with zipfile.ZipFile(pyz) as archive:
        names = archive.namelist()
        assert names == ["__main__.py"] + package
        assert archive.read("__main__.py") == archive.read("chat_app/__main__.py")
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.system
def test_unwritable_output_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "build_pyz.py"), "-o",
                             str(tmp_path / "no" / "such" / "chat.pyz")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "cannot write" in result.stderr
