from flask import Blueprint as PageBlueprint
from flask import g, redirect, render_template, request, session, url_for
from flask_smorest import Blueprint

from equipment.auth import schemas, service
from equipment.core import ratelimit
from equipment.core.errors import AppError
from equipment.web import error_text, i18n

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


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout():
    """Revoke the bearer token of this request at once."""
    service.logout(actor=service.require_actor())


@blp.route("/password", methods=["POST"])
@blp.arguments(schemas.PasswordChange)
@blp.response(204)
def change_password(body):
    """Change one's own password; every token and page session of the user stops working (log in again)."""
    ratelimit.check("login", "LOGIN_RATE_LIMIT")
    service.change_own_password(actor=service.require_actor(), **body)


@users_blp.route("", methods=["POST"])
@users_blp.arguments(schemas.UserCreate)
@users_blp.response(201, schemas.UserOut)
def create_user(body):
    service.require_actor("admin")
    return service.create_user(**body)


@users_blp.route("", methods=["GET"])
@users_blp.arguments(schemas.UserQuery, location="query")
@users_blp.response(200, schemas.UserPage)
def list_users(args):
    return service.list_users(actor=service.require_actor("admin"), **args)


@users_blp.route("/<int:user_id>/password", methods=["POST"])
@users_blp.arguments(schemas.PasswordSet)
@users_blp.response(200, schemas.UserOut)
def set_password(body, user_id):
    """Set a user's password (admin); the user's tokens and sessions stop working."""
    return service.set_password(actor=service.require_actor("admin"), user_id=user_id, **body)


@users_blp.route("/<int:user_id>/<any(deactivate, activate):action>", methods=["POST"])
@users_blp.response(200, schemas.UserOut)
def set_active(user_id, action):
    """Deactivate (cuts off every token and session at once) or reactivate a user (admin)."""
    return service.set_active(actor=service.require_actor("admin"), user_id=user_id, active=action == "activate")


@users_blp.route("/<int:user_id>/revoke", methods=["POST"])
@users_blp.response(200, schemas.UserOut)
def revoke(user_id):
    """Revoke every token and page session of the user (admin)."""
    return service.revoke_all(actor=service.require_actor("admin"), user_id=user_id)


@users_blp.route("/<int:user_id>/unlock", methods=["POST"])
@users_blp.response(200, schemas.UnlockOut)
def unlock(user_id):
    """Clear the login back-off of the user on every client (admin)."""
    return service.unlock(actor=service.require_actor("admin"), user_id=user_id)


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
            error, status = err.code, err.status  # 401, or 429 when rate-limited
    notice = "auth.password_changed" if request.args.get("done") == "password" else None
    return render_template("login.html", error=error, next=nxt, notice=notice), status


def _local_path(target: str) -> str:
    """Only a path on this site: browsers read "/\\evil" and "/\t/evil" as "//evil" (another host)."""
    cleaned = "".join(ch for ch in target if ch >= " " and ch != "\x7f").replace("\\", "/")
    return cleaned if cleaned.startswith("/") and not cleaned.startswith("//") else "/"


@pages.route("/logout", methods=["POST"], endpoint="logout")
def logout_page():
    """Ends this page session on the server too: a copy of the cookie no longer works."""
    actor = g.get("actor")
    if actor is not None:
        service.logout(actor=actor)
    session.clear()
    return redirect(url_for("auth_pages.login"))


@pages.route("/account/password", methods=["GET", "POST"])
def password_page():
    actor = g.get("actor")
    if actor is None:
        return redirect(url_for("auth_pages.login", next="/account/password"))
    error, status = None, 200
    if request.method == "POST":
        try:
            ratelimit.check("login", "LOGIN_RATE_LIMIT")
            service.change_own_password(actor=actor, current_password=request.form.get("current_password", ""),
                                        new_password=request.form.get("new_password", ""))
            session.clear()
            return redirect(url_for("auth_pages.login", done="password"))
        except AppError as err:
            error, status = _say(err), err.status
    return render_template("account_password.html", error=error), status


def _say(err: AppError) -> str:
    """The error in the page's language (the message catalogue), a password rule's own words first."""
    if err.code == "bad_credentials":
        return i18n.t("auth.bad_credentials")
    message, details = error_text.localise(err.status, err.message, err.details, lang=i18n.lang())
    return next(iter(details.get("password") or details.get("new_password") or []), message)
