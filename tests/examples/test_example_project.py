"""The example project consumes the library as a user would, outside this repository.

The wheel is built from this repository's sources, installed with its ``[localcloud]`` extra into a fresh virtualenv
(from the example's own requirements.txt), and the example project, copied out of the repository, runs its own
tests there: the harness under mocks and the local cloud end to end. Nothing can resolve from the checkout.

The install is constrained to this repository's pinned versions (requirements*.txt), so the run repeats and pip's
cache, filled by the dev install, serves it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("example-wheel")

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "parcel-tracker"
# What the wheel is built from, copied first: the build leaves nothing in the checkout and takes nothing stale from it.
SOURCES = ("pyproject.toml", "README.md", "components/serverless_patterns", "localcloud")
LIBRARY = REPO / "components" / "serverless_patterns"
RUNTIME = LIBRARY / "lambda_root" / "handler_runtime"
PINNED = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?(==\S+)")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "venv", "*.egg-info")


def _tail(text: str | bytes | None, lines: int = 150) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join((text or "").splitlines()[-lines:])


def run(command: list[str], what: str, *, cwd: Path, env: dict[str, str], timeout: int) -> str:
    """Run ``command``; on failure or timeout fail the test with the command and the end of its output."""
    shown = f"$ (cd {cwd} && {shlex.join(command)})"
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(
            f"{what}: no result after {timeout}s\n{shown}\n--- stdout ---\n{_tail(expired.stdout)}\n"
            f"--- stderr ---\n{_tail(expired.stderr)}",
            pytrace=False,
        )
    if done.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {done.returncode})\n{shown}\n--- stdout ---\n{_tail(done.stdout)}\n"
            f"--- stderr ---\n{_tail(done.stderr)}",
            pytrace=False,
        )
    return done.stdout


def clean_env(work: Path) -> dict[str, str]:
    """This process's environment without what would reach into the checkout or this test run."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV", "AWS_", "POWERTOOLS_", "SERVERLESS_PATTERNS_"))
    }
    env.update(
        PYTHONNOUSERSITE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        SERVERLESS_PATTERNS_CACHE=str(work / "archives"),
    )
    return env


def constraints(work: Path) -> Path:
    """The repository's pins as a constraints file (extras dropped: pip refuses them in constraints)."""
    pins = []
    for requirements in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / requirements).read_text().splitlines():
            if match := PINNED.match(line.strip()):
                pins.append(match.group(1) + match.group(3))
    path = work / "constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("example-wheel")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)  # a virtualenv is a few hundred MB


@pytest.fixture(scope="module")
def wheel(work: Path) -> Path:
    source = work / "source"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=_IGNORED)
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    dist = work / "dist"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(source)]
    run(command, "building the wheel", cwd=work, env=clean_env(work), timeout=600)
    built = sorted(dist.glob("serverless_patterns-*.whl"))
    assert len(built) == 1, f"expected one wheel in {dist}, found {[p.name for p in built]}"
    return built[0]


@pytest.fixture(scope="module")
def venv_python(work: Path, wheel: Path) -> Path:
    """A fresh virtualenv with the wheel, its [localcloud] extra and the example's requirements installed."""
    venv = work / "venv"
    env = clean_env(work)
    run([sys.executable, "-m", "venv", str(venv)], "creating the virtualenv", cwd=work, env=env, timeout=300)
    python = venv / "bin" / "python"
    install = [
        str(python),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",  # imports compile what they need; compiling all of pulumi_aws up front takes minutes
        "--constraint",
        str(constraints(work)),
        f"{wheel}[localcloud]",
        "--requirement",
        str(EXAMPLE / "requirements.txt"),
    ]
    run(
        install, "installing the wheel with [localcloud] and the example's requirements", cwd=work, env=env, timeout=900
    )
    return python


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _sources(root: Path, package: str) -> set[str]:
    return {f"{package}/{p.relative_to(root).as_posix()}" for p in root.rglob("*.py") if "__pycache__" not in p.parts}


def test_the_wheel_holds_both_packages_and_nothing_of_the_orders_app(wheel: Path):
    names = _wheel_names(wheel)
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    dist_info = f"serverless_patterns-{version}.dist-info"

    assert {name.split("/", 1)[0] for name in names} == {"serverless_patterns", "localcloud", dist_info}
    python_files = {n for n in names if n.endswith(".py")}
    assert python_files == _sources(LIBRARY, "serverless_patterns") | _sources(REPO / "localcloud", "localcloud")
    assert {"serverless_patterns/py.typed", "localcloud/py.typed"} <= names
    runtime = {f"serverless_patterns/lambda_root/handler_runtime/{p.name}" for p in RUNTIME.glob("*.py")}
    assert len(runtime) >= 7 and runtime <= names  # the shared handler runtime, as package data
    assert "serverless_patterns/testing/plugin.py" in names
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
        metadata = archive.read(f"{dist_info}/METADATA").decode()
    assert "[pytest11]\nserverless_patterns = serverless_patterns.testing.plugin" in entry_points
    assert "Provides-Extra: localcloud" in metadata


def test_the_example_project_passes_its_own_tests_against_the_installed_wheel(
    venv_python: Path, work: Path, tmp_path: Path
):
    project = tmp_path / EXAMPLE.name
    shutil.copytree(EXAMPLE, project, ignore=_IGNORED)
    env = clean_env(work)

    probe = (
        "import importlib.util, localcloud, serverless_patterns, serverless_patterns.testing.plugin\n"
        "print(serverless_patterns.__file__)\nprint(localcloud.__file__)\n"
        "print(importlib.util.find_spec('handler_runtime'))\n"
    )
    found = run([str(venv_python), "-c", probe], "importing the library", cwd=project, env=env, timeout=300)
    library, cloud, runtime = found.splitlines()[-3:]
    venv = venv_python.parents[1]
    assert Path(library).is_relative_to(venv) and Path(cloud).is_relative_to(venv), found
    assert runtime == "None", "handler_runtime is Lambda-archive content, not a top-level package of the install"

    output = run(
        [str(venv_python), "-m", "pytest", "-p", "no:cacheprovider", "-rA"],
        "the example project's tests",
        cwd=project,
        env=env,
        timeout=600,
    )
    expected = sum(len(re.findall(r"^def test_", f.read_text(), re.M)) for f in (project / "tests").glob("test_*.py"))
    assert expected >= 7
    assert re.search(rf"\b{expected} passed\b", output), output
    assert "PASSED tests/test_local_cloud.py::" in output, output
