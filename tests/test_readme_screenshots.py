"""Every page in the navigation has a screenshot in the README: app.py's st.Page entries (read
with `ast`, nothing started) against the README's `![...](docs/x.png)` images and the files in
docs/. A view file is named after its page, so the page views/tools.py has docs/tools.png;
scripts/screenshots.py must take that same list of pages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = re.compile(r"!\[([^\]]*)\]\((docs/[^)\s]+\.png)\)")


def navigation_pages() -> list[tuple[str, str]]:
    """(title, view file) of each st.Page(...) in app.py, in navigation order."""
    calls = sorted((node for node in ast.walk(ast.parse((ROOT / "app.py").read_text(encoding="utf-8")))
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "Page"), key=lambda n: (n.lineno, n.col_offset))
    pages = []
    for node in calls:
        path = ast.literal_eval(node.args[0]) if node.args else None
        title = next((ast.literal_eval(k.value) for k in node.keywords if k.arg == "title"), None)
        assert isinstance(path, str) and isinstance(title, str), ast.unparse(node)
        pages.append((title, path))
    return pages


def readme_images() -> dict[str, str]:
    """docs/x.png -> its alt text, for every image in the README."""
    return {path: alt for alt, path in IMAGE.findall((ROOT / "README.md").read_text(encoding="utf-8"))}


def test_app_py_is_read():
    pages = navigation_pages()
    assert len(pages) >= 14 and ("Home", "views/home.py") in pages and ("Tools", "views/tools.py") in pages
    assert len({p for _, p in pages}) == len(pages)


def test_every_page_in_the_navigation_has_a_readme_screenshot():
    images = readme_images()
    wanted = {f"docs/{Path(view).stem}.png": title for title, view in navigation_pages()}
    missing = [(title, png) for png, title in wanted.items() if png not in images]
    assert not missing, f"pages with no screenshot in README.md: {missing}"
    wrong_alt = [(png, images[png], title) for png, title in wanted.items() if images[png] != title]
    assert not wrong_alt, f"README images whose alt text is not the page title: {wrong_alt}"


def test_every_readme_screenshot_is_a_small_png_in_docs():
    for path in readme_images():
        file = ROOT / path
        assert file.is_file(), f"README.md shows {path}, which is not in docs/"
        data = file.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000, (path, len(data))


def test_the_screenshot_script_takes_every_page():
    tree = ast.parse((ROOT / "scripts" / "screenshots.py").read_text(encoding="utf-8"))
    listed = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "PAGES" for t in n.targets))
    assert listed == [Path(path).stem for _, path in navigation_pages()]
