"""Run the shell examples of the README and docs/ as a reader would type them, in-process.

Enough of POSIX shell to read what the documents show and no more: variables (``NAME=value``,
``export``, ``$NAME``, ``${NAME}``, ``$(...)``), single and double quotes, backslash line
continuations, comments, ``;``, ``&&``, pipes and ``>``. The commands are ``curl`` (sent through
the Flask test client), ``caseapp`` (through the Flask CLI runner), and ``jq`` (paths only),
``tail``, ``head`` and ``echo`` to shape their output. Anything else is an error, so a document
cannot show a command this runner silently skips.

A request is expected to succeed (2xx) unless the comment after it names the status, as in
``# → 409``; a comment ``# ⇒ "sent"`` says what the command prints, and is checked too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

EXPECT = re.compile(r"(?:→|->)\s*(\d{3})")
PRINTS = re.compile(r"⇒\s*(.+?)\s*$")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
FENCE = re.compile(r"^```(\S*)\s*$")
SKIP_MARK = "<!-- not run"


class ShellError(AssertionError):
    """The example cannot be run as written."""


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    text: str


def shell_blocks(path: Path) -> list[Block]:
    """The ```sh blocks of a Markdown file, except those right after a ``<!-- not run`` note."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start, info = i, match.group(1)
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        if info in {"sh", "bash", "shell"} and not previous.startswith(SKIP_MARK):
            blocks.append(Block(path, start + 1, "\n".join(body) + "\n"))
    return blocks


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    output: str | None


@dataclass
class Answer:
    status: int
    text: str


@dataclass
class Pipeline:
    commands: list[list[str]] = field(default_factory=list)
    redirect: str | None = None
    comment: str = ""
    line: int = 0


class Shell:
    """One reader's terminal: variables persist from block to block.

    ``send(Request) -> Answer`` performs a curl request; ``cli(args) -> (exit_code, output)`` runs
    a caseapp command; ``after`` runs after every command line (the worker catching up).
    """

    def __init__(self, send, cli, cwd: Path, after=None):
        self.send, self.cli, self.cwd, self.after = send, cli, cwd, after
        self.vars: dict[str, str] = {}
        self.requests: list[tuple[Request, Answer]] = []
        self._pending: list[tuple[Request, Answer]] = []

    # -- running ---------------------------------------------------------------------------

    def run(self, block: Block) -> None:
        parser = _Parser(block.text, self, block)
        while (pipeline := parser.read()) is not None:
            where = f"{block.path.name}:{block.line + pipeline.line}"
            output = self.execute(pipeline, where)
            self._check(where, pipeline)
            prints = PRINTS.search(pipeline.comment)
            if prints and output.strip() != prints.group(1):
                raise ShellError(f"{where}: printed {output.strip()[:500]!r}, the document "
                                 f"says {prints.group(1)!r}")
            if self.after is not None:
                self.after()

    def _check(self, where: str, pipeline: Pipeline) -> None:
        expected = EXPECT.search(pipeline.comment)
        for request, answer in self._pending:
            ok = (answer.status == int(expected.group(1)) if expected
                  else 200 <= answer.status < 300)
            if not ok:
                wanted = expected.group(1) if expected else "2xx"
                raise ShellError(f"{where}: {request.method} {request.url} answered "
                                 f"{answer.status}, the document implies {wanted}:\n"
                                 f"{answer.text[:2000]}")
        if expected and not self._pending:
            raise ShellError(f"{where}: expects {expected.group(1)} but made no request")
        self._pending = []

    def execute(self, pipeline: Pipeline, where: str) -> str:
        data = None
        for words in pipeline.commands:
            data = self._command(words, data, where)
        if pipeline.redirect:
            (self.cwd / pipeline.redirect).write_text(data or "", encoding="utf-8")
            return ""
        return data or ""

    def _command(self, words: list[str], stdin: str | None, where: str) -> str | None:
        if not words:
            raise ShellError(f"{where}: empty command")
        if words[0] == "export":
            words = words[1:]
        if all(ASSIGNMENT.fullmatch(w) for w in words):
            for word in words:
                name, value = ASSIGNMENT.fullmatch(word).groups()
                self.vars[name] = value
            return None
        program, args = words[0], words[1:]
        if program == "curl":
            return self._curl(args, where)
        if program in {"caseapp", ".venv/bin/caseapp"}:
            code, output = self.cli(args)
            if code != 0:
                raise ShellError(f"{where}: caseapp {' '.join(args)} exited {code}:\n{output}")
            return output
        if program == "jq":
            return _jq(args, stdin or "", where)
        if program in {"tail", "head"}:
            return _lines(program, args, stdin or "", where)
        if program == "echo":
            return " ".join(args) + "\n"
        raise ShellError(f"{where}: {program!r} is not a command the document runner knows")

    def _curl(self, args: list[str], where: str) -> str:
        request = _parse_curl(args, where)
        answer = self.send(request)
        self.requests.append((request, answer))
        self._pending.append((request, answer))
        if request.output:
            (self.cwd / request.output).write_text(answer.text, encoding="utf-8")
            return ""
        return answer.text


def _parse_curl(args: list[str], where: str) -> Request:
    method, headers, data, output, url, get = None, {}, [], None, None, False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in {"-X", "--request", "-H", "--header", "-d", "--data", "--data-raw",
                   "--data-urlencode", "-o", "--output"}:
            if i + 1 >= len(args):
                raise ShellError(f"{where}: curl {arg} needs a value")
            value = args[i + 1]
            i += 2
            if arg in {"-X", "--request"}:
                method = value
            elif arg in {"-H", "--header"}:
                name, _, text = value.partition(":")
                headers[name.strip()] = text.strip()
            elif arg in {"-o", "--output"}:
                output = value
            elif arg == "--data-urlencode":
                name, eq, content = value.partition("=")
                data.append(f"{name}={quote(content, safe='')}" if eq else quote(name, safe=""))
            else:
                data.append(value)
            continue
        if arg in {"-G", "--get"}:
            get = True
            i += 1
            continue
        if arg.startswith("-") and not arg.startswith("--") and set(arg[1:]) <= set("sSf"):
            i += 1  # -s, -S, -f and their combinations change nothing here
            continue
        if arg in {"--silent", "--show-error", "--fail"}:
            i += 1
            continue
        if arg.startswith("-"):
            raise ShellError(f"{where}: curl option {arg} is not supported by the runner")
        if url is not None:
            raise ShellError(f"{where}: curl with two URLs ({url}, {arg})")
        url = arg
        i += 1
    if url is None:
        raise ShellError(f"{where}: curl without a URL")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ShellError(f"{where}: {url!r} is not a URL (is a variable unset?)")
    query = [parts.query] if parts.query else []
    body = None
    if data and get:
        query.extend(data)
    elif data:
        body = "&".join(data).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    path = parts.path + ("?" + "&".join(query) if query else "")
    return Request(method or ("POST" if body is not None else "GET"), path, headers, body, output)


def _jq(args: list[str], stdin: str, where: str) -> str:
    raw = compact = False
    filters = []
    for arg in args:
        if arg in {"-r", "--raw-output"}:
            raw = True
        elif arg in {"-c", "--compact-output"}:
            compact = True
        elif arg.startswith("-"):
            raise ShellError(f"{where}: jq option {arg} is not supported by the runner")
        else:
            filters.append(arg)
    if len(filters) != 1:
        raise ShellError(f"{where}: jq needs one filter")
    try:
        value = json.loads(stdin)
    except ValueError as exc:
        raise ShellError(f"{where}: jq got no JSON: {stdin[:500]!r}") from exc
    for step in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]|(\.)", filters[0]):
        key, index, _dot = step
        if key:
            value = value.get(key) if isinstance(value, dict) else None
        elif index:
            value = value[int(index)] if isinstance(value, list) and value else None
    if not re.fullmatch(r"\.|(\.[A-Za-z_][A-Za-z0-9_]*|\[-?\d+\])+", filters[0]):
        raise ShellError(f"{where}: jq filter {filters[0]!r}: the runner knows paths only")
    if value is None:
        raise ShellError(f"{where}: jq {filters[0]} found nothing in {stdin[:500]}")
    if raw and isinstance(value, str):
        return value + "\n"
    if compact:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _lines(program: str, args: list[str], stdin: str, where: str) -> str:
    if len(args) == 2 and args[0] == "-n" and args[1].isdigit():
        count = int(args[1])
    elif len(args) == 1 and re.fullmatch(r"-\d+", args[0]):
        count = int(args[0][1:])
    else:
        raise ShellError(f"{where}: {program} {' '.join(args)} is not supported by the runner")
    lines = stdin.splitlines()
    kept = lines[-count:] if program == "tail" else lines[:count]
    return "".join(line + "\n" for line in kept)


class _Parser:
    """Reads one pipeline at a time, expanding words with the variables as they are then."""

    def __init__(self, text: str, shell: Shell, block: Block, outer: _Parser | None = None):
        self.text, self.shell, self.block, self.outer = text, shell, block, outer
        self.i = 0

    def where(self) -> str:
        if self.outer is not None:
            return self.outer.where()
        return f"{self.block.path.name}:{self.block.line + 1 + self.text.count(chr(10), 0, self.i)}"

    def read(self) -> Pipeline | None:
        """The next pipeline with its words expanded, or None at the end of the text."""
        while self.i < len(self.text):
            pipeline = Pipeline()
            words: list[str] = []
            while not self._step(pipeline, words):
                pass
            if words:
                pipeline.commands.append(words)
            if pipeline.commands:
                pipeline.line = self.text.count("\n", 0, max(self.i - 1, 0)) + 1
                return pipeline
        return None

    def _step(self, pipeline: Pipeline, words: list[str]) -> bool:
        """Consume one token; True when the pipeline has ended."""
        text = self.text
        while self.i < len(text) and text[self.i] in " \t":
            self.i += 1
        if self.i >= len(text):
            return True
        ch = text[self.i]
        if text.startswith("\\\n", self.i):
            self.i += 2
            return False
        if ch == "\n" or ch == ";":
            self.i += 1
            return True
        if text.startswith("&&", self.i):
            self.i += 2
            return True
        if ch == "#":
            end = text.find("\n", self.i)
            end = len(text) if end < 0 else end
            pipeline.comment = text[self.i:end]
            self.i = end
            return False
        if ch == "|":
            if text.startswith("||", self.i):
                raise ShellError(f"{self.where()}: || is not supported by the runner")
            self.i += 1
            if not words:
                raise ShellError(f"{self.where()}: a pipe with no command before it")
            pipeline.commands.append(list(words))
            words.clear()
            return False
        if ch == ">":
            self.i += 1
            while self.i < len(text) and text[self.i] in " \t":
                self.i += 1
            pipeline.redirect = self._word()
            return False
        if ch in "<&()`":
            raise ShellError(f"{self.where()}: {ch!r} is not supported by the runner")
        words.append(self._word())
        return False

    def _word(self) -> str:
        text, out = self.text, []
        while self.i < len(text):
            ch = text[self.i]
            if ch in " \t\n;|&><":
                break
            if ch == "'":
                end = text.find("'", self.i + 1)
                if end < 0:
                    raise ShellError(f"{self.where()}: unclosed single quote")
                out.append(text[self.i + 1:end])
                self.i = end + 1
            elif ch == '"':
                self.i += 1
                out.append(self._double_quoted())
            elif ch == "\\":
                if self.i + 1 < len(text) and text[self.i + 1] == "\n":
                    self.i += 2
                    break
                out.append(text[self.i + 1:self.i + 2])
                self.i += 2
            elif ch == "$":
                assigning = ASSIGNMENT.fullmatch("".join(out))  # NAME=$(...) is not split
                value = self._dollar()
                if not assigning and any(c.isspace() for c in value.strip("\n")):
                    raise ShellError(f"{self.where()}: an unquoted expansion with spaces "
                                     "would be split by the shell; quote it")
                out.append(value)
            else:
                out.append(ch)
                self.i += 1
        return "".join(out)

    def _double_quoted(self) -> str:
        text, out = self.text, []
        while True:
            if self.i >= len(text):
                raise ShellError(f"{self.where()}: unclosed double quote")
            ch = text[self.i]
            if ch == '"':
                self.i += 1
                return "".join(out)
            if ch == "\\" and text[self.i + 1:self.i + 2] in {'"', "\\", "$", "`", "\n"}:
                nxt = text[self.i + 1]
                out.append("" if nxt == "\n" else nxt)
                self.i += 2
            elif ch == "$":
                out.append(self._dollar())
            elif ch == "`":
                raise ShellError(f"{self.where()}: backquotes are not supported; use $(...)")
            else:
                out.append(ch)
                self.i += 1

    def _dollar(self) -> str:
        text = self.text
        self.i += 1
        if text.startswith("(", self.i):
            end = self._closing_paren(self.i)
            sub = _Parser(text[self.i + 1:end], self.shell, self.block, self)
            self.i = end + 1
            output = ""
            while (pipeline := sub.read()) is not None:
                output = self.shell.execute(pipeline, self.where())
            return output.rstrip("\n")
        if text.startswith("{", self.i):
            end = text.find("}", self.i)
            name = text[self.i + 1:end]
            self.i = end + 1
        else:
            match = NAME.match(text, self.i)
            if not match:
                return "$"
            name = match.group(0)
            self.i = match.end()
        if name not in self.shell.vars:
            raise ShellError(f"{self.where()}: ${name} is not set by an earlier example")
        return self.shell.vars[name]

    def _closing_paren(self, start: int) -> int:
        depth, i, text = 0, start, self.text
        while i < len(text):
            ch = text[i]
            if ch == "'":
                i = text.find("'", i + 1)
                if i < 0:
                    break
            elif ch == '"':
                i += 1
                while i < len(text) and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        raise ShellError(f"{self.where()}: unclosed $(")
