"""One contract for every artifact repository (local folder, S3 on a real moto server)."""

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tracking.artifacts.base import CHUNK_BYTES, ArtifactNotFound, ArtifactRepository, FileInfo
from tracking.artifacts.factory import make_repository
from tracking.artifacts.local import STAGING, LocalRepository
from tracking.artifacts.s3 import PART_BYTES, S3Repository
from tracking.errors import InvalidParameterValue

HUNDRED_YEARS = 100 * 365 * 24 * 3600


@pytest.fixture(params=["local", "s3"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "root")
    return str(request.getfixturevalue("s3_destination"))


@pytest.fixture
async def repo(destination: str) -> AsyncIterator[ArtifactRepository]:
    repository = await make_repository(destination)
    yield repository
    await repository.close()


async def chunks_of(data: bytes, size: int = 300_007) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def failing_after(data: bytes) -> AsyncIterator[bytes]:
    async for chunk in chunks_of(data):
        yield chunk
    raise RuntimeError("client went away")


async def read_all(repo: ArtifactRepository, path: str) -> bytes:
    download = await repo.open(path)
    chunks = [chunk async for chunk in download]
    assert all(len(chunk) <= CHUNK_BYTES for chunk in chunks)
    body = b"".join(chunks)
    assert len(body) == download.size
    return body


async def put(repo: ArtifactRepository, path: str, data: bytes) -> None:
    assert await repo.write(path, chunks_of(data)) == len(data)


def file(path: str, size: int) -> FileInfo:
    return FileInfo(path, False, size)


def folder(path: str) -> FileInfo:
    return FileInfo(path, True, None)


async def pending_uploads(repo: S3Repository) -> list[str]:
    answer = await repo.client.list_multipart_uploads(Bucket=repo.bucket)
    return [upload["Key"] for upload in answer.get("Uploads", [])]


async def assert_no_leftovers(repo: ArtifactRepository) -> None:
    if isinstance(repo, LocalRepository):
        assert os.listdir(repo.root / STAGING) == []
    elif isinstance(repo, S3Repository):
        assert await pending_uploads(repo) == []


# -- round trips --


async def test_small_round_trip(repo: ArtifactRepository, destination: str) -> None:
    assert repo.uri == (destination if destination.startswith("s3://") else str(Path(destination)))
    await put(repo, "hello.txt", b"hello, artifacts")
    assert await read_all(repo, "hello.txt") == b"hello, artifacts"
    download = await repo.open("hello.txt")
    assert download.size == 16
    await download.aclose()


async def test_empty_file(repo: ArtifactRepository) -> None:
    assert await repo.write("empty", chunks_of(b"")) == 0
    assert await read_all(repo, "empty") == b""
    assert await repo.list("") == [file("empty", 0)]


@pytest.mark.parametrize("size", [PART_BYTES, PART_BYTES + 1, 2 * PART_BYTES + 12_345])
async def test_large_round_trip(repo: ArtifactRepository, size: int) -> None:
    data = os.urandom(size)
    assert await repo.write("model/weights.bin", chunks_of(data, 1_000_003)) == size
    download = await repo.open("model/weights.bin")
    assert download.size == size
    digest = hashlib.sha256()
    async for chunk in download:
        assert len(chunk) <= CHUNK_BYTES
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    await assert_no_leftovers(repo)


async def test_overwrite_replaces(repo: ArtifactRepository) -> None:
    await put(repo, "a/notes.txt", b"first version, rather long")
    await put(repo, "a/notes.txt", b"second")
    assert await read_all(repo, "a/notes.txt") == b"second"
    assert await repo.list("a") == [file("a/notes.txt", 6)]
    await put(repo, "a/notes.txt", b"second")  # a retried PUT gives the same result
    assert await read_all(repo, "a/notes.txt") == b"second"


async def test_abandoned_download_releases(repo: ArtifactRepository) -> None:
    await put(repo, "big", os.urandom(3 * CHUNK_BYTES))
    download = await repo.open("big")
    await download.aclose()
    await download.aclose()
    assert await read_all(repo, "big") != b""


# -- listing --


async def test_nested_paths_and_list(repo: ArtifactRepository) -> None:
    for path, data in [
        ("z.txt", b"zz"),
        ("a/b/d.bin", b"dddd"),
        ("a/b/c.txt", b"c"),
        ("a/e.txt", b"eee"),
        ("ab.txt", b"not in a"),
    ]:
        await put(repo, path, data)
    assert await repo.list("") == [folder("a"), file("ab.txt", 8), file("z.txt", 2)]
    assert await repo.list("a") == [folder("a/b"), file("a/e.txt", 3)]
    assert await repo.list("a/b") == [file("a/b/c.txt", 1), file("a/b/d.bin", 4)]
    assert await repo.list("nope") == []
    assert await repo.list("a/nope") == []
    assert await repo.list("z.txt") == []  # a file is not a folder
    assert await read_all(repo, "a/b/c.txt") == b"c"


async def test_list_of_empty_root(repo: ArtifactRepository) -> None:
    assert await repo.list("") == []


async def test_open_of_folder_or_missing_file(repo: ArtifactRepository) -> None:
    await put(repo, "a/b/c.txt", b"c")
    for path in ["", "a", "a/b", "missing", "a/missing", "a/b/c.txt/deeper", "nope/c.txt"]:
        with pytest.raises(ArtifactNotFound):
            await repo.open(path)


# -- deleting --


async def test_delete_file(repo: ArtifactRepository) -> None:
    await put(repo, "a/keep.txt", b"keep")
    await put(repo, "a/drop.txt", b"drop")
    await repo.delete("a/drop.txt")
    with pytest.raises(ArtifactNotFound):
        await repo.open("a/drop.txt")
    assert await repo.list("a") == [file("a/keep.txt", 4)]


async def test_delete_tree(repo: ArtifactRepository) -> None:
    for path in ["a/b/c.txt", "a/b/d/e.txt", "a/f.txt", "ab.txt", "a.txt"]:
        await put(repo, path, b"x")
    await repo.delete("a")
    assert await repo.list("") == [file("a.txt", 1), file("ab.txt", 1)]
    assert await repo.list("a") == []
    with pytest.raises(ArtifactNotFound):
        await repo.open("a/b/c.txt")


async def test_delete_missing_is_a_no_op(repo: ArtifactRepository) -> None:
    await put(repo, "a/keep.txt", b"keep")
    await repo.delete("missing")
    await repo.delete("a/missing/deeper")
    await repo.delete("a/keep.txt/deeper")
    assert await read_all(repo, "a/keep.txt") == b"keep"


async def test_delete_of_root_refused(repo: ArtifactRepository) -> None:
    await put(repo, "keep.txt", b"keep")
    with pytest.raises(InvalidParameterValue):
        await repo.delete("")
    assert await read_all(repo, "keep.txt") == b"keep"


# -- atomicity and leftovers --


@pytest.mark.parametrize("size", [1000, PART_BYTES + CHUNK_BYTES])
async def test_failed_upload_leaves_nothing(repo: ArtifactRepository, size: int) -> None:
    await put(repo, "old.bin", b"previous")
    for path in ["new.bin", "old.bin", "deep/new.bin"]:
        with pytest.raises(RuntimeError, match="client went away"):
            await repo.write(path, failing_after(os.urandom(size)))
    for path in ["new.bin", "deep/new.bin"]:
        with pytest.raises(ArtifactNotFound):
            await repo.open(path)
    assert await read_all(repo, "old.bin") == b"previous"
    assert await repo.list("") == [file("old.bin", 8)]
    assert await repo.list("deep") == []
    await assert_no_leftovers(repo)


async def test_cancelled_upload_leaves_nothing(repo: ArtifactRepository) -> None:
    stalled = asyncio.Event()

    async def stalls_after_a_part() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(os.urandom(PART_BYTES + CHUNK_BYTES)):
            yield chunk
        stalled.set()
        await asyncio.Event().wait()
        yield b"never"

    upload = asyncio.create_task(repo.write("slow.bin", stalls_after_a_part()))
    await stalled.wait()
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    with pytest.raises(ArtifactNotFound):
        await repo.open("slow.bin")
    assert await repo.list("") == []
    await assert_no_leftovers(repo)


async def test_purge_incomplete(repo: ArtifactRepository) -> None:
    if isinstance(repo, LocalRepository):
        staging = repo.root / STAGING
        (staging / "abandoned").write_bytes(b"partial")
        (staging / "in-progress").write_bytes(b"partial")
        aged = time.time() - 7200
        os.utime(staging / "abandoned", (aged, aged))
        assert await repo.purge_incomplete(3600) == 1
        assert os.listdir(staging) == ["in-progress"]
        assert await repo.purge_incomplete(HUNDRED_YEARS) == 0
        assert os.listdir(staging) == ["in-progress"]
    else:
        assert isinstance(repo, S3Repository)
        client: Any = repo.client
        await client.create_multipart_upload(Bucket=repo.bucket, Key=f"{repo.prefix}/abandoned")
        await client.create_multipart_upload(Bucket=repo.bucket, Key="elsewhere/not-ours")
        # moto reports every upload as initiated in 2010, so "fresh" means "within a century".
        assert await repo.purge_incomplete(HUNDRED_YEARS) == 0
        assert sorted(await pending_uploads(repo)) == ["artifacts/abandoned", "elsewhere/not-ours"]
        assert await repo.purge_incomplete(0) == 1
        assert await pending_uploads(repo) == ["elsewhere/not-ours"]
    assert await repo.list("") == []


# -- S3 only --


@pytest.fixture
async def s3_repo(s3_destination: str) -> AsyncIterator[S3Repository]:
    repository = await make_repository(s3_destination)
    assert isinstance(repository, S3Repository)
    yield repository
    await repository.close()


async def bucket_keys(repo: S3Repository) -> list[str]:
    answer = await repo.client.list_objects_v2(Bucket=repo.bucket)
    return sorted(entry["Key"] for entry in answer.get("Contents", []))


async def test_s3_keys_live_under_the_prefix(s3_repo: S3Repository, s3_destination: str) -> None:
    assert s3_repo.uri == s3_destination
    await put(s3_repo, "a/b.txt", b"b")
    await s3_repo.client.put_object(Bucket=s3_repo.bucket, Key="other/c.txt", Body=b"c")
    assert await bucket_keys(s3_repo) == ["artifacts/a/b.txt", "other/c.txt"]
    assert await s3_repo.list("") == [folder("a")]
    await s3_repo.delete("a")
    assert await bucket_keys(s3_repo) == ["other/c.txt"]


async def test_s3_folder_markers_are_not_files(s3_repo: S3Repository) -> None:
    client: Any = s3_repo.client
    await client.put_object(Bucket=s3_repo.bucket, Key="artifacts/made-in-console/", Body=b"")
    assert await s3_repo.list("") == [folder("made-in-console")]
    assert await s3_repo.list("made-in-console") == []
    with pytest.raises(ArtifactNotFound):
        await s3_repo.open("made-in-console")
    await s3_repo.delete("made-in-console")
    assert await bucket_keys(s3_repo) == []


async def test_s3_list_and_delete_past_one_page(s3_repo: S3Repository) -> None:
    s3_repo.page_size = 3  # so a few keys exercise what a thousand would on real S3
    names = [f"many/{i:02}.txt" for i in range(8)] + [f"many/sub{i}/x" for i in range(4)]
    for path in names:
        await put(s3_repo, path, b"x")
    listed = await s3_repo.list("many")
    assert listed == [file(n, 1) for n in names[:8]] + [folder(f"many/sub{i}") for i in range(4)]
    await s3_repo.delete("many")
    assert await bucket_keys(s3_repo) == []


async def test_s3_repository_from_explicit_env(s3_server: Any) -> None:
    from tracking.artifacts.s3 import open_s3_repository

    bucket = s3_server.create_bucket()
    repository = await open_s3_repository(f"s3://{bucket}/x/", env=s3_server.env)
    try:
        assert repository.uri == f"s3://{bucket}/x"
        await put(repository, "f", b"explicit")
        assert await read_all(repository, "f") == b"explicit"
    finally:
        await repository.close()


@pytest.mark.parametrize(
    "uri", ["s3://", "s3:///prefix", "s3://b/a//c", "s3://b/../c", "s3://b/p?x"]
)
async def test_s3_bad_locations_refused(uri: str) -> None:
    from tracking.artifacts.s3 import open_s3_repository

    with pytest.raises(ValueError):
        await open_s3_repository(uri, env={})


# -- local only: symlinks planted inside the root never lead out of it --


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    place = tmp_path / "outside"
    (place / "dir").mkdir(parents=True)
    (place / "secret.txt").write_bytes(b"secret")
    (place / "dir" / "inner.txt").write_bytes(b"inner")
    return place


@pytest.fixture
async def planted(tmp_path: Path, outside: Path) -> AsyncIterator[LocalRepository]:
    repository = LocalRepository(tmp_path / "root")
    (repository.root / "sub").mkdir()
    for parent in (repository.root, repository.root / "sub"):
        (parent / "file_link").symlink_to(outside / "secret.txt")
        (parent / "dir_link").symlink_to(outside / "dir", target_is_directory=True)
    yield repository
    await repository.close()


def outside_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["dir", "secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"secret"
    assert [p.name for p in (outside / "dir").iterdir()] == ["inner.txt"]
    assert (outside / "dir" / "inner.txt").read_bytes() == b"inner"


@pytest.mark.parametrize("base", ["", "sub/"])
async def test_local_symlinks_not_followed_on_read(
    planted: LocalRepository, outside: Path, base: str
) -> None:
    for path in ["file_link", "dir_link/inner.txt", "dir_link"]:
        with pytest.raises(ArtifactNotFound):
            await planted.open(base + path)
    assert await planted.list(base + "dir_link") == []
    assert await planted.list(base.rstrip("/")) == ([folder("sub")] if not base else [])
    outside_untouched(outside)


@pytest.mark.parametrize("base", ["", "sub/"])
async def test_local_symlinks_not_followed_on_write(
    planted: LocalRepository, outside: Path, base: str
) -> None:
    for path in ["dir_link/inner.txt", "dir_link/new.txt", "dir_link/deeper/new.txt"]:
        with pytest.raises(InvalidParameterValue):
            await put(planted, base + path, b"planted")
    # Writing over the link replaces the link itself, never its target.
    await put(planted, base + "file_link", b"replaced")
    assert await read_all(planted, base + "file_link") == b"replaced"
    assert not (planted.root / base / "file_link").is_symlink()
    outside_untouched(outside)
    assert os.listdir(planted.root / STAGING) == []


@pytest.mark.parametrize("base", ["", "sub/"])
async def test_local_symlinks_not_followed_on_delete(
    planted: LocalRepository, outside: Path, base: str
) -> None:
    await planted.delete(base + "dir_link/inner.txt")
    outside_untouched(outside)
    await planted.delete(base + "dir_link")
    await planted.delete(base + "file_link")
    outside_untouched(outside)
    assert not (planted.root / base / "dir_link").is_symlink()
    assert not (planted.root / base / "file_link").is_symlink()
    await planted.delete("sub")
    outside_untouched(outside)
    assert await planted.list("") == []
