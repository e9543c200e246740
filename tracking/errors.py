"""MLflow error codes as exceptions with their HTTP statuses, and the middleware rendering them."""

import logging
from typing import ClassVar

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger(__name__)


class MlflowError(Exception):
    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error_code": self.code, "message": self.message}


class InvalidParameterValue(MlflowError):
    code, status = "INVALID_PARAMETER_VALUE", 400


class BadRequest(MlflowError):
    code, status = "BAD_REQUEST", 400


class ResourceAlreadyExists(MlflowError):
    code, status = "RESOURCE_ALREADY_EXISTS", 400  # MLflow answers 400 here, not 409


class ResourceDoesNotExist(MlflowError):
    code, status = "RESOURCE_DOES_NOT_EXIST", 404


class EndpointNotFound(MlflowError):
    code, status = "ENDPOINT_NOT_FOUND", 404


class MethodNotAllowed(MlflowError):
    code, status = "BAD_REQUEST", 405


class RequestTooLarge(MlflowError):
    code, status = "RESOURCE_EXHAUSTED", 413


class NotImplementedYet(MlflowError):
    code, status = "NOT_IMPLEMENTED", 501


class TemporarilyUnavailable(MlflowError):
    code, status = "TEMPORARILY_UNAVAILABLE", 503


class InternalError(MlflowError):
    code, status = "INTERNAL_ERROR", 500


def missing_value(name: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Missing value for required parameter '{name}'. "
        "See the API docs for more information about request parameters."
    )


_STATUS_ERRORS: dict[int, type[MlflowError]] = {
    404: EndpointNotFound,
    405: MethodNotAllowed,
    413: RequestTooLarge,
}


def from_http_exception(exc: "web.HTTPException") -> MlflowError:
    """aiohttp's own 404/405/413 rendered in MLflow's error shape."""
    kind = _STATUS_ERRORS.get(exc.status, BadRequest)
    if exc.status == 404:
        return kind("Endpoint not found: no route matches this path.")
    if exc.status == 405:
        return kind(f"Method not allowed: {exc.reason}")
    if exc.status == 413:
        return kind(f"Request body too large: {exc.text}")
    return kind(exc.text or exc.reason)


def render(error: MlflowError) -> "web.Response":
    return web.Response(
        body=orjson.dumps(error.to_dict()),
        status=error.status,
        content_type="application/json",
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except MlflowError as exc:
        if exc.status >= 500:
            log.warning("%s %s: %s %s", request.method, request.path, exc.code, exc.message)
        return render(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return render(from_http_exception(exc))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render(InternalError("Internal server error"))
