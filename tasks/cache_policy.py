"""Cache versions computed from the code a task runs: a flytekit `CachePolicy`.

flytekit's local cache and a cluster's both key a cached task on its name, its cache version and
its inputs, never on its code: a task whose code changed without a new version silently answers
from the old result. `CodeVersion` makes the version a digest of what the task runs:

- the task function's own source and, within its module, the top-level functions, classes and
  constants it names, followed name by name (a task module holds several tasks: editing one
  leaves the others' versions alone); its decorator is left out (it says how the task runs:
  resources, retries);
- every project module the function imports, whole, with the project modules those import,
  transitively (imports inside functions included): module granularity below the task, so a
  call through an attribute, a method or a callable held in a declaration is never missed;
- when that code reaches `usecases`, the current use case's folder (`usecases.current()`, the
  `MLOPS_USE_CASE` setting), its modules and their imports: the loop calls a use case through
  its declaration, which no import shows;
- the pins the task image is built from (`images/requirements.txt`): a new scikit-learn makes
  new models.

Project modules are the packages at the repository's root; site-packages are left out (the pins
stand for them). Sources are read as bytes with line endings normalized, never bytecode or file
times, and named by module, never by path: a clone elsewhere computes the same versions. All of
it is computed once per process (flytekit asks for a version while a task module is imported).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from flytekit.core.cache import Cache, VersionParameters

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Bumped when what goes into a digest changes, so that no two meanings share a version.
DIGEST_FORMAT = "1"

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_ASSIGNMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign)


def code_cache(ignored_inputs: tuple[str, ...] = ()) -> Cache:
    """flytekit's `Cache` with its version computed from the task's code (`CodeVersion`)."""
    return Cache(policies=[CodeVersion()], ignored_inputs=ignored_inputs)


class CodeVersion:
    """A `flytekit.core.cache.CachePolicy`: the digest of the code `params.func` runs."""

    def get_version(self, salt: str, params: VersionParameters) -> str:
        return task_code(params.func).digest(salt)


@dataclass(frozen=True)
class TaskCode:
    """What a task runs, as labelled sources (`module:core.features`, `definition:tasks.data.x`,
    ...), sorted by label."""

    parts: tuple[tuple[str, bytes], ...]

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.parts]

    @property
    def modules(self) -> set[str]:
        return {label.split(":", 1)[1] for label in self.labels if label.startswith("module:")}

    def digest(self, salt: str = "") -> str:
        hashed = hashlib.sha256(f"{DIGEST_FORMAT}\0{salt}\0".encode())
        for label, source in self.parts:
            hashed.update(label.encode() + b"\0" + hashlib.sha256(source).digest() + b"\0")
        return hashed.hexdigest()


def task_code(func: Callable) -> TaskCode:
    """The code `func` (a task's function, wrapped or not) runs, in this repository."""
    function = inspect.unwrap(func)
    return project().task_code(function.__module__, function.__qualname__, inspect.getsourcefile(function))


@cache
def project() -> SourceTree:
    """This repository, its use case being the current one."""
    return SourceTree(PROJECT_ROOT, _current_use_case_dir, PROJECT_ROOT / "images" / "requirements.txt")


def _current_use_case_dir() -> Path:
    import usecases

    return Path(usecases.current().package_dir)


class SourceTree:
    """The Python packages under `root` (a folder with an `__init__.py`), read once each.

    `use_case_dir` gives the folder of the current use case; `requirements` is a pip
    requirements file whose pins every version depends on."""

    def __init__(
        self,
        root: Path,
        use_case_dir: Callable[[], Path],
        requirements: Path | None = None,
        use_cases_package: str = "usecases",
    ):
        self.root = root.resolve()
        self._use_case_dir = use_case_dir
        self._requirements = requirements
        self.use_cases_package = use_cases_package
        self._files: dict[str, Path | None] = {}
        self._parsed: dict[Path, _Parsed] = {}
        self._imports: dict[str, frozenset[str]] = {}
        self._closures: dict[str, frozenset[str]] = {}
        self._codes: dict[tuple[str, str], TaskCode] = {}

    # -- one task ----------------------------------------------------------------------------------

    def task_code(self, module: str, qualname: str, path: str | Path | None = None) -> TaskCode:
        """What function `qualname` of `module` runs (`path`: its file, when the module is not
        one of this tree's packages, a workflow file run by path for example)."""
        key = (module, qualname)
        if key not in self._codes:
            file = self.file_of(module) or (Path(path) if path else None)
            if file is None:
                raise ValueError(f"no source file for {module}.{qualname}")
            self._codes[key] = self._task_code(self._parse(file, module), qualname)
        return self._codes[key]

    def _task_code(self, parsed: _Parsed, qualname: str) -> TaskCode:
        module = parsed.module
        definitions, imported = parsed.top_level
        parts: dict[str, bytes] = {}
        modules: set[str] = set()
        if qualname in definitions:
            # Function granularity in the task's own module: follow the names it uses.
            pending, seen = [qualname], set()
            while pending:
                name = pending.pop()
                if name in seen:
                    continue
                seen.add(name)
                node = definitions[name]
                parts[f"definition:{module}.{name}"] = parsed.segment(node, with_decorators=name != qualname)
                for used in _names(node, skip_decorators=name == qualname):
                    if used in definitions:
                        pending.append(used)
                    modules.update(imported.get(used, ()))
                modules.update(parsed.imports_within(node))
            effects = parsed.effects
            parts[f"effects:{module}"] = b"\n".join(parsed.segment(node, False) for node in effects)
            modules.update(m for node in effects for m in parsed.imports_within(node))
        else:
            # A nested or generated function: its whole module.
            parts[f"file:{module}"] = parsed.source
            modules.update(parsed.imports_within(parsed.tree))
        closure = self.closure(modules)
        if self.use_cases_package in closure:
            closure |= self.use_case_modules
            parts.update(self.use_case_files)
        for name in sorted(closure):
            parts[f"module:{name}"] = self.module(name).source
        parts["requirements"] = self.pins
        return TaskCode(tuple(sorted(parts.items())))

    # -- modules -----------------------------------------------------------------------------------

    @cached_property
    def packages(self) -> frozenset[str]:
        """The top-level packages: folders at the root with an `__init__.py`."""
        return frozenset(
            entry.name
            for entry in self.root.iterdir()
            if entry.is_dir() and not entry.name.startswith(".") and (entry / "__init__.py").is_file()
        )

    def file_of(self, module: str) -> Path | None:
        """The file of a module of this tree, or None for anything else (the standard library,
        site-packages, a name that is an attribute rather than a module)."""
        if module not in self._files:
            parts = module.split(".")
            found = None
            if parts[0] in self.packages:
                base = self.root.joinpath(*parts)
                found = next(
                    (c for c in (base / "__init__.py", base.with_suffix(".py")) if c.is_file()), None
                )
            self._files[module] = found
        return self._files[module]

    def module(self, name: str) -> _Parsed:
        file = self.file_of(name)
        if file is None:
            raise ValueError(f"{name} is not a module under {self.root}")
        return self._parse(file, name)

    def closure(self, modules: Iterable[str]) -> set[str]:
        """The modules of this tree among `modules` (and the packages above them) and every
        module of this tree they import, transitively."""
        return {found for module in self._ours(modules) for found in self._closure_of(module)}

    def _closure_of(self, name: str) -> frozenset[str]:
        if name not in self._closures:
            found: set[str] = set()
            pending = [name]
            while pending:  # iterative: imports cycle
                module = pending.pop()
                if module not in found:
                    found.add(module)
                    pending.extend(self._imports_of(module) - found)
            self._closures[name] = frozenset(found)
        return self._closures[name]

    def _imports_of(self, name: str) -> frozenset[str]:
        """The modules of this tree that module `name` imports anywhere in its source."""
        if name not in self._imports:
            self._imports[name] = frozenset(self._ours(self.module(name).imports_scanned()))
        return self._imports[name]

    def _ours(self, modules: Iterable[str]) -> set[str]:
        """Modules of this tree among `modules`, with the packages above them (importing `a.b.c`
        runs `a` and `a.b` first)."""
        found = set()
        for module in modules:
            parts = module.split(".")
            for end in range(1, len(parts) + 1):
                name = ".".join(parts[:end])
                if self.file_of(name):
                    found.add(name)
        return found

    def _parse(self, file: Path, module: str) -> _Parsed:
        if file not in self._parsed:
            source = normalized(file.read_bytes())
            self._parsed[file] = _Parsed(module, file, source, self.file_of)
        return self._parsed[file]

    # -- the use case and the pins -----------------------------------------------------------------

    @cached_property
    def use_case_modules(self) -> set[str]:
        """The current use case's modules (every one in its folder) and what they import."""
        folder = self._use_case_dir().resolve()
        names = set()
        for path in folder.rglob("*.py"):
            relative = path.relative_to(self.root).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            names.add(".".join(parts))
        return self.closure(names)

    @cached_property
    def use_case_files(self) -> dict[str, bytes]:
        """The other files of the use case's folder, data its code may read (bytecode and docs
        left out)."""
        folder = self._use_case_dir().resolve()
        found = {}
        for path in sorted(folder.rglob("*")):
            skipped = path.suffix in {".py", ".pyc", ".md"} or "__pycache__" in path.parts
            if path.is_file() and not skipped:
                found[f"use-case-file:{path.relative_to(self.root).as_posix()}"] = normalized(
                    path.read_bytes()
                )
        return found

    @cached_property
    def pins(self) -> bytes:
        """The requirements' pins, one `name==version` a line, sorted (comments left out)."""
        if self._requirements is None or not self._requirements.is_file():
            return b""
        lines = (line.strip() for line in self._requirements.read_text().splitlines())
        return "\n".join(sorted(line for line in lines if line and not line.startswith("#"))).encode()


def normalized(source: bytes) -> bytes:
    """Source bytes with `\\r\\n` and `\\r` line endings made `\\n`."""
    return source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


# An import statement, at the start of a line or after `;` or `:`, anywhere in a file (inside functions
# too): `from <dots><module> import <names, or (names) over lines>` or `import <modules>`.
_IMPORT = re.compile(
    rb"(?:^|[;:])[ \t]*"
    rb"(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)|import[ \t]+([^\n#;]*))",
    re.M,
)


class _Parsed:
    """One module's normalized source, what its imports name and, when asked, its syntax tree."""

    def __init__(self, module: str, file: Path, source: bytes, file_of: Callable[[str], Path | None]):
        self.module = module
        self.file = file
        self.package = module if file.name == "__init__.py" else module.rpartition(".")[0]
        self.source = source
        self._file_of = file_of
        self._lines = source.split(b"\n")

    @cached_property
    def tree(self) -> ast.Module:
        """Parsed for a task's own module only: a dependency is read whole, its imports scanned."""
        return ast.parse(self.source, filename=str(self.file))

    def imports_scanned(self) -> set[str]:
        """Every module an import statement of the file names, found by a scan of the text (ten
        times faster than parsing; it may also find one in a string, which only adds a module).
        `tests/unit/pipeline/test_cache_policy.py` checks it finds all the parser finds."""
        found: set[str] = set()
        for match in _IMPORT.finditer(self.source):
            base, names, plain = (g.decode() if g is not None else None for g in match.groups())
            if plain is not None:
                found.update(part.split()[0] for part in plain.split(",") if part.strip())
                continue
            dots = len(base or "") - len((base or "").lstrip("."))
            absolute = self._absolute((base or "").lstrip("."), dots)
            for alias in (names or "").strip("()").replace("\\", " ").split(","):
                name = alias.split()[0] if alias.split() else ""
                if name and name != "*":
                    submodule = f"{absolute}.{name}" if absolute else name
                    found.add(submodule if self._file_of(submodule) else absolute)
            found.add(absolute)
        return {module for module in found if module}

    def segment(self, node: ast.stmt, with_decorators: bool) -> bytes:
        first = node.lineno
        if with_decorators and isinstance(node, _DEFINITIONS) and node.decorator_list:
            first = min(d.lineno for d in node.decorator_list)
        return b"\n".join(self._lines[first - 1 : node.end_lineno])

    @cached_property
    def top_level(self) -> tuple[dict[str, ast.stmt], dict[str, set[str]]]:
        """{name: the statement defining it} and {name: the modules an import binds it to}."""
        definitions: dict[str, ast.stmt] = {}
        imported: dict[str, set[str]] = {}
        for node in top_level_statements(self.tree.body):
            if isinstance(node, _DEFINITIONS):
                definitions[node.name] = node
            elif isinstance(node, _ASSIGNMENTS):
                for target in _targets(node):
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            definitions[name.id] = node
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for bound, modules in self._bindings(node):
                    imported.setdefault(bound, set()).update(modules)
        return definitions, imported

    @cached_property
    def effects(self) -> list[ast.stmt]:
        """Top-level statements that neither define a name nor import one: what runs on import
        besides definitions (a library patched, a registration)."""
        kept = []
        for index, node in enumerate(top_level_statements(self.tree.body)):
            docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            defines = isinstance(node, (*_DEFINITIONS, ast.Import, ast.ImportFrom))
            names_only = isinstance(node, _ASSIGNMENTS) and all(
                isinstance(t, ast.Name) for t in _targets(node)
            )
            if not (docstring or defines or names_only):
                kept.append(node)
        return kept

    def imports_within(self, node: ast.AST) -> set[str]:
        """Every module an import statement inside `node` names (made absolute)."""
        return {
            module
            for inner in _statements(node)
            if isinstance(inner, ast.Import | ast.ImportFrom)
            for _, modules in self._bindings(inner)
            for module in modules
        }

    def _bindings(self, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, set[str]]]:
        """(the name bound, the modules it stands for) of each alias of an import statement."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield (alias.asname or alias.name.split(".")[0]), {alias.name}
            return
        base = self._absolute(node.module or "", node.level)
        for alias in node.names:
            submodule = f"{base}.{alias.name}" if base else alias.name
            # `from a import b`: b is module a.b, or a name module a defines.
            yield (alias.asname or alias.name), {submodule if self._file_of(submodule) else base}

    def _absolute(self, module: str, level: int) -> str:
        if level == 0:
            return module
        package = self.package.split(".")
        base = package[: len(package) - (level - 1)]
        return ".".join([*base, module] if module else base)


def _targets(node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def top_level_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, looking inside `if` and `try` blocks (`if TYPE_CHECKING:` imports)."""
    for node in body:
        if isinstance(node, ast.If | ast.Try):
            inner = [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            inner += [s for handler in getattr(node, "handlers", []) for s in handler.body]
            yield from top_level_statements(inner)
        else:
            yield node


def _statements(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and every statement inside it, expressions skipped (an import is a statement: a
    tenth of the nodes `ast.walk` visits)."""
    yield node
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, None) or ():
            if isinstance(child, ast.AST):
                yield from _statements(child)


def _names(node: ast.AST, skip_decorators: bool) -> set[str]:
    """Every plain name a statement uses (the task's own decorators left out)."""
    roots: list[ast.AST] = [node]
    if skip_decorators and isinstance(node, _DEFINITIONS):
        roots = [child for child in ast.iter_child_nodes(node) if child not in node.decorator_list]
    return {n.id for root in roots for n in ast.walk(root) if isinstance(n, ast.Name)}
