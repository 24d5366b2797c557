"""The frontend's real nginx configuration served by a native nginx on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.processes import LOOPBACK, REPO_ROOT, find_program, free_port, http_ok, running, wait_until

FRONTEND_DIR = REPO_ROOT / "frontend"


def render_template(template: str, variables: dict[str, str]) -> str:
    """Substitute ``${NAME}`` for the given names only, as the nginx image's envsubst step does."""
    for name, value in variables.items():
        template = template.replace("${" + name + "}", value)
    return template


@contextmanager
def nginx_server(folder: Path, predictor_upstream: str, **extra: str) -> Iterator[str]:
    """Nginx with the frontend image's own configuration (frontend/nginx.conf and its template) on a free port."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    variables = {
        "LISTEN_ADDRESS": f"{LOOPBACK}:{port}",
        "HTML_ROOT": str(FRONTEND_DIR / "html"),
        "PREDICTOR_UPSTREAM": predictor_upstream,
        "NGINX_RESOLVER": LOOPBACK,
        "MLFLOW_UI_URL": "http://localhost:5000",
        **extra,
    }
    site = folder / "default.conf"
    site.write_text(render_template((FRONTEND_DIR / "templates" / "default.conf.template").read_text(), variables))
    # The image's main file, with this server's own site, pid file and temporary files.
    main = (FRONTEND_DIR / "nginx.conf").read_text().replace("/tmp/", f"{folder}/")
    conf = folder / "nginx.conf"
    conf.write_text(main.replace("/etc/nginx/conf.d/*.conf", str(site)))
    nginx = str(find_program("NGINX_BIN", ("nginx",), "/usr/sbin/nginx"))
    # In the foreground; as root, workers stay root too (they write this folder's temporary files).
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    with running([nginx, "-c", str(conf), "-p", str(folder), "-g", directives], folder / "nginx.log") as process:
        url = f"http://{LOOPBACK}:{port}"
        try:
            wait_until(http_ok(url + "/"), 20, "nginx", process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{(folder / 'nginx.log').read_text()[-2000:]}") from exc
        yield url
