"""One SMTP setting serves reminders and emergency email: EQUIPMENT_SMTP_URL is understood by both."""
from equipment.emergency.channels import _smtp_server


def test_smtp_url_fallback(app):
    with app.app_context():
        app.config["EMERGENCY_SMTP_URL"] = "smtp://alerts:s3cret@127.0.0.1:2525"
        try:
            assert _smtp_server() == ("127.0.0.1", 2525, "alerts", "s3cret")
            app.config["EMERGENCY_SMTP_HOST"] = "mail.local"
            assert _smtp_server()[:2] == ("mail.local", 25)
        finally:
            app.config.pop("EMERGENCY_SMTP_URL")
            app.config.pop("EMERGENCY_SMTP_HOST", None)
