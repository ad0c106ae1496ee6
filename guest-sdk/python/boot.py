# Runs once, as a `turn`, when sandrun makes the runtime's snapshot: it
# imports the pre-import list and leaves `_sandrun_task` in `__main__` for
# every task's turn to call. The snapshot freezes argv, the environment and
# every RNG, so each task brings its own and reseeds; its code then runs as
# `python -c` would run it, exit status and traceback alike.


def _sandrun_snapshot(modules):
    import importlib, sys, zipimport

    # The runtime's own snapshot cached the zip's table of contents before
    # `sandrun.py` was added to it.
    zipimport._zip_directory_cache.clear()
    sys.path_importer_cache.clear()
    for name in modules:
        importlib.import_module(name)
    # Everything alive now lives as long as the snapshot. Frozen, it is no
    # longer scanned by the collections a task triggers: with numpy and
    # pandas imported, a young collection took 3 ms before, and tasks start
    # with no allocations counted towards the next one.
    import gc

    gc.collect()
    gc.freeze()


def _sandrun_task(spec):
    import linecache, os, sys, __main__

    reseed, exit_status = _sandrun_reseed, _sandrun_exit_status
    for name in ("_sandrun_task", "_sandrun_reseed", "_sandrun_exit_status"):
        del __main__.__dict__[name]
    reseed(sys, os.urandom(32))
    sys.argv = ["-c", *spec["args"]]
    os.environ.clear()
    os.environ.update(spec["env"])
    source = spec["code"]
    linecache.cache["<string>"] = (len(source), None, source.splitlines(True), "<string>")
    status = 0
    try:
        exec(compile(source, "<string>", "exec"), __main__.__dict__)
    except SystemExit as e:
        status = exit_status(sys, e.code)
    except BaseException as e:
        e = e.with_traceback(e.__traceback__.tb_next)
        sys.excepthook(type(e), e, e.__traceback__)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if status:
        os._exit(status)


def _sandrun_reseed(sys, entropy):
    # Seeds of a fixed size, so that reseeding costs the same fuel each time.
    random = sys.modules.get("random")
    if random is not None:
        random.seed(int.from_bytes(entropy, "big") | 1 << 256)
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        # An array, not Python ints: small ints cost less fuel than large ones.
        numpy_random.seed(sys.modules["numpy"].frombuffer(entropy, dtype="uint32"))
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile._name_sequence = None


def _sandrun_exit_status(sys, code):
    # What CPython makes of `SystemExit(code)` at the end of `python -c`.
    if code is None:
        return 0
    if isinstance(code, int):
        return code if -(1 << 31) <= code < 1 << 31 else -1
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1
