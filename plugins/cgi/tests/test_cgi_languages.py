"""Real interpreters behind the CGI classes: Perl through a FilteredScript (the guide's
PerlScript) with a form and a file upload, Python as a CGIScript, and php-cgi through
PHPScript as processor of a File (the guide's setup): a POST form, an upload, and `$_SERVER`
against the environment a CGI script gets.  Perl and php-cgi come from Debian (.ci/run)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import requests
from cgi_scripts import DUMP, Scripts
from plugserve_cgi import FilteredScript, PHPScript
from plugserve_static import File

PERL = shutil.which("perl")
PHP_CGI = shutil.which("php-cgi")
needs_perl = pytest.mark.skipif(PERL is None, reason="perl is not installed (.ci/run installs it)")
needs_php = pytest.mark.skipif(PHP_CGI is None,
                               reason="php-cgi is not installed (.ci/run installs it)")

# No CGI.pm (Debian's perl has left it out since 5.22): the form and the upload parsed by hand.
FORM_PL = r"""
my $body = ''; read(STDIN, $body, $ENV{CONTENT_LENGTH} || 0);
print "Content-Type: text/plain\r\n\r\n";
if (($ENV{CONTENT_TYPE} || '') =~ m{^multipart/form-data; boundary=(.+)$}) {
    my $b = $1;
    for my $part (split /--\Q$b\E/, $body) {
        next unless $part =~ /name="(\w+)"(?:; filename="([^"]*)")?.*?\r\n\r\n(.*)\r\n$/s;
        print $2 ? "file $1=$2 " . length($3) . " bytes\n" : "field $1=$3\n";
    }
} else {
    for (split /&/, $body) { my ($k, $v) = split /=/; $v =~ tr/+/ /;
        $v =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge; print "field $k=$v\n"; }
}
print "method $ENV{REQUEST_METHOD}\n";
"""

INDEX_PL = 'print "Content-Type: text/plain\\r\\n\\r\\nperl index at $ENV{SCRIPT_NAME}\\n";\n'


class PerlScript(FilteredScript):
    filter = PERL or "/usr/bin/perl"


@pytest.fixture
def perlsite(tmp_path: Path) -> Path:
    (tmp_path / "form.pl").write_text(FORM_PL)
    (tmp_path / "index.pl").write_text(INDEX_PL)
    return tmp_path


@needs_perl
def test_perl_form(plugserve_server: Any, perlsite: Path) -> None:
    resource = File(str(perlsite))
    resource.processors = {".pl": PerlScript}
    server = plugserve_server(resource)
    response = requests.post(server.url + "/form.pl", data={"name": "Ada L", "x": "1&2"})
    assert response.text == "field name=Ada L\nfield x=1&2\nmethod POST\n"


@needs_perl
def test_perl_upload(plugserve_server: Any, perlsite: Path) -> None:
    resource = File(str(perlsite))
    resource.processors = {".pl": PerlScript}
    server = plugserve_server(resource)
    response = requests.post(server.url + "/form.pl", data={"title": "photo"},
                             files={"upload": ("cat.jpg", b"\xff\xd8" + bytes(5000))})
    assert response.text == ("field title=photo\nfile upload=cat.jpg 5002 bytes\n"
                             "method POST\n")


@needs_perl
def test_perl_index(plugserve_server: Any, perlsite: Path) -> None:
    resource = File(str(perlsite))
    resource.processors = {".pl": PerlScript}
    resource.indexNames = ["index.pl"]
    response = requests.get(plugserve_server(resource).url + "/")
    assert response.text == "perl index at /index.pl\n"


def test_python_cgi_script(plugserve_server: Any, scripts: Scripts) -> None:
    from plugserve.resource import Resource
    from plugserve_cgi import CGIDirectory

    scripts.add("app.py", DUMP)
    root = Resource()
    root.putChild(b"cgi-bin", CGIDirectory(str(scripts.path)))
    seen = requests.put(plugserve_server(root).url + "/cgi-bin/app.py/item/7",
                        data=b"payload").json()
    assert (seen["env"]["REQUEST_METHOD"], seen["env"]["PATH_INFO"]) == ("PUT", "/item/7")
    assert seen["body"] == "payload"


PHP_INFO = """<?php
header("Content-Type: application/json");
$keys = ["GATEWAY_INTERFACE", "SERVER_SOFTWARE", "SERVER_PROTOCOL", "SERVER_NAME",
         "SERVER_PORT", "REQUEST_METHOD", "REQUEST_URI", "REQUEST_SCHEME", "SCRIPT_NAME",
         "SCRIPT_FILENAME", "DOCUMENT_ROOT", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_PORT",
         "PATH_INFO", "PATH_TRANSLATED", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_HOST",
         "HTTP_X_MANY", "HTTP_COOKIE", "HTTP_PROXY"];
$server = [];
foreach ($keys as $k) { $server[$k] = $_SERVER[$k] ?? null; }
$files = [];
foreach ($_FILES as $name => $f) {
    $files[$name] = [$f["name"], $f["size"], md5_file($f["tmp_name"])];
}
echo json_encode(["server" => $server, "get" => $_GET, "post" => $_POST, "files" => $files,
                  "cookie" => $_COOKIE]);
"""


@pytest.fixture
def phpsite(tmp_path: Path, scripts: Scripts) -> Path:
    site = tmp_path / "php"
    site.mkdir()
    (site / "info.php").write_text(PHP_INFO)
    (site / "index.php").write_text('<?php echo "php index ", $_SERVER["SCRIPT_NAME"], "\\n";')
    (site / "status.php").write_text('<?php http_response_code(418); echo "teapot";')
    scripts.add("dump", DUMP)
    return site


def php_server(plugserve_server: Any, site: Path, scripts: Scripts) -> Any:
    """The guide's setup with PHPScript: a File whose .php files run through php-cgi, and
    index.php as its index; beside it, the environment dump as /cgi-bin/dump."""
    from plugserve_cgi import CGIDirectory

    resource = File(str(site))
    resource.processors = {".php": PHPScript}
    resource.indexNames = ["index.php"]
    resource.putChild(b"cgi-bin", CGIDirectory(str(scripts.path)))
    return plugserve_server(resource)


@needs_php
def test_php_index_and_status(plugserve_server: Any, phpsite: Path, scripts: Scripts) -> None:
    server = php_server(plugserve_server, phpsite, scripts)
    assert requests.get(server.url + "/").text == "php index /index.php\n"
    response = requests.get(server.url + "/status.php")
    assert (response.status_code, response.text) == (418, "teapot")


@needs_php
def test_php_sees_the_environment_a_cgi_script_sees(plugserve_server: Any, phpsite: Path,
                                                    scripts: Scripts) -> None:
    server = php_server(plugserve_server, phpsite, scripts)
    headers = {"X-Many": "1", "Cookie": "a=1", "Proxy": "http://evil:1"}
    php = requests.get(server.url + "/info.php/extra?q=1", headers=headers).json()
    env = requests.get(server.url + "/cgi-bin/dump/extra?q=1", headers=headers).json()["env"]
    same = ["GATEWAY_INTERFACE", "SERVER_SOFTWARE", "SERVER_PROTOCOL", "SERVER_NAME",
            "SERVER_PORT", "REQUEST_METHOD", "REQUEST_SCHEME", "QUERY_STRING", "REMOTE_ADDR",
            "PATH_INFO", "HTTP_HOST", "HTTP_X_MANY", "HTTP_COOKIE"]
    assert {k: php["server"][k] for k in same} == {k: env[k] for k in same}
    assert php["server"]["SCRIPT_NAME"] == "/info.php"
    assert php["server"]["SCRIPT_FILENAME"] == str(phpsite / "info.php")
    assert php["server"]["REQUEST_URI"] == "/info.php/extra?q=1"
    assert php["server"]["HTTP_PROXY"] is None
    assert (php["get"], php["cookie"]) == ({"q": "1"}, {"a": "1"})


@needs_php
def test_php_post_form(plugserve_server: Any, phpsite: Path, scripts: Scripts) -> None:
    server = php_server(plugserve_server, phpsite, scripts)
    php = requests.post(server.url + "/info.php?from=query",
                        data={"name": "Ada", "tags[]": ["a", "b"]}).json()
    assert php["post"] == {"name": "Ada", "tags": ["a", "b"]}
    assert php["get"] == {"from": "query"}
    assert php["server"]["CONTENT_TYPE"] == "application/x-www-form-urlencoded"


@needs_php
def test_php_upload(plugserve_server: Any, phpsite: Path, scripts: Scripts) -> None:
    import hashlib

    server = php_server(plugserve_server, phpsite, scripts)
    data = bytes(range(256)) * 2000
    php = requests.post(server.url + "/info.php", data={"t": "x"},
                        files={"doc": ("report.bin", data)}).json()
    assert php["files"] == {"doc": ["report.bin", len(data), hashlib.md5(data).hexdigest()]}
    assert php["post"] == {"t": "x"}


@needs_php
def test_php_never_gets_the_query_as_options(plugserve_server: Any, phpsite: Path,
                                             scripts: Scripts) -> None:
    """CVE-2012-1823: `?-s` would make php-cgi print the script's source."""
    server = php_server(plugserve_server, phpsite, scripts)
    for query in ("-s", "-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input"):
        response = requests.post(server.url + "/index.php?" + query,
                                 data=b"<?php echo 'INJECTED'; ?>")
        assert response.text == "php index /index.php\n", query


@needs_php
def test_a_path_through_a_file_never_runs_php_on_it(plugserve_server: Any, phpsite: Path,
                                                    scripts: Scripts) -> None:
    """The processor comes from the file found: /a.jpg/x.php does not run PHP on a.jpg."""
    (phpsite / "a.jpg").write_text("<?php echo 'RAN AS PHP';")
    server = php_server(plugserve_server, phpsite, scripts)
    response = requests.get(server.url + "/a.jpg/x.php")
    assert response.status_code == 404 and "RAN AS PHP" not in response.text
