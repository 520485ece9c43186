"""Extension instances only; bound to an app in create_app."""
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from equipment.core.errors import ErrorEnvelope
from equipment.core.models import Base
from equipment.core.openapi import BoundaryContract, NullableResponseFields

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = Api(spec_kwargs={"extra_plugins": [NullableResponseFields(), BoundaryContract()]})
api.ERROR_SCHEMA = ErrorEnvelope  # the documented error responses are our envelope, not flask-smorest's
