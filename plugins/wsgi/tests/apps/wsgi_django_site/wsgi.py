"""The WSGI entry point, as `django-admin startproject` writes it."""

import os
from wsgiref.validate import validator

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wsgi_django_site.settings")

application = get_wsgi_application()

#: The same behind wsgiref.validate.validator, for the command-line tests.
validated_application = validator(application)
