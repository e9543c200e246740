"""Artifacts in an S3-compatible bucket (AWS S3, MinIO, Ceph...) through aiobotocore.

An object becomes visible only when its upload completes (a single PUT, or a multipart upload
once completed), so writes are atomic without a staging area; an abandoned multipart upload is
invisible until `purge_incomplete` aborts it. Keys are the repository prefix joined with the
relative path, and the bucket never comes from a path.
"""

import asyncio
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from tracking.artifacts import paths
from tracking.artifacts.base import CHUNK_BYTES, ArtifactNotFound, FileInfo
from tracking.errors import InvalidParameterValue

PART_BYTES = 8 * 1024 * 1024  # S3 wants >= 5 MiB for every part but the last
DEFAULT_REGION = "us-east-1"
_ENDPOINT_VARS = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_MISSING = ("NoSuchKey", "NotFound", "404")

log = logging.getLogger(__name__)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://bucket/prefix; the prefix has no leading or trailing slash."""
    parts = urlsplit(uri)
    prefix = parts.path.strip("/")
    segments = prefix.split("/") if prefix else []
    if (
        parts.scheme != "s3"
        or not parts.netloc
        or parts.query
        or parts.fragment
        or any(s in ("", ".", "..") for s in segments)
    ):
        raise ValueError(f"Invalid S3 location '{uri}': use s3://bucket/prefix")
    return parts.netloc, prefix


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3Download:
    def __init__(self, body: Any, size: int) -> None:
        self.body: Any = body
        self.size = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while self.body is not None:
                chunk = await self.body.read(CHUNK_BYTES)
                if not chunk:
                    break
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        body, self.body = self.body, None
        if body is not None:
            # Once the body is read to the end aiohttp has already pooled the connection; closing
            # earlier drops it, which is what an abandoned download should do.
            body.close()


class S3Repository:
    page_size = 1000  # keys per listing page and per DeleteObjects call (its limit)

    def __init__(self, client: Any, exit_stack: AsyncExitStack, bucket: str, prefix: str) -> None:
        self.client = client
        self._exit_stack = exit_stack
        self.bucket = bucket
        self.prefix = prefix
        self.uri = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"

    def _key(self, path: str) -> str:
        # Paths arrive validated; refusing dot and empty segments again keeps a path-style URL
        # (/bucket/key) from ever being normalized into another bucket by a proxy on the way.
        segments = path.split("/") if path else []
        if any(s in ("", ".", "..") for s in segments):
            raise paths.invalid_path()
        return "/".join([self.prefix, *segments] if self.prefix else segments)

    def _dir_prefix(self, path: str) -> str:
        key = self._key(path)
        return f"{key}/" if key else ""

    async def write(self, path: str, chunks: AsyncIterable[bytes]) -> int:
        if not path:
            raise paths.invalid_path()
        key = self._key(path)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        written = 0
        try:
            async for chunk in chunks:
                buffer += chunk
                written += len(chunk)
                # Only a body known to exceed one part pays for a multipart upload.
                while len(buffer) > PART_BYTES:
                    if upload_id is None:
                        created = await self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=key
                        )
                        upload_id = created["UploadId"]
                    part = bytes(buffer[:PART_BYTES])
                    del buffer[:PART_BYTES]
                    parts.append(await self._upload_part(key, upload_id, len(parts) + 1, part))
            if upload_id is None:
                await self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
                return written
            parts.append(await self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
            await self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            if upload_id is not None:
                await asyncio.shield(self._abort_quietly(key, upload_id))
            raise
        return written

    async def _upload_part(
        self, key: str, upload_id: str, number: int, data: bytes
    ) -> dict[str, Any]:
        answer = await self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    async def _abort_quietly(self, key: str, upload_id: str) -> None:
        # The upload's own error is the one to report; what this misses, purge_incomplete collects.
        try:
            await self._abort(key, upload_id)
        except Exception:
            log.warning("Could not abort the upload of %s; purge will retry", key, exc_info=True)

    async def _abort(self, key: str, upload_id: str) -> bool:
        try:
            await self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                return False
            raise
        return True

    async def open(self, path: str) -> S3Download:
        if not path:
            raise ArtifactNotFound(path)
        try:
            answer = await self.client.get_object(Bucket=self.bucket, Key=self._key(path))
        except ClientError as exc:
            if _missing(exc):
                raise ArtifactNotFound(path) from None
            raise
        return S3Download(answer["Body"], int(answer["ContentLength"]))

    async def list(self, path: str) -> list[FileInfo]:
        listed = self._dir_prefix(path)
        files = []
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=listed,
            Delimiter="/",
            PaginationConfig={"PageSize": self.page_size},
        )
        async for page in pages:
            for entry in page.get("CommonPrefixes", []):
                name = entry["Prefix"][len(listed) : -1]
                if name:  # "a//b" written by another tool makes an unnamed folder: not ours
                    files.append(FileInfo(paths.join(path, name), True, None))
            for entry in page.get("Contents", []):
                name = entry["Key"][len(listed) :]
                if name:  # not the zero-byte "folder" object some consoles create
                    files.append(FileInfo(paths.join(path, name), False, int(entry["Size"])))
        return sorted(files, key=lambda f: f.path)

    async def delete(self, path: str) -> None:
        if not path:
            raise InvalidParameterValue("Refusing to delete the artifact root")
        key = self._key(path)
        await self.client.delete_object(Bucket=self.bucket, Key=key)
        # List from the start after each batch rather than paginate over keys being deleted.
        while True:
            page = await self.client.list_objects_v2(
                Bucket=self.bucket, Prefix=f"{key}/", MaxKeys=self.page_size
            )
            keys = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
            if not keys:
                return
            answer = await self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
            )
            if answer.get("Errors"):
                error = answer["Errors"][0]
                raise RuntimeError(f"S3 refused to delete {error.get('Key')}: {error.get('Code')}")

    async def purge_incomplete(self, older_than_seconds: float) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
        stale = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self._dir_prefix("")):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    stale.append((upload["Key"], upload["UploadId"]))
        removed = 0
        for key, upload_id in stale:
            removed += await self._abort(key, upload_id)
        return removed

    async def close(self) -> None:
        await self._exit_stack.aclose()


def _client_options(env: Mapping[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    endpoint = next((env[name] for name in _ENDPOINT_VARS if env.get(name)), None)
    config: dict[str, Any] = {"signature_version": "s3v4", "max_pool_connections": 64}
    if endpoint:
        options["endpoint_url"] = endpoint
        # MinIO, Ceph and moto serve every bucket under one host; newer default checksums
        # (botocore >= 1.36) are not understood by every S3-compatible store.
        config["s3"] = {"addressing_style": "path"}
        config["request_checksum_calculation"] = "when_required"
        config["response_checksum_validation"] = "when_required"
    options["config"] = AioConfig(**config)
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        options["aws_access_key_id"] = env["AWS_ACCESS_KEY_ID"]
        options["aws_secret_access_key"] = env["AWS_SECRET_ACCESS_KEY"]
        options["aws_session_token"] = env.get("AWS_SESSION_TOKEN") or None
    return options


async def open_s3_repository(uri: str, env: Mapping[str, str] | None = None) -> S3Repository:
    """Connect to the bucket of s3://bucket/prefix.

    Endpoint, keys and region come from `env` (default: the process environment); without keys
    there, botocore's usual chain (profiles, instance roles...) applies.
    """
    bucket, prefix = parse_s3_uri(uri)
    source: Mapping[str, str] = os.environ if env is None else env
    session = get_session()
    region = (
        source.get("AWS_REGION")
        or source.get("AWS_DEFAULT_REGION")
        or await asyncio.to_thread(session.get_config_variable, "region")  # reads ~/.aws/config
        or DEFAULT_REGION
    )
    stack = AsyncExitStack()
    client_context = session.create_client("s3", region_name=region, **_client_options(source))
    client = await stack.enter_async_context(client_context)
    return S3Repository(client, stack, bucket, prefix)
