"""One error hierarchy, mapped once to the JSON envelope {"error": {"code", "message", "details"}}."""
from __future__ import annotations

from flask import current_app, jsonify, make_response, render_template, request
from marshmallow import Schema, ValidationError, fields
from werkzeug.exceptions import HTTPException


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details=None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class BadRequest(AppError):
    status, code = 400, "bad_request"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class InvalidState(AppError):
    status, code = 409, "invalid_state"


class Gone(AppError):
    status, code = 410, "gone"


class Invalid(AppError):
    """Field-level validation failure; details maps field -> list of messages."""
    status, code = 422, "validation_error"


class RateLimited(AppError):
    status, code = 429, "rate_limited"


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorEnvelope(Schema):
    """What every error answer looks like; documented in the OpenAPI instead of flask-smorest's default."""
    error = fields.Nested(ErrorBody, required=True)


def envelope(status: int, code: str, message: str, details=None):
    resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    resp.status_code = status
    return resp


def _wants_html() -> bool:
    if request.path.startswith("/api/"):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def _respond(status: int, code: str, message: str, details=None):
    # the message catalogue (web/error_text.py) puts texts in the request's language; code and shape stay
    localise = current_app.extensions.get("error_text")
    if localise:
        message, details = localise(status, message, details)
    if _wants_html():
        return render_template("error.html", status=status, code=code, message=message), status
    return envelope(status, code, message, details)


def handle_app_error(err: AppError):
    return _respond(err.status, err.code, err.message, err.details)


def handle_validation_error(err: ValidationError):
    return _respond(422, "validation_error", "Invalid input", err.normalized_messages())


def handle_http_exception(err: HTTPException):
    # webargs/flask-smorest put field errors in err.data["messages"]; unwrap the location level.
    data = getattr(err, "data", None) or {}
    messages = data.get("messages")
    if messages:
        details = {}
        for per_location in messages.values():
            details.update(per_location if isinstance(per_location, dict) else {"_schema": per_location})
        return _respond(422, "validation_error", "Invalid input", details)
    code = (err.name or "error").lower().replace(" ", "_")
    resp = _respond(err.code or 500, code, err.description or err.name)
    allow = getattr(err, "valid_methods", None)
    if allow:  # RFC 9110: a 405 names the methods the resource does support
        resp = make_response(resp)
        resp.headers["Allow"] = ", ".join(sorted(allow))
    return resp


def handle_unexpected(err: Exception):
    import logging
    logging.getLogger("equipment").exception("unhandled error on %s %s", request.method, request.path)
    return _respond(500, "internal_error", "Internal server error")


def init_app(app) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
