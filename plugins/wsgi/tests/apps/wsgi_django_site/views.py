"""The views: a page, a POST without and with CSRF protection, a streamed response, cookies."""

from __future__ import annotations

import hashlib

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return HttpResponse("Hello from Django", content_type="text/plain")


def where(request):
    return JsonResponse({
        "path": request.path, "path_info": request.path_info,
        "script_name": request.META["SCRIPT_NAME"], "absolute": request.build_absolute_uri(),
        "host": request.get_host(), "secure": request.is_secure(),
    })


@csrf_exempt
def echo(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    files = {name: hashlib.sha256(f.read()).hexdigest() for name, f in request.FILES.items()}
    return JsonResponse({"post": {k: request.POST.getlist(k) for k in request.POST},
                         "files": files, "get": request.GET.get("q")})


def protected(request):
    return HttpResponse("only with a CSRF token", content_type="text/plain")


def stream(request):
    return StreamingHttpResponse((f"part {i}\n".encode() for i in range(4)),
                                 content_type="text/plain")


def file(request):
    return FileResponse(open(__file__, "rb"), content_type="text/plain")


def cookie(request):
    response = HttpResponse(request.COOKIES.get("seen", "first visit"), content_type="text/plain")
    response.set_cookie("seen", "yes", httponly=True)
    return response
