"""The command-line options of plugserve-static, their checks, and the File they describe."""

from __future__ import annotations

import argparse
import os
import weakref

from plugserve.config import Config
from plugserve.error import UsageError

from ._asis import ASISProcessor
from ._cache import DEFAULT_CACHE_BYTES, SmallFileCache
from ._file import File

__all__ = ["add_options", "check_options", "directory_resource", "make_root"]

#: The small-file cache of each run, by id() of its config (see _run_cache).
_caches: dict[int, SmallFileCache] = {}


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --path and the options that shape the File it serves."""
    group.add_argument("--path", metavar="DIR", help="serve this directory (or file)")
    group.add_argument("--index", action="append", metavar="NAME",
                       help="index file name (repeatable; replaces the defaults)")
    group.add_argument("--mime-type", action="append", default=[], metavar="EXT=TYPE",
                       help="content type for an extension, e.g. .log=text/plain (repeatable)")
    group.add_argument("--ignore-ext", action="append", default=[], metavar="EXT",
                       help="serve /foo from foo.EXT when foo does not exist (repeatable)")
    group.add_argument("--allow-ignore-ext", action="store_true",
                       help="serve /foo from any foo.* (--ignore-ext '*')")
    group.add_argument("--no-listing", action="store_true",
                       help="forbid directory listings (403)")
    group.add_argument("--serve-dotfiles", action="store_true",
                       help="serve and list files whose name starts with a dot")
    group.add_argument("--no-symlinks-outside-root", action="store_true",
                       help="refuse symlinks that point outside --path")
    group.add_argument("--precompressed", action="store_true",
                       help="serve name.br / name.gz when the client accepts it")
    group.add_argument("--file-cache-size", type=int, default=DEFAULT_CACHE_BYTES,
                       metavar="BYTES",
                       help="keep small files' bytes in memory, up to this total; 0 turns it "
                            f"off (default {DEFAULT_CACHE_BYTES})")


def _mime_types(config: Config) -> dict[str, str]:
    types = {}
    for item in config.option("mime_type") or ():
        ext, sep, content_type = item.partition("=")
        if not sep or not ext.strip() or "/" not in content_type:
            raise UsageError(f"--mime-type {item}: give EXT=TYPE, e.g. --mime-type .log=text/plain")
        ext = ext.strip()
        types[ext if ext.startswith(".") else "." + ext] = content_type.strip()
    return types


def check_options(config: Config) -> None:
    """UsageError for a --path that cannot be served, or a malformed --mime-type."""
    path = config.option("path")
    if path is not None and not (os.path.isdir(path) or os.path.isfile(path)):
        raise UsageError(f"--path {path}: no such directory or file; give an existing one")
    _mime_types(config)
    size = config.option("file_cache_size", DEFAULT_CACHE_BYTES)
    if size < 0:
        raise UsageError(f"--file-cache-size {size}: give a number of bytes, 0 or more")


def make_root(config: Config) -> File | None:
    """The File for --path; None without --path."""
    path = config.option("path")
    return directory_resource(path, config) if path is not None else None


def directory_resource(path: str, config: Config, *, contained: bool = False) -> File:
    """`path` served as --path serves it: with every plugin's processors and `.asis`, and the
    static options of this run (index names, types, ignored extensions, listing, dotfiles,
    symlinks, precompressed variants).  Every folder of a run shares one small-file cache,
    so --file-cache-size bounds them all together.  `contained` refuses symlinks out of
    `path` even without --no-symlinks-outside-root."""
    root = File(path)
    root.processors = {".asis": ASISProcessor, **config.processors}
    if config.option("index"):
        root.indexNames = list(config.option("index"))
    else:
        root.indexNames += [n for n in config.index_names if n not in root.indexNames]
    root.contentTypes.update(_mime_types(config))
    for ext in config.option("ignore_ext") or ():
        root.ignoreExt(ext)
    if config.option("allow_ignore_ext"):
        root.ignoreExt("*")
    root.allowListing = not config.option("no_listing", False)
    root.serveDotfiles = bool(config.option("serve_dotfiles", False))
    root.confineSymlinks = contained or bool(config.option("no_symlinks_outside_root", False))
    root.precompressed = bool(config.option("precompressed", False))
    root.fileCache = _run_cache(config)
    return root


def _run_cache(config: Config) -> SmallFileCache:
    """The small-file cache of the run that `config` describes, made on first use and
    forgotten with the config: entries are keyed by path, so the folders can share it."""
    key = id(config)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = SmallFileCache(config.option("file_cache_size", DEFAULT_CACHE_BYTES))
        weakref.finalize(config, _caches.pop, key, None)
    return cache
