"""The lint step's function-length check (tools/function_length.py) catches what it should."""

import importlib.util
import textwrap

from cloudbridge.plan import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("function_length", PROJECT_ROOT / "tools" / "function_length.py")
checker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checker)


def _tree(tmp_path, body_lines):
    body = "\n".join(f"    x{i} = {i}" for i in range(body_lines))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        textwrap.dedent("""\
            class Thing:
                def build(self):
            {body}

            def short():
                return 1
            """).format(body=textwrap.indent(body, "    "))
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_long():\n" + "\n".join(["    pass"] * 100) + "\n")
    return tmp_path


def test_a_long_method_is_named_and_tests_are_not_checked(tmp_path):
    found = checker.long_functions(_tree(tmp_path, 80))
    assert found == {"pkg/mod.py::Thing.build": 81}
    [problem] = checker.problems(found, allowed={})
    assert problem.startswith("pkg/mod.py::Thing.build: 81 lines")


def test_allowed_needs_a_reason_and_goes_when_the_function_is_split(tmp_path):
    found = checker.long_functions(_tree(tmp_path, 80))
    assert checker.problems(found, allowed={"pkg/mod.py::Thing.build": "a table"}) == []
    assert checker.problems(found, allowed={"pkg/mod.py::Thing.build": " "}) == [
        "pkg/mod.py::Thing.build: allowed without a reason"
    ]
    (tmp_path / "split").mkdir()
    short = checker.long_functions(_tree(tmp_path / "split", 10))  # the method was split: nothing long
    assert checker.problems(short, allowed={"pkg/mod.py::Thing.build": "a table"}) == [
        "pkg/mod.py::Thing.build: allowed but no longer long; remove it from ALLOWED"
    ]


def test_the_repository_passes_its_own_check():
    assert checker.problems(checker.long_functions()) == []


def _import_graph(root) -> dict[str, set[str]]:
    """Which project modules each project module imports (at any depth: lazy imports count)."""
    import ast

    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] in (".venv", ".build", "tests") or parts[-1] == "__main__":
            continue
        modules[".".join(parts).removesuffix(".__init__")] = path
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle, as the modules along it, or [] when there is none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(name, path):
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep, path + [dep])):
                return found
        state[name] = 2
        return []

    return next((found for name in sorted(graph) if name not in state and (found := visit(name, [name]))), [])


def test_no_module_imports_itself_through_others(tmp_path):
    assert _cycle(_import_graph(PROJECT_ROOT)) == []
    (tmp_path / "a.py").write_text("def f():\n    from b import g\n")  # a lazy import still counts
    (tmp_path / "b.py").write_text("import a\n")
    assert _cycle(_import_graph(tmp_path)) == ["a", "b", "a"]


def _imports_of(path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_the_layers_hold():
    """Functions ship without Pulumi and the program's code; only stack_config reads pulumi.Config."""
    for path in sorted((PROJECT_ROOT / "functions").rglob("*.py")):
        roots = {name.split(".")[0] for name in _imports_of(path)}
        assert not roots & {"pulumi", "pulumi_aws", "components", "cloudbridge", "bootstrap"}, path
    readers = sorted(
        str(p.relative_to(PROJECT_ROOT))
        for p in (PROJECT_ROOT / "components").rglob("*.py")
        if "pulumi.Config(" in p.read_text()
    )
    assert readers == ["components/stack_config.py"]
