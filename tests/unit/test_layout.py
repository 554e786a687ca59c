"""
The layout rules of docs/design.md that code review alone would let slip: product files small
enough to hold in one's head, functions short, tests independent of each other.
"""

import ast
import re

import pytest

from support.paths import REPO

PRODUCT = ("_modules", "_runners", "_engines", "_pillar", "_utils", "console", "lab")
MAX_FILE_LINES = 600
MAX_FUNCTION_CODE_LINES = 60


def product_files():
    return sorted(path for folder in PRODUCT for path in (REPO / folder).rglob("*.py"))


def code_lines(node, source_lines):
    """Lines of a function that hold code: not blank, not comments, not its docstring."""
    body = node.body
    first = body[0]
    skip = set()
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        skip = set(range(first.lineno, first.end_lineno + 1))
    count = 0
    for number in range(node.lineno, node.end_lineno + 1):
        text = source_lines[number - 1].strip()
        if number not in skip and text and not text.startswith("#"):
            count += 1
    return count


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_product_files_stay_small(path):
    assert len(path.read_text().splitlines()) <= MAX_FILE_LINES


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_product_functions_stay_short(path):
    source = path.read_text()
    lines = source.splitlines()
    long = [
        f"{node.name} ({code_lines(node, lines)} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and code_lines(node, lines) > MAX_FUNCTION_CODE_LINES
    ]
    assert not long


def test_no_test_module_imports_another():
    pattern = re.compile(r"^\s*(?:from|import)\s+(?:\.?\w+\.)*test_\w+", re.MULTILINE)
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "tests").rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert not offenders


def test_test_file_names_are_unique_across_tiers():
    # pytest's default import mode imports test files by basename: two of one name break the run.
    names = [path.name for path in (REPO / "tests").rglob("test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []
