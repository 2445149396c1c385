"""The Twisted Web guide's CGI examples, ported to plugserve-cgi with only their imports and run
lines changed, served by the real command and checked over HTTP:

- examples/guide/cgi_directory.py: "Adding Children", a File root with a cgi-bin child that is
  a `twcgi.CGIDirectory`, over real sh and Perl scripts;
- examples/guide/cgi_perl/perl.rpy: "Serving PHP/Perl/CGI", the .rpy whose `File` runs `.pl`
  files through `PerlScript(twcgi.FilteredScript)`, with `indexNames = ['index.pl']`, served
  with `plugserve --path`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import LOOPBACK, REPO, running
from tests.test_static_guide_examples import get, serve

GUIDE = REPO / "examples" / "guide"
EXAMPLES = [GUIDE / "cgi_directory.py", GUIDE / "cgi_perl" / "perl.rpy"]

pytestmark = pytest.mark.skipif(shutil.which("perl") is None, reason="needs perl")

PERL_FORM = """\
my $query = $ENV{QUERY_STRING};
print "Content-Type: text/plain\\r\\n\\r\\n";
print "perl says $query from $ENV{SCRIPT_NAME}\\n";
"""


def test_every_cgi_example_file_is_tested() -> None:
    found = sorted([*GUIDE.glob("cgi_*.py"), *GUIDE.glob("cgi_perl/*")])
    assert found == sorted(EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_says_where_it_comes_from(path: Path) -> None:
    source = path.read_text()
    assert source.splitlines()[0].startswith("# Twisted Web guide, "), path
    assert re.search(r"^\s*(from|import)\s+twisted\b", source, re.M) is None
    assert re.search(r'os\.environ\.get\("[A-Z_]+", "/(var|perlsite)', source), path


def test_cgi_directory_under_a_file_root(tmp_path: Path) -> None:
    htdocs, cgi_bin = tmp_path / "htdocs", tmp_path / "cgi-bin"
    htdocs.mkdir()
    cgi_bin.mkdir()
    (htdocs / "hello.txt").write_text("static hello\n")
    sh = cgi_bin / "hello.sh"
    sh.write_text('#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nsh: %s %s\\n" '
                  '"$PATH_INFO" "$QUERY_STRING"\n')
    perl = cgi_bin / "form.pl"
    perl.write_text("#!/usr/bin/env perl\n" + PERL_FORM)
    (cgi_bin / "notes.txt").write_text("not a script\n")
    for script in (sh, perl):
        script.chmod(0o755)
    with serve("cgi_directory", {"HTDOCS": str(htdocs), "CGIBIN": str(cgi_bin)}) as server:
        assert get(server.url, "/hello.txt").body == b"static hello\n"
        answer = get(server.url, "/cgi-bin/hello.sh/extra/path?a=1")
        assert (answer.status, answer.body) == (200, b"sh: /extra/path a=1\n")
        form = get(server.url, "/cgi-bin/form.pl?name=alice")
        assert (form.status, form.body) == (200, b"perl says name=alice from /cgi-bin/form.pl\n")
        assert get(server.url, "/cgi-bin/notes.txt").status == 403  # not executable
        assert get(server.url, "/cgi-bin/").status == 404  # the directory itself
        assert get(server.url, "/cgi-bin/missing.sh").status == 404


def test_perl_rpy_serves_a_perl_site(tmp_path: Path) -> None:
    site, docroot = tmp_path / "perlsite", tmp_path / "docroot"
    site.mkdir()
    docroot.mkdir()
    (site / "index.pl").write_text(
        'print "Content-Type: text/html\\r\\n\\r\\n<h1>perl home</h1>";\n')
    (site / "form.pl").write_text(PERL_FORM)  # not executable: the filter runs it
    (site / "plain.txt").write_text("plain file\n")
    shutil.copy(GUIDE / "cgi_perl" / "perl.rpy", docroot / "perl.rpy")
    with running(["--path", str(docroot), "--listen", LOOPBACK],
                 env={"PERLSITE": str(site)}) as server:
        home = get(server.url, "/perl.rpy/")
        assert (home.status, home.body) == (200, b"<h1>perl home</h1>")
        assert home.header("Content-Type") == "text/html"
        form = get(server.url, "/perl.rpy/form.pl?x=2")
        assert (form.status, form.body) == (200, b"perl says x=2 from /perl.rpy/form.pl\n")
        assert get(server.url, "/perl.rpy/plain.txt").body == b"plain file\n"
