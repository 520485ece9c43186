"""zh-CN / en strings of the login and account pages (added to equipment.web.i18n by the auth Domain)."""

TEXT = {
    "auth.bad_credentials": ("用户名或密码错误。连续输错后需稍候再试。",
                             "Wrong username or password. After repeated failures, wait a while before retrying."),
    "auth.rate_limited": ("尝试过于频繁，请稍后再试。", "Too many attempts, try again later."),
    "auth.error": ("登录失败，请重试。", "Login failed, try again."),
    "auth.change_password": ("修改密码", "Change password"),
    "auth.current_password": ("当前密码", "Current password"),
    "auth.new_password": ("新密码", "New password"),
    "auth.password_rules": ("至少 8 位；不能是常见密码，也不能包含用户名。修改后所有设备需重新登录。",
                            "At least 8 characters; not a common password and not containing the username. "
                            "Every device must log in again afterwards."),
    "auth.password_changed": ("密码已修改，请用新密码重新登录。", "Password changed: log in with the new one."),
}
