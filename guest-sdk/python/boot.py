# Runs once, as a `turn`, when sandrun makes the runtime's snapshot: it
# imports the pre-import list and leaves `_sandrun_task` in `__main__` for
# every task's turn to call. The snapshot freezes argv, the environment and
# every RNG, so each task brings its own and reseeds; its code then runs as
# `python -c` would run it, exit status and traceback alike.
#
# A session's first run calls `_sandrun_session_start` instead, which moves
# the runner into a module of its own (`_sandrun_session`) so that the
# session's namespace holds only what its code makes, and every later run
# calls `_sandrun_session.run`. A session run returns to the host instead
# of exiting, so that the interpreter stays sound for the next run, and
# reports its status and the value of a trailing expression through the
# `session_end` host call.
#
# Both run the code as a notebook cell runs (`_sandrun_execute`): the value
# of a trailing expression is shown as a result, and a session run reports
# it as its `value` too; and both show the matplotlib figures still open at
# the end as results, as a notebook does.


def _sandrun_snapshot(modules):
    import importlib, sys, zipimport

    # The runtime's own snapshot cached the zip's table of contents before
    # `sandrun.py` was added to it.
    zipimport._zip_directory_cache.clear()
    sys.path_importer_cache.clear()
    for name in modules:
        importlib.import_module(name)
    # The runners show a session's trailing value through `sandrun`:
    # imported here, it is part of the snapshot and not of every session's
    # state.
    import sandrun
    # Everything alive now lives as long as the snapshot. Frozen, it is no
    # longer scanned by the collections a task triggers: with numpy and
    # pandas imported, a young collection took 3 ms before, and tasks start
    # with no allocations counted towards the next one.
    import gc

    gc.collect()
    gc.freeze()


def _sandrun_task(spec):
    import linecache, os, sys, __main__

    reseed, ended, show_figures = _sandrun_reseed, _sandrun_ended, _sandrun_show_figures
    execute = _sandrun_execute
    for name in (
        "_sandrun_task",
        "_sandrun_reseed",
        "_sandrun_ended",
        "_sandrun_show_figures",
        "_sandrun_execute",
        "_sandrun_session_start",
        "_sandrun_session_run",
    ):
        del __main__.__dict__[name]
    reseed(sys, os.urandom(32))
    sys.argv = ["-c", *spec["args"]]
    os.environ.clear()
    os.environ.update(spec["env"])
    source = spec["code"]
    linecache.cache["<string>"] = (len(source), None, source.splitlines(True), "<string>")
    error = None
    try:
        result = execute(source, "<string>", __main__.__dict__)
        if result is not None:
            import sandrun

            sandrun._display_run_end(result)
    except BaseException as e:
        error = e
    show_figures(sys)
    status = ended(sys, error)
    if status:
        os._exit(status)


def _sandrun_session_start(spec):
    import os, sys, types, __main__

    runner = types.ModuleType("_sandrun_session")
    runner.reseed = __main__.__dict__.pop("_sandrun_reseed")
    runner.ended = __main__.__dict__.pop("_sandrun_ended")
    runner.run = __main__.__dict__.pop("_sandrun_session_run")
    runner.show_figures = __main__.__dict__.pop("_sandrun_show_figures")
    runner.execute = __main__.__dict__.pop("_sandrun_execute")
    for name in ("_sandrun_task", "_sandrun_session_start"):
        del __main__.__dict__[name]
    sys.modules["_sandrun_session"] = runner
    runner.reseed(sys, os.urandom(32))
    sys.argv = ["-c", *spec["args"]]
    os.environ.clear()
    os.environ.update(spec["env"])
    runner.run(spec)


def _sandrun_session_run(spec):
    import builtins, json, linecache, sys, __main__
    import _host

    runner = sys.modules["_sandrun_session"]
    runner.runs = getattr(runner, "runs", 0) + 1
    name = f"<run {runner.runs}>"
    source = spec["code"]
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    error, value = None, None
    try:
        result = runner.execute(source, name, __main__.__dict__)
        if result is not None:
            builtins._ = result
            value = repr(result)
            if len(value) > 65536:
                value = value[:65536] + "…"
            import sandrun

            sandrun._display_run_end(result)
    except BaseException as e:
        error = e
    runner.show_figures(sys)
    report = {"call": "session_end", "status": runner.ended(sys, error), "value": value}
    _host.call(json.dumps(report).encode())


def _sandrun_execute(source, name, namespace):
    # Run `source` in `namespace` as a notebook cell runs: a trailing
    # expression is evaluated apart, and its value (None if there is none)
    # returned. The built-in `_ast`, not `ast`, so that a task need not
    # import a module for it.
    import _ast

    tree = compile(source, name, "exec", _ast.PyCF_ONLY_AST)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], _ast.Expr) else None
    exec(compile(tree, name, "exec"), namespace)
    if last is None:
        return None
    return eval(compile(_ast.Expression(last.value), name, "eval"), namespace)


def _sandrun_show_figures(sys):
    # Only a run that drew with pyplot has figures to show.
    if "matplotlib.pyplot" in sys.modules:
        import sandrun

        sandrun._show_open_figures()


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


def _sandrun_ended(sys, error):
    # The exit status of code that raised `error` (None: it did not), as
    # `python -c` gives it, with the traceback printed as CPython prints it
    # (without the runner's frames, or for a syntax error the parser's), and
    # the streams flushed.
    status, code = 0, getattr(error, "code", None)
    if isinstance(error, SystemExit) and (code is None or isinstance(code, int)):
        # What CPython makes of `SystemExit(code)` at the end of `python -c`.
        status = 0 if code is None else code if -(1 << 31) <= code < 1 << 31 else -1
    elif isinstance(error, SystemExit):
        try:
            print(code, file=sys.stderr)
        except Exception:
            pass
        status = 1
    elif error is not None:
        # The runner's own frames come first; the guest's code follows.
        trace = None if isinstance(error, SyntaxError) else error.__traceback__
        while trace is not None and trace.tb_frame.f_code.co_name.startswith("_sandrun"):
            trace = trace.tb_next
        error = error.with_traceback(trace)
        sys.excepthook(type(error), error, error.__traceback__)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return status
