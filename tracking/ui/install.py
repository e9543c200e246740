"""`tracking ui install`: fetch the pinned mlflow wheel and keep only its web UI build.

The wheel is downloaded by pip (so pip's index settings, proxy and cache apply) with
`--require-hashes`, checked again here, and only `mlflow/server/js/build/**` is extracted: the
server never imports mlflow nor installs its dependency tree.
"""

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from tracking.ui.build import (
    MLFLOW_VERSION,
    WHEEL_BUILD_DIR,
    WHEEL_NAME,
    WHEEL_SHA256,
    is_installed,
)


class InstallError(Exception):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_wheel(workdir: Path) -> Path:
    requirements = workdir / "requirements.txt"
    requirements.write_text(f"mlflow=={MLFLOW_VERSION} --hash=sha256:{WHEEL_SHA256}\n")
    log = workdir / "pip.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--require-hashes",
                "--disable-pip-version-check",
                "-q",
                "-r",
                str(requirements),
                "-d",
                str(workdir),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    wheel = workdir / WHEEL_NAME
    if done.returncode != 0 or not wheel.is_file():
        raise InstallError(f"pip could not download {WHEEL_NAME}:\n{log.read_text()}")
    return wheel


def _member_target(name: str, target: Path) -> Path | None:
    """Where a wheel member lands under `target`, or None if it is not part of the build."""
    if not name.startswith(WHEEL_BUILD_DIR) or name.endswith("/"):
        return None
    relative = PurePosixPath(name[len(WHEEL_BUILD_DIR) :])
    if relative.is_absolute() or any(part in ("", ".", "..") for part in relative.parts):
        raise InstallError(f"unexpected path in wheel: {name}")
    return target.joinpath(*relative.parts)


def extract_build(wheel: Path, target: Path) -> int:
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            dest = _member_target(member.filename, target)
            if dest is None:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out)
            count += 1
    if not is_installed(target):
        raise InstallError(f"{WHEEL_NAME} has no {WHEEL_BUILD_DIR}index.html")
    return count


def install(target: Path, wheel: Path | None = None, force: bool = False) -> str:
    """Install the build into `target` (atomically: a sibling folder renamed into place)."""
    if is_installed(target) and not force:
        return f"MLflow {MLFLOW_VERSION} web UI already installed in {target}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".ui-install-") as tmp:
        workdir = Path(tmp)
        if wheel is None:
            wheel = download_wheel(workdir)
        actual = sha256_of(wheel)
        if actual != WHEEL_SHA256:
            raise InstallError(f"{wheel} has sha256 {actual}, expected {WHEEL_SHA256}")
        staged = workdir / "build"
        count = extract_build(wheel, staged)
        old = workdir / "old"
        if target.exists():
            target.rename(old)
        staged.rename(target)
    return f"Installed the MLflow {MLFLOW_VERSION} web UI ({count} files) in {target}"
