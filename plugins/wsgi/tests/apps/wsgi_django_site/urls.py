"""The URLs of the test project."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("where/", views.where),
    path("echo/", views.echo),
    path("protected/", views.protected),
    path("stream/", views.stream),
    path("cookie/", views.cookie),
    path("file/", views.file),
]
