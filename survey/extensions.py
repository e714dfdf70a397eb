"""Flask extensions, unbound; create_app binds them (migrations: survey/migrating.py)."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy

from survey.csrf import RotatingCSRFProtect
from survey.orm import Base
from survey.page_headers import OncePerViewTalisman

db = SQLAlchemy(model_class=Base)
csrf = RotatingCSRFProtect()
login = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
talisman = OncePerViewTalisman()
