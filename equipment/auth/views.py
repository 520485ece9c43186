from flask import Blueprint as PageBlueprint
from flask import redirect, render_template, request, session, url_for
from flask_smorest import Blueprint

from equipment.auth import schemas, service
from equipment.core import ratelimit
from equipment.core.errors import AppError

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Tokens and users")
users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users")
pages = PageBlueprint("auth_pages", __name__)


@blp.route("/token", methods=["POST"])
@blp.arguments(schemas.TokenRequest)
@blp.response(200, schemas.TokenResponse)
def token(body):
    ratelimit.check("login", "LOGIN_RATE_LIMIT")
    return service.issue_token(**body)


@blp.route("/me", methods=["GET"])
@blp.response(200, schemas.MeOut)
def me():
    return service.require_actor()


@users_blp.route("", methods=["POST"])
@users_blp.arguments(schemas.UserCreate)
@users_blp.response(201, schemas.UserOut)
def create_user(body):
    service.require_actor("admin")
    return service.create_user(**body)


@pages.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    nxt = _local_path(request.values.get("next") or "/")
    if request.method == "POST":
        try:
            ratelimit.check("login", "LOGIN_RATE_LIMIT")
            service.login_session(username=request.form.get("username", ""),
                                  password=request.form.get("password", ""))
            return redirect(nxt)
        except AppError as err:
            error, status = err.message, err.status  # 401, or 429 when rate-limited
    return render_template("login.html", error=error, next=nxt), status


def _local_path(target: str) -> str:
    """Only a path on this site: browsers read "/\\evil" and "/\t/evil" as "//evil" (another host)."""
    cleaned = "".join(ch for ch in target if ch >= " " and ch != "\x7f").replace("\\", "/")
    return cleaned if cleaned.startswith("/") and not cleaned.startswith("//") else "/"


@pages.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth_pages.login"))
