"""Streamlit's own Vega bundle, found on disk, so reports draw charts offline."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

# -- the chart library, from Streamlit's own static files --------------------------------

_FROM = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'`])\./([\w.\-]+\.js)\2""")


@lru_cache(maxsize=1)
def vega_bundle() -> dict[str, Any] | None:
    """{"entry", "export", "order", "modules"} for vega-embed, or None if not found.

    Streamlit loads vega-embed lazily: loadVegaEmbed-*.js imports the embed chunk and reads
    `.default` of one of its exports; that chunk's static imports close over a few small
    chunks. Modules are returned dependencies first.
    """
    from importlib.util import find_spec

    spec = find_spec("streamlit")  # located, never imported: the core stays UI-free
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "static" / "static" / "js"
    loaders = sorted(folder.glob("loadVegaEmbed*.js"))
    if not loaders:
        return None
    found = re.search(r"import\(\s*[`\"']\./(embed[\w.\-]*\.js)[`\"']\s*\)\.then\(\s*(\w+)"
                      r"\s*=>\s*\2\.(\w+)\s*\)", loaders[0].read_text())
    if not found:
        return None
    entry, export = found.group(1), found.group(3)
    modules: dict[str, str] = {}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> bool:
        if name in modules:
            return True
        if name in visiting or not (folder / name).exists():
            return False  # a cycle or a missing file: blob URLs can't express it
        visiting.add(name)
        source = (folder / name).read_text()
        for dep in dict.fromkeys(m.group(3) for m in _FROM.finditer(source)):
            if not visit(dep):
                return False
        visiting.discard(name)
        modules[name] = source
        order.append(name)
        return True

    if not visit(entry):
        return None
    return {"entry": entry, "export": export, "order": order, "modules": modules}


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data).replace("</", "<\\/").replace("<!--", "<\\!--")


_LOADER = """
const bundle = JSON.parse(document.getElementById("vega-bundle").textContent);
const specs = JSON.parse(document.getElementById("chart-specs").textContent);
const urls = {};
for (const name of bundle.order) {  // dependencies first: each import points at a blob
  const source = bundle.modules[name].replace(
    /(\\bfrom\\s*|\\bimport\\s*\\(?\\s*)(["'`])\\.\\/([\\w.\\-]+\\.js)\\2/g,
    (m, pre, q, dep) => pre + q + urls[dep] + q);
  urls[name] = URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
}
const embed = (await import(urls[bundle.entry]))[bundle.export].default;
for (const [id, spec] of Object.entries(specs)) {
  await embed("#" + id, spec, {actions: false, renderer: "svg"});
}
document.body.dataset.chartsReady = Object.keys(specs).length;
"""
