"""A small Flask application for the WSGI tests: routes, forms, a streamed upload, a streamed
response, cookies and the session.  `create_app()` is the factory; `app` is one made at import."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from wsgiref.validate import validator

from flask import (
    Flask,
    Response,
    jsonify,
    make_response,
    request,
    send_file,
    session,
    stream_with_context,
)


def _digest(stream, size: int = 1 << 20) -> tuple[int, str]:
    """Length and SHA-256 of a stream, read a piece at a time (never whole in memory)."""
    hasher = hashlib.sha256()
    total = 0
    while data := stream.read(size):
        hasher.update(data)
        total += len(data)
    return total, hasher.hexdigest()


def create_app(name: str = "flask-test") -> Flask:
    """The application (the factory that `--wsgi 'wsgi_flask_app:create_app()'` calls)."""
    app = Flask(__name__)
    app.secret_key = b"only for tests"
    app.config["APP_NAME"] = name
    # A limit, as production apps set: Werkzeug then reads wsgi.input with read(n) only.
    # Without one, since the server sets wsgi.input_terminated, it calls read() with no size,
    # which PEP 3333 allows but wsgiref.validate (stricter, for applications) rejects.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024

    @app.get("/")
    def index():
        return f"Hello from {app.config['APP_NAME']}"

    @app.get("/users/<int:user_id>")
    def user(user_id: int):
        return jsonify(id=user_id, q=request.args.get("q"))

    @app.get("/where")
    def where():
        return jsonify(script_root=request.script_root, path=request.path,
                       url=request.url, link=app.url_for("user", user_id=3, _external=True))

    @app.post("/form")
    def form():
        return jsonify(name=request.form["name"], tags=request.form.getlist("tag"))

    @app.post("/upload")
    def upload():
        upload = request.files["file"]
        size, digest = _digest(upload.stream)
        return jsonify(filename=upload.filename, size=size, sha256=digest,
                       note=request.form.get("note"))

    @app.put("/raw")
    def raw():
        size, digest = _digest(request.stream)
        return jsonify(size=size, sha256=digest)

    @app.get("/stream")
    def stream():
        count = request.args.get("n", 5, type=int)

        def lines() -> Iterator[str]:
            for i in range(count):
                yield f"line {i} of {request.path}\n"

        return Response(stream_with_context(lines()), mimetype="text/plain")

    @app.get("/cookie/set")
    def set_cookie():
        response = make_response("set")
        response.set_cookie("flavour", "oatmeal", httponly=True, samesite="Lax")
        return response

    @app.get("/cookie/get")
    def get_cookie():
        return request.cookies.get("flavour", "none")

    @app.get("/visits")
    def visits():
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.get("/file")
    def file():
        return send_file(__file__, mimetype="text/plain")

    @app.get("/boom")
    def boom():
        raise RuntimeError("flask view failed")

    return app


def create_validated_app(name: str = "flask-test"):
    """The application behind wsgiref.validate.validator, for the command-line tests."""
    return validator(create_app(name))


app = create_app()
