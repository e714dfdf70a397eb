"""Administration views."""

from flask import render_template

from survey.admin import bp
from survey.auth.service import role_required

