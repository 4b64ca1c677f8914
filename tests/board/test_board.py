"""``board``: the HTML board, generated from a real store and looked at in a real headless browser.

The page tests drive Debian's Chromium with Playwright for Python (``executable_path``: nothing is
downloaded). They skip, saying why, when either is missing; CI installs both (``apt-get install
chromium``, the ``playwright`` package of the ``test`` extra). A screenshot of the fixture board is
saved in the test's tmp dir and copied to /tmp/board.png.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import add, git, init_repo

from backlog_git.board import add_arguments, main
from backlog_git.board import page as board_page
from backlog_git.board.serve import BoardServer
from backlog_git.engine import Backlog
from backlog_git.engine.review import histories

XSS = "<img src=x onerror=window.pwned=1></script><script>window.pwned=2</script> {{JS}}"
SPEC = """# Board spec
Columns by **status** or *project*; see [the docs](https://example.com/docs) and [bad](javascript:window.pwned=3).

- [ ] cards
- [x] filter `box`

```
code <b>here</b>
```

> quoted <script>window.pwned=4</script>
"""
CHROMIUM = os.environ.get("BOARD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = init_repo(tmp_path_factory.mktemp("board") / "repo")
    backlog = Backlog.open(str(repo), env={}, writer="lead")
    t: dict[str, dict[str, Any]] = {}
    t["login"] = add(backlog, "Fix the login redirect", project="web.auth", tags=["bug"], priority="H",
                      due="2020-01-01")
    t["spec"] = add(backlog, "Write the board spec", project="web.ui", tags=["docs"], priority="M")
    before_spec = git(repo, "rev-parse", "HEAD")
    backlog.doc_write(t["spec"]["uuid"], SPEC)
    t["xss"] = add(backlog, XSS, project="sec")
    t["parser"] = add(backlog, "Refactor the parser", project="core", depends=[t["login"]["uuid"]])
    backlog.annotate(t["parser"]["uuid"], "started with the tokens")
    t["done"] = add(backlog, "Done already", project="core")
    backlog.done(t["done"]["uuid"])
    t["deleted"] = add(backlog, "Deleted one")
    backlog.delete(t["deleted"]["uuid"])
    t["active"] = add(backlog, "Active task", project="web.ui", tags=["ui", "urgent"])
    backlog.start(t["active"]["uuid"])
    t["waiting"] = add(backlog, "Waiting task", wait="2099-01-01")
    agent = Backlog.open(str(repo), env={}, writer="agent-a")
    t["claimed"] = add(agent, "Claimed by an agent", project="core", priority="L")
    agent.claim(t["claimed"]["uuid"], lease="2h")
    # An agent with its own branch: every read (and so the board) sees its work before any sync.
    t["branch"] = add(Backlog.open(str(repo), env={"BACKLOG_AGENT_ID": "agent-z"}), "From a branch", project="core")
    return {"repo": repo, "tasks": t, "backlog": backlog, "before_spec": before_spec}


COLUMNS = {"login": "pending", "spec": "pending", "xss": "pending", "parser": "pending", "done": "completed",
           "deleted": "deleted", "active": "active", "waiting": "waiting", "claimed": "active", "branch": "pending"}


# ====================================================================== without a browser
def test_payload_columns_and_fields(store: dict[str, Any]) -> None:
    tasks = store["tasks"]
    data = board_page.payload(store["backlog"], board_page.Options())
    cards = {c["uuid"]: c for c in data["tasks"]}
    assert {name: cards[t["uuid"]]["col"] for name, t in tasks.items()} == COLUMNS
    assert cards[tasks["parser"]["uuid"]]["depends"] == [tasks["login"]["id"]]  # by id, never a uuid
    assert cards[tasks["spec"]["uuid"]]["body"] == SPEC
    assert cards[tasks["spec"]["uuid"]]["tags"] == ["docs"]  # the doc tag is the card's "spec" mark
    assert cards[tasks["claimed"]["uuid"]]["agent"] == "agent-a"
    assert "version" not in cards[tasks["claimed"]["uuid"]].get("extras", {})
    assert set(data["history"]) == {t["uuid"] for t in tasks.values()}
    ops = [e["op"] for e in data["history"][tasks["spec"]["uuid"]]]
    assert ops == ["doc-write", "add"]
    assert [e["writer"] for e in data["history"][tasks["branch"]["uuid"]]] == ["agent-z"]


def test_bulk_histories_are_what_history_gives(store: dict[str, Any]) -> None:
    backlog = store["backlog"]
    uuids = [t["uuid"] for t in store["tasks"].values()]
    bulk = board_page.engine_read(backlog, lambda state: histories(state, uuids))
    assert bulk == {u: backlog.history(u) for u in uuids}


def test_html_escapes_task_text_and_loads_nothing_from_elsewhere(store: dict[str, Any]) -> None:
    data = board_page.payload(store["backlog"], board_page.Options(title="</title><script>x()</script>"))
    text = board_page.render_html(data)
    assert text.count("<script") == 2 and text.count("</script>") == 2  # the data element and the board's script
    assert "<img" not in text
    assert "&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    embedded = re.search(r'<script type="application/json" id="board-data">(.*?)</script>', text, re.S)
    assert embedded is not None
    assert json.loads(embedded.group(1))["tasks"] == json.loads(json.dumps(data["tasks"]))
    assert "{{JS}}" in json.loads(embedded.group(1))["tasks"][2]["description"]  # a placeholder stays text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert csp is not None and "default-src 'none'" in csp.group(1) and "script-src 'sha256-" in csp.group(1)


def test_board_at_a_revision_reads_that_commit(store: dict[str, Any]) -> None:
    tasks = store["tasks"]
    data = board_page.payload(store["backlog"], board_page.Options(at=store["before_spec"]))
    assert [c["description"] for c in data["tasks"]] == ["Fix the login redirect", "Write the board spec"]
    assert "body" not in data["tasks"][1]  # its spec came later
    assert data["commit"] == store["before_spec"]
    assert [e["op"] for e in data["history"][tasks["spec"]["uuid"]]] == ["add"]  # no later commit


def test_board_command_writes_the_page(store: dict[str, Any], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo")
    add_arguments(parser)
    out = tmp_path / "site"
    assert main(parser.parse_args(["--repo", str(store["repo"]), "--out", str(out), "--by", "project"])) == 0
    assert capsys.readouterr().out == f"Board of 10 task(s) written to {out / 'index.html'}\n"
    assert '"by":"project"' in (out / "index.html").read_text(encoding="utf-8")
    assert main(parser.parse_args(["--repo", str(store["repo"]), "--out", str(out), "--at", "nope"])) == 1
    assert "Unknown revision 'nope'" in capsys.readouterr().err


def test_server_refuses_other_hosts_and_bad_requests(store: dict[str, Any]) -> None:
    with _serving(store["backlog"]) as server:
        port = server.server_address[1]
        for host, path, status in (("evil.example", "/", 403), (f"127.0.0.1:{port}", "/api/history?uuid=../x", 400),
                                   (f"127.0.0.1:{port}", "/nothing", 404), (f"localhost:{port}", "/api/version", 200)):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers={"Host": host})
            assert conn.getresponse().status == status, (host, path)
            conn.close()


@pytest.fixture
def served_backlog(store: dict[str, Any]) -> Backlog:
    return Backlog.open(str(store["repo"]), env={}, writer="server")


class _serving:
    def __init__(self, backlog: Backlog, poll: float = 0.3) -> None:
        self.server = BoardServer(backlog, board_page.Options(live=True, poll=poll), 0)

    def __enter__(self) -> BoardServer:
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self.server

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


# ====================================================================== in a browser
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no Chromium: install Debian's `chromium` package (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("no Playwright for Python: pip install playwright (the `test` extra has it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class _Page:
    """A page with its console errors collected."""

    def __init__(self, browser: Any, width: int = 1400, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']")
        return self.page


def _column_of(page: Any, task: dict[str, Any]) -> str:
    return str(page.eval_on_selector(f".card[data-uuid='{task['uuid']}']", "c => c.closest('.column').dataset.col"))


def _filter(page: Any, query: str) -> None:
    """Type a filter and wait until the board is drawn for it."""
    before = page.evaluate("window.boardPerf.renders")
    page.fill("#filter", query)
    page.wait_for_function("n => window.boardPerf.renders > n", arg=before)


def test_board_in_a_browser(store: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    tasks = store["tasks"]
    out = tmp_path / "site"
    board_page.write(store["backlog"], board_page.Options(), out)
    view = _Page(browser)
    page = view.open((out / "index.html").as_uri())

    assert page.locator(".card").count() == 10
    for name, task in tasks.items():
        card = page.locator(f".card[data-uuid='{task['uuid']}']")
        assert card.locator(".id").inner_text() == f"#{task['id']}"
        assert card.locator(".desc").inner_text() == task["description"]
        assert _column_of(page, task) == COLUMNS[name], name
    assert page.locator(".column[data-col='pending'] h2 .n").inner_text() == "5"
    login = page.locator(f".card[data-uuid='{tasks['login']['uuid']}']")
    assert login.locator(".due.overdue").inner_text() == "due 2020-01-01"
    assert login.locator(".badge.prio-H").inner_text() == "H"
    assert page.locator(f".card[data-uuid='{tasks['claimed']['uuid']}'] .holder").inner_text() == "held by agent-a"
    # Task text stayed text: nothing ran, no element came from it.
    assert page.evaluate("window.pwned") is None
    assert page.locator("img").count() == 0
    page.screenshot(path=str(tmp_path / "board.png"))
    shutil.copy(tmp_path / "board.png", "/tmp/board.png")

    # Filters: words, project (with sub-projects), tags, agent; the project and tag menus.
    for query, expected in (("parser", ["parser"]), ("project:web", ["login", "spec", "active"]),
                            ("+urgent", ["active"]), ("agent:agent-a", ["claimed"]), ("#1", ["login"]),
                            ("project:core -nothing", ["parser", "claimed", "done", "branch"])):
        _filter(page, query)
        shown = set(page.eval_on_selector_all(".card", "cs => cs.map(c => c.dataset.uuid)"))
        assert shown == {tasks[n]["uuid"] for n in expected}, query
    _filter(page, "")
    page.select_option("#tag", "docs")
    page.wait_for_function("() => document.querySelectorAll('.card').length === 1")
    page.select_option("#tag", "")
    page.select_option("#by", "project")
    page.wait_for_function("() => document.querySelector('.column[data-col=\"web.ui\"]') !== null")
    assert _column_of(page, tasks["spec"]) == "web.ui"
    assert page.locator(".card").count() == 8  # closed tasks are off by default in project columns
    page.check("#closed")
    page.wait_for_function("() => document.querySelectorAll('.card').length === 10")
    page.select_option("#by", "status")

    # A card opens its spec (rendered) and its history.
    page.click(f".card[data-uuid='{tasks['spec']['uuid']}']")
    panel = page.locator("#panel")
    assert panel.is_visible()
    assert page.locator("#panel-title").inner_text() == f"#{tasks['spec']['id']} Write the board spec"
    spec = page.locator("#panel-spec")
    assert spec.locator("h3").inner_text() == "Board spec"
    assert spec.locator("strong").inner_text() == "status"
    assert spec.locator("em").inner_text() == "project"
    assert spec.locator("li").all_inner_texts() == ["☐ cards", "☑ filter box"]
    assert spec.locator("pre code").inner_text() == "code <b>here</b>"
    assert spec.locator("a").count() == 1 and spec.locator("a").get_attribute("href") == "https://example.com/docs"
    assert "bad (javascript:window.pwned=3)" in spec.inner_text()
    assert spec.locator("blockquote").inner_text() == "quoted <script>window.pwned=4</script>"
    history = page.locator("#panel-history > li")
    assert history.count() == 2
    assert "doc-write by lead" in history.nth(0).inner_text() and "add by lead" in history.nth(1).inner_text()
    page.screenshot(path=str(tmp_path / "board-task.png"))
    shutil.copy(tmp_path / "board-task.png", "/tmp/board-task.png")
    page.keyboard.press("Escape")
    assert not panel.is_visible()

    # A dependency opens the task it names; the URL names the open task.
    page.click(f".card[data-uuid='{tasks['parser']['uuid']}']")
    assert page.locator("#panel-notes li").inner_text().endswith("started with the tokens")
    page.click("#panel-fields a")
    assert page.locator("#panel-title").inner_text() == f"#{tasks['login']['id']} Fix the login redirect"
    assert page.evaluate("location.hash") == f"#task={tasks['login']['id']}"
    page.goto((out / "index.html").as_uri() + f"#task={tasks['xss']['id']}")
    page.wait_for_selector("#panel:not([hidden])")
    assert page.locator("#panel-title").inner_text() == f"#{tasks['xss']['id']} {XSS}"
    assert page.evaluate("window.pwned") is None
    assert view.errors == []


def test_served_board_refreshes_when_tasks_change(store: dict[str, Any], served_backlog: Backlog,
                                                  browser: Any) -> None:
    view = _Page(browser)
    with _serving(served_backlog) as server:
        page = view.open(server.url)
        assert page.locator(".card").count() == 10
        page.fill("#filter", "refresh")
        writer = Backlog.open(str(store["repo"]), env={}, writer="lead")
        added = add(writer, "Appears without a refresh")
        page.wait_for_selector(f".card[data-uuid='{added['uuid']}']", timeout=15_000)
        assert page.input_value("#filter") == "refresh"  # the filter survived the redraw
        page.click(f".card[data-uuid='{added['uuid']}']")
        page.wait_for_selector("#panel-history li .op")
        assert "add by lead" in page.locator("#panel-history > li").first.inner_text()
        writer.done(added["uuid"])
        page.wait_for_function(
            "u => document.querySelector(`.card[data-uuid='${u}']`)?.closest('.column').dataset.col === 'completed'",
            arg=added["uuid"], timeout=15_000)
        # The open task was redrawn too: its history now has the done commit.
        page.wait_for_function("() => document.querySelectorAll('#panel-history > li .op').length === 2")
        assert "done by lead" in page.locator("#panel-history > li").first.inner_text()
        writer.delete(added["uuid"])  # the fixture keeps its ten tasks
        writer.purge(added["uuid"])
    assert view.errors == []


def _synthetic(count: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    projects = [f"p{n}.{s}" for n in range(20) for s in ("api", "ui")]
    tags = [f"t{n}" for n in range(30)]
    tasks = []
    for i in range(1, count + 1):
        status = rng.choices(["pending", "completed", "deleted"], [65, 30, 5])[0]
        task: dict[str, Any] = {
            "uuid": f"{i:08x}-0000-4000-8000-{i:012x}", "id": i, "status": status,
            "description": f"Task {i}: " + " ".join(rng.choice(["fix", "add", "parser", "login", "board", "cache",
                                                                 "spec", "docs", "retry", "merge"]) for _ in range(6)),
            "project": rng.choice(projects), "tags": rng.sample(tags, rng.randint(0, 3)),
            "entry": "2026-01-01T00:00:00Z", "modified": "2026-02-01T00:00:00Z",
            "col": status if status != "pending" else rng.choices(["pending", "active", "waiting"], [90, 8, 2])[0],
        }
        if rng.random() < 0.3:
            task["priority"] = rng.choice("HML")
        if rng.random() < 0.2:
            task["due"] = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00Z"
        if rng.random() < 0.3:
            task["body"] = "# Spec\n" + "Some words about it. " * 10
        if status != "pending":
            task["end"] = "2026-03-01T00:00:00Z"
        tasks.append(task)
    return {"title": "10,000 tasks", "by": "status", "live": False, "key": "x", "tasks": tasks, "history": {},
            "history_embedded": 0, "broken": [], "generated": "2026-01-01T00:00:00Z"}


def test_ten_thousand_tasks_load_and_filter(browser: Any, tmp_path: Path) -> None:
    """Cards are capped per column and every filter completes; how fast is the benchmark's (`--scale`)."""
    path = tmp_path / "big.html"
    path.write_text(board_page.render_html(_synthetic(10_000)), encoding="utf-8")
    view = _Page(browser)
    page = view.open(path.as_uri())
    timing = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        return {size: nav.transferSize || nav.decodedBodySize, domContentLoaded: nav.domContentLoadedEventEnd,
                perf: window.boardPerf};
    }""")
    cards = page.locator(".card").count()
    assert cards <= 6 * 50  # capped per column, "show more" for the rest
    assert timing["perf"]["matching"] == 10_000
    measure = """async (q) => {
        const input = document.querySelector('#filter');
        const before = window.boardPerf.renders;
        const t0 = performance.now();
        input.value = q;
        input.dispatchEvent(new Event('input'));
        while (window.boardPerf.renders === before) await new Promise(r => setTimeout(r, 5));
        await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));  // until laid out
        return {total: performance.now() - t0, render: window.boardPerf.lastRender,
                matching: window.boardPerf.matching};
    }"""
    figures = {"load_ms": timing["domContentLoaded"], "first_render_ms": timing["perf"]["firstRender"],
               "json_parse_ms": timing["perf"]["parse"], "cards_drawn": cards, "filters": {}}
    for query in ("parser", "project:p3 +t4", "login cache", "zzz-nothing", ""):
        result = page.evaluate(measure, query)
        figures["filters"][query or "(cleared)"] = result
        assert result["matching"] is not None, (query, result)
    page.screenshot(path=str(tmp_path / "board-10k.png"))
    shutil.copy(tmp_path / "board-10k.png", "/tmp/board-10k.png")
    page.click(".column[data-col='pending'] .more")
    assert page.locator(".column[data-col='pending'] .card").count() == 100
    page.select_option("#by", "project")
    page.wait_for_function("() => document.querySelectorAll('.column').length === 40")
    print("\nboard at 10,000 tasks:", json.dumps(figures))
    (tmp_path / "figures.json").write_text(json.dumps(figures, indent=2))
    assert view.errors == []
