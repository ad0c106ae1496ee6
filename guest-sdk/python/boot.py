# Runs before every Python task (as `python -c` code, with the task's code
# as the next argument) and then runs the task as `-c` would have.
# The runtime is a snapshot whose zip importer cached the standard library's
# table of contents before `sandrun.py` was added to it, so the caches are
# dropped first. The task's frames and lines read as plain `-c` code's.
def _sandrun_boot():
    import linecache, sys, zipimport, __main__

    del __main__._sandrun_boot
    zipimport._zip_directory_cache.clear()
    sys.path_importer_cache.clear()
    source = sys.argv.pop(1)
    linecache.cache["<string>"] = (len(source), None, source.splitlines(True), "<string>")
    code = compile(source, "<string>", "exec")
    try:
        exec(code, __main__.__dict__)
    except SystemExit:
        raise
    except BaseException as e:
        e = e.with_traceback(e.__traceback__.tb_next)
        sys.excepthook(type(e), e, e.__traceback__)
        sys.exit(1)


_sandrun_boot()
