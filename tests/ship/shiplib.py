"""Shared helpers for the shipping checks (tests/ship): repository paths, the daemon table from
DESIGN.md, the configuration table of docs/development.md, the OpenAPI document and the routes
the C code registers."""
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("SAGA_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD_DIR = os.environ.get("SAGA_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")

# DESIGN.md, "Processes and ports".
DAEMONS = {
    "orchestrator-pure": 21080,
    "orchestrator-temporal": 21081,
    "service-order": 21082,
    "service-inventory": 21083,
    "service-payment": 21084,
    "service-notification": 21085,
}
INFRA_PORTS = {"mysql": 21306, "redis": 21379, "postgresql": 21432, "temporal": 21733,
               "temporal-ui": 21088}
DATABASES = {
    "service-order": "order_db",
    "service-inventory": "inventory_db",
    "service-payment": "payment_db",
    "service-notification": "notification_db",
    "orchestrator-pure": "orchestrator_db",
}
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def src(*parts):
    return os.path.join(SOURCE_DIR, *parts)


def tool(name, env_var=None):
    """A tool from the project venv (next to this interpreter) or PATH; None if absent."""
    if env_var and os.environ.get(env_var):
        return os.environ[env_var]
    cand = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(cand, os.X_OK):
        return cand
    return shutil.which(name)


def config_table():
    """{VARIABLE: default} from the configuration table of docs/development.md."""
    with open(src("docs", "development.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        defaults = [d.strip() for d in cells[1].split("/")] if len(cells) > 1 else []
        for i, n in enumerate(names):
            out[n] = defaults[i] if i < len(defaults) else ""
    return out


def load_yaml(path):
    import yaml
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_spec():
    return load_yaml(src("docs", "openapi.yaml"))


def spec_operations(spec):
    """{(METHOD, path): operation} of the OpenAPI document."""
    ops = {}
    for path, item in spec["paths"].items():
        for m in METHODS:
            if m in item:
                ops[(m.upper(), path)] = item[m]
    return ops


ROUTE_RE = re.compile(r'http_route\s*\(\s*[^,]+,\s*"([A-Z]+)"\s*,\s*"([^"]+)"')
# auth_route(au, srv, "METHOD", "/pattern", ACCEPT, handler, ctx): ACCEPT names AUTH_SERVICE,
# AUTH_ADMIN or both (directly or through a local `const unsigned name = ...;`).
AUTH_ROUTE_RE = re.compile(r'auth_route\s*\(\s*[^,]+,\s*[^,]+,\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,'
                           r'\s*([^,]+?)\s*,')


_TOKEN_RE = re.compile(r'("(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\')|(/\*.*?\*/|//[^\n]*)', re.S)


def _strip_comments(code):
    """C source without comments; string and char literals kept as they are."""
    return _TOKEN_RE.sub(lambda m: m.group(1) if m.group(1) is not None else " ", code)


def _folder_code(folder):
    root = src(folder)
    if not os.path.isdir(root):
        return
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".c"):
                with open(os.path.join(dirpath, f), encoding="utf-8", errors="replace") as fh:
                    yield _strip_comments(fh.read())


def route_tokens(folder):
    """{(METHOD, pattern): set of "service" / "admin"} for every route of a top-level folder:
    the tokens an auth_route() call accepts, an empty set for a public http_route()."""
    routes = {}
    for code in _folder_code(folder):
        for m, p in ROUTE_RE.findall(code):
            routes[(m, p)] = set()
        consts = dict(re.findall(r'const\s+unsigned\s+(\w+)\s*=\s*([^;]+);', code))
        for m, p, accept in AUTH_ROUTE_RE.findall(code):
            accept = consts.get(accept.strip(), accept)
            routes[(m, p)] = ({"service"} if "AUTH_SERVICE" in accept else set()) | \
                             ({"admin"} if "AUTH_ADMIN" in accept else set())
    return routes


def registered_routes(folder):
    """{(METHOD, pattern)} registered with http_route("METHOD", "/pattern", ...) or
    auth_route(..., "METHOD", "/pattern", ...) in the .c files of a top-level folder (comments
    ignored)."""
    return set(route_tokens(folder))


def daemon_exists(name):
    """A daemon is part of the tree once its folder has a CMakeLists.txt."""
    return os.path.exists(src(name, "CMakeLists.txt"))
