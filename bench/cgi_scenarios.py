"""The CGI scenarios of bench/run.py: cgi-hello and php-hello.

Both start one process per request, so the figures measure process start-up as much as HTTP:

- cgi-hello: `GET /cgi-bin/hello.sh`, a `#!/bin/sh` script (HELLO_SH below) written into the
  run's temporary directory; plugserve on each engine with `--cgi-dir /cgi-bin=DIR` (plugin
  plugserve-cgi) against Twisted Web's `twcgi.CGIDirectory` (servers/twisted_cgi.py);
- php-hello: `GET /hello.php` (`<?php echo "Hello, world!\\n";`) under a docroot of its own;
  plugserve `--php --php-cgi /usr/bin/php-cgi --path DIR` against Twisted's `static.File` with
  a `FilteredScript` processor running /usr/bin/php-cgi (servers/twisted_php.py, started with
  REDIRECT_STATUS=200 in its environment).

The scenarios set `Scenario.scripts`: the server's CPU is its main process's alone, and the CPU
of the scripts it reaped during the run (cutime+cstime) gets columns of its own.  Targets:
plugserve ≥ 1.5x Twisted's req/s on each engine.

Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Callable

from _common import REPO_ROOT, SERVERS_DIR
from _rows import (
    ENGINES,
    Command,
    Env,
    Need,
    Row,
    Scenario,
    Target,
    engine_rows,
    plugserve,
    rate_target,
    vs,
)

CGI_PLUGIN_DIR = REPO_ROOT / "plugins" / "cgi"
PHP_CGI = "/usr/bin/php-cgi"
ANSWER = b"Hello, world!\n"
HELLO_SH = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho 'Hello, world!'\n"
HELLO_PHP = '<?php echo "Hello, world!\\n";\n'
GOAL = 1.5  # plugserve's req/s over Twisted's, each scenario and engine

NEEDS = {
    "plugserve-cgi": Need(("plugserve_cgi",), ("-e", str(CGI_PLUGIN_DIR)), ("plugserve-cgi",)),
    "--cgi-dir": Need(flag="--cgi-dir"),
    "--php": Need(flag="--php"),
    "php-cgi": Need(program="php-cgi"),  # Debian's php-cgi: /usr/bin/php-cgi
}


def cgi_bin(env: Env) -> str:
    """Write the sh script into the run's temporary directory; the cgi-bin directory."""
    folder = env.scratch / "cgi-bin"
    folder.mkdir(exist_ok=True)
    script = folder / "hello.sh"
    script.write_text(HELLO_SH)
    script.chmod(0o755)
    return str(folder)


def php_root(env: Env) -> str:
    """Write hello.php into a docroot of its own in the run's temporary directory."""
    folder = env.scratch / "php"
    folder.mkdir(exist_ok=True)
    (folder / "hello.php").write_text(HELLO_PHP)
    return str(folder)


def php_cgi(env: Env) -> str:
    return env.programs.get("php-cgi", PHP_CGI)


def plugserve_cgi(engine: str) -> Command:
    def command(env: Env, port: int) -> list[str]:
        return plugserve(engine, "--cgi-dir", f"/cgi-bin={cgi_bin(env)}")(env, port)

    return command


def plugserve_php(engine: str) -> Command:
    def command(env: Env, port: int) -> list[str]:
        options = ("--php", "--php-cgi", php_cgi(env), "--path", php_root(env))
        return plugserve(engine, *options)(env, port)

    return command


def twisted(script: str, folder: Callable[[Env], str], *extra: Callable[[Env], str]) -> Command:
    def command(env: Env, port: int) -> list[str]:
        tail = [make(env) for make in extra]
        return [str(env.python), str(SERVERS_DIR / script), str(port), folder(env), *tail]

    return command


def cgi_rows() -> tuple[Row, ...]:
    rows = engine_rows("--cgi-dir", plugserve_cgi, ("plugserve-cgi", "--cgi-dir"))
    rows.append(
        Row(
            "twisted",
            "twisted",
            "Twisted Web CGIDirectory",
            twisted("twisted_cgi.py", cgi_bin),
            ("twisted",),
        )
    )
    return tuple(rows)


def php_rows() -> tuple[Row, ...]:
    rows = engine_rows("--php --path", plugserve_php,
                       ("plugserve-static", "plugserve-cgi", "php-cgi", "--php"))
    rows.append(
        Row(
            "twisted",
            "twisted",
            "Twisted Web File + FilteredScript(php-cgi)",
            twisted("twisted_php.py", php_root, php_cgi),
            ("twisted", "php-cgi"),
            env=(("REDIRECT_STATUS", "200"),),
        )
    )
    return tuple(rows)


def targets(what: str) -> tuple[Target, ...]:
    return tuple(
        rate_target(f"{what}, {engine} engine", f"plugserve-{engine}", "twisted", GOAL)
        for engine in ENGINES
    )


def cgi_scenarios() -> tuple[Scenario, ...]:
    vs_twisted = (("vs Twisted Web", vs("twisted")),)
    return (
        Scenario(
            "cgi-hello",
            "CGI hello world (sh script)",
            "`GET /cgi-bin/hello.sh`, a `#!/bin/sh` CGI script printing `Content-Type: "
            "text/plain` and `Hello, world!`: one process per request. Server CPU is its main "
            "process's; script CPU is that of the children it reaped during the run.",
            cgi_rows(),
            path="/cgi-bin/hello.sh",
            check_path="/cgi-bin/hello.sh",
            answer=ANSWER,
            scripts=True,
            ratios=vs_twisted,
            targets=targets("CGI"),
        ),
        Scenario(
            "php-hello",
            "PHP hello world (php-cgi)",
            f'`GET /hello.php`, `<?php echo "Hello, world!\\n";` run by {PHP_CGI}: one '
            "php-cgi process per request. CPU columns as in cgi-hello.",
            php_rows(),
            path="/hello.php",
            check_path="/hello.php",
            answer=ANSWER,
            scripts=True,
            ratios=vs_twisted,
            targets=targets("PHP"),
        ),
    )
