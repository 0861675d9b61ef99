"""The template language: Jinja2's SandboxedEnvironment with StrictUndefined, and a check of
a template's source when it is saved (check_source) that refuses, with the line, what does not
parse, names a field that does not exist, or reaches for anything beyond the fields.

What a template may use: the FIELDS (plain text values), literals, `if`/`elif`/`else`, `for`
over a field or over range() (at most MAX_RANGE a call, loops nested at most MAX_LOOP_DEPTH
deep), comparisons, `~`, and the SAFE_FILTERS. No attributes or items (`''.__class__` is
refused before it runs), no calls but range(), no macros, `set`, include, import or extends.
The sandbox stays underneath as a second wall, and render_limited() stops any output past
MAX_OUTPUT_CHARS: nothing a template says can run for ever or fill the memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from core.errors import InvalidInput

# name -> what it holds (the order of `campaigns template show` and the console's help)
FIELDS: Mapping[str, str] = {
    "email": "the recipient's email address",
    "name": "the lead's name ('' when none)",
    "company": "the lead's company ('' when none)",
    "campaign_name": "the campaign's name",
    "campaign_id": "the campaign's id (campaign_id)",
    "unsubscribe_url": "the recipient's one-click unsubscribe page",
}
SAMPLE: Mapping[str, str] = {
    "email": "jane@example.com",
    "name": "Jane Doe",
    "company": "Example Ltd",
    "campaign_name": "Spring Launch",
    "campaign_id": "camp_spring",
    "unsubscribe_url": "http://127.0.0.1:8040/api/v1/campaigns/track/TOKEN/unsubscribe",
}
SAFE_FILTERS = frozenset(
    {
        "e", "escape", "upper", "lower", "title", "capitalize", "trim", "default", "d",
        "length", "count", "first", "last", "urlencode", "striptags", "truncate", "string",
        "int", "abs", "round", "wordcount",
    }
)  # fmt: skip
SAFE_TESTS = frozenset({"defined", "undefined", "none", "string", "number", "eq", "ne", "in"})
LOOP_ATTRS = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "previtem", "nextitem"}
)
MAX_RANGE = 1000
MAX_LOOP_DEPTH = 2
MAX_OUTPUT_CHARS = 2_000_000
_ALLOWED = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.If,
    nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Concat,
    nodes.Filter, nodes.Test, nodes.For, nodes.Call, nodes.Tuple, nodes.List, nodes.Keyword,
    nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub, nodes.Mod,
)  # fmt: skip
_WHAT = {
    nodes.Getattr: "an attribute ('.')",
    nodes.Getitem: "an item ('[...]')",
    nodes.Macro: "a macro",
    nodes.CallBlock: "a call block",
    nodes.Assign: "`set`",
    nodes.AssignBlock: "`set`",
    nodes.Include: "`include`",
    nodes.Import: "`import`",
    nodes.FromImport: "`import`",
    nodes.Extends: "`extends`",
    nodes.Block: "a block",
    nodes.Mul: "'*'",
    nodes.Pow: "'**'",
}


def _range(*args: Any) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SecurityError(f"range() gives at most {MAX_RANGE} numbers in a template.")
    return r


class _Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, its globals cut to a bounded range()."""

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=autoescape,
            keep_trailing_newline=True,
            auto_reload=False,
            cache_size=0,
        )
        self.globals.clear()
        self.globals["range"] = _range
        self.filters = {k: v for k, v in self.filters.items() if k in SAFE_FILTERS}
        self.tests = {k: v for k, v in self.tests.items() if k in SAFE_TESTS}


HTML_ENV = _Sandbox(autoescape=True)  # the HTML body: fields are escaped
TEXT_ENV = _Sandbox(autoescape=False)  # the subject and the text body


def _refuse(part: str, line: int | None, message: str) -> InvalidInput:
    where = f"{part}, line {line}" if line else part
    return InvalidInput(f"{where}: {message}")


def _targets(node: nodes.Node, part: str) -> frozenset[str]:
    if isinstance(node, nodes.Name):
        return frozenset({node.name})
    if isinstance(node, nodes.Tuple) and all(isinstance(n, nodes.Name) for n in node.items):
        return frozenset(n.name for n in node.items if isinstance(n, nodes.Name))
    raise _refuse(part, node.lineno, "a loop names its variable plainly: {% for x in ... %}.")


def _known(name: str, names: frozenset[str], loops: int) -> bool:
    return name in FIELDS or name in names or (name == "loop" and loops > 0)


def _walk(part: str, node: nodes.Node, loops: int, names: frozenset[str] = frozenset()) -> None:
    kind = type(node)
    line = getattr(node, "lineno", None)
    if (
        isinstance(node, nodes.Getattr)
        and loops > 0
        and isinstance(node.node, nodes.Name)
        and node.node.name == "loop"
        and "loop" not in names
        and node.attr in LOOP_ATTRS
    ):
        return  # loop.index and its kin
    if not isinstance(node, _ALLOWED):
        what = _WHAT.get(kind, f"{kind.__name__}")
        raise _refuse(part, line, f"{what} is not allowed in a template (only the fields).")
    if isinstance(node, nodes.Name) and not _known(node.name, names, loops):
        raise _refuse(part, line, f"no field {node.name!r}; the fields are {', '.join(FIELDS)}.")
    if isinstance(node, nodes.Call):
        if not (isinstance(node.node, nodes.Name) and node.node.name == "range"):
            raise _refuse(part, line, "the only call a template may make is range().")
        if node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise _refuse(part, line, "range() takes plain numbers.")
        for arg in node.args:
            _walk(part, arg, loops, names)
        return
    if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
        raise _refuse(part, line, f"the filter {node.name!r} is not allowed here.")
    if isinstance(node, nodes.Test) and node.name not in SAFE_TESTS:
        raise _refuse(part, line, f"the test {node.name!r} is not allowed here.")
    if isinstance(node, nodes.For):
        if loops + 1 > MAX_LOOP_DEPTH:
            raise _refuse(part, line, f"loops nest at most {MAX_LOOP_DEPTH} deep.")
        if node.recursive:
            raise _refuse(part, line, "recursive loops are not allowed.")
        _walk(part, node.iter, loops, names)
        inner = names | _targets(node.target, part)
        for child in node.body:
            _walk(part, child, loops + 1, inner)
        for child in node.else_:
            _walk(part, child, loops, names)
        if node.test is not None:
            _walk(part, node.test, loops + 1, inner)
        return
    for child in node.iter_child_nodes():
        _walk(part, child, loops, names)


def check_source(part: str, source: str, *, html: bool) -> None:
    """Refuse (InvalidInput "subject, line 3: ...") a template that does not parse, names a
    field that does not exist, or uses more of Jinja2 than the fields need."""
    env = HTML_ENV if html else TEXT_ENV
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise _refuse(part, exc.lineno, f"does not parse: {exc.message}") from None
    _walk(part, tree, 0)


def render_limited(template: Any, values: Mapping[str, str], part: str) -> str:
    """Render, stopping (InvalidInput) past MAX_OUTPUT_CHARS or on any template error."""
    out: list[str] = []
    size = 0
    try:
        chunks: Iterator[str] = template.generate(values)
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise InvalidInput(f"{part}: renders to more than {MAX_OUTPUT_CHARS:,} characters.")
            out.append(chunk)
    except (SecurityError, UndefinedError) as exc:
        raise InvalidInput(f"{part}: {exc}") from None
    except TemplateError as exc:
        raise InvalidInput(f"{part}: does not render ({exc}).") from None
    except RecursionError:
        raise InvalidInput(f"{part}: nests too deep to render.") from None
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{part}: does not render ({type(exc).__name__}: {exc}).") from None
    return "".join(out)
