/**
 * Python run once in each interpreter before any grader code, then `_tt_run` for every call.
 *
 * - The modules that reach outside the interpreter are dropped from `sys.modules` and refused on import (a meta-path
 *   finder placed first): the JavaScript bridge (`js`, `pyodide_js`, `pyodide`, `_pyodide`, `_pyodide_core`),
 *   sockets and everything built on them, subprocesses, `ctypes`, package installation. This is the first line only:
 *   the JavaScript side is locked down as well (python-sandbox.ts), since Python can reach objects in many ways.
 * - `_tt_run` executes the source in a fresh globals dict, calls `grade(sample, item)` with JSON-decoded inputs and
 *   answers one JSON string `[kind, value]`, so no Python object crosses into JavaScript.
 */
export const PYTHON_PRELUDE = String.raw`
import builtins, json, math, sys

_tt_blocked = frozenset((
    'js', 'pyodide_js', 'pyodide', '_pyodide', '_pyodide_core', 'micropip', 'pyodide_http',
    'socket', '_socket', 'ssl', '_ssl', 'select', 'selectors', 'asyncio', '_asyncio',
    'http', 'urllib', 'ftplib', 'smtplib', 'poplib', 'imaplib', 'xmlrpc', 'webbrowser',
    'subprocess', '_posixsubprocess', 'multiprocessing', 'ctypes', '_ctypes', 'gc',
))

def _tt_is_blocked(name):
    return name.split('.')[0] in _tt_blocked

class _TTBlocker:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if _tt_is_blocked(name):
            raise ImportError(f"module '{name}' is not available in the grader sandbox")
        return None

for _tt_name in list(sys.modules):
    if _tt_is_blocked(_tt_name):
        del sys.modules[_tt_name]
sys.meta_path.insert(0, _TTBlocker)
# Pyodide's start-up leaves its core module in __main__, which every function defined here sees as its globals.
for _tt_name in [n for n in vars(sys.modules['__main__']) if _tt_is_blocked(n)]:
    delattr(sys.modules['__main__'], _tt_name)

def _tt_answer(kind, value):
    return json.dumps([kind, value])

def _tt_score(r):
    if isinstance(r, bool):
        return _tt_answer('ok', 1.0 if r else 0.0)
    if isinstance(r, (int, float)):
        try:
            v = float(r)
        except OverflowError:
            return _tt_answer('bad_return', 'grade() returned an int too large for a float')
        if math.isfinite(v):
            return _tt_answer('ok', v)
        return _tt_answer('bad_return', f'grade() returned {v}, expected a finite number')
    return _tt_answer('bad_return', f'grade() returned a {type(r).__name__}, expected a number or bool')

def _tt_run(source, sample_json, item_json, call):
    try:
        scope = {'__name__': '__grader__', '__builtins__': builtins}
        exec(compile(source, 'grader.py', 'exec'), scope)
        grade = scope.get('grade')
        if not callable(grade):
            return _tt_answer('runtime', 'TypeError: the source must define a function grade(sample, item)')
        if not call:
            return _tt_answer('ok', 0.0)
        return _tt_score(grade(json.loads(sample_json), json.loads(item_json)))
    except MemoryError:
        return _tt_answer('memory', 'memory limit exceeded')
    except KeyboardInterrupt:
        return _tt_answer('timeout', 'time limit exceeded')
    except BaseException as e:
        return _tt_answer('runtime', f'{type(e).__name__}: {e}')
`;
