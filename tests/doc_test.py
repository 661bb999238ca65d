#!/usr/bin/python3
"""Compiles every C++ block of README.md and docs/*.md, as doc-tests do in other ecosystems.

Usage: doc_test.py --source-dir DIR --work-dir DIR --compiler CXX [--list] [DOC.md ...]
                   [-- FLAG ...]

Every ```cpp block is code a user may paste, so each must compile against include/ with the
project's flags (given after --, warnings as errors). The blocks of one document go into ONE
translation unit, each in a namespace of its own, checked with -fsyntax-only: one compiler start
per document keeps CI cheap. What a block is, is said by an HTML comment on the line right
before its fence (invisible where the Markdown is rendered):

  (no comment)                 a file: declarations and definitions, #includes anywhere
  <!-- doc-test: fragment -->  statements: wrapped in a function body
  <!-- doc-test: run -->       a whole program with main(): compiled, linked and run, from an
                               empty directory of its own (the quick start)
  <!-- doc-test: skip REASON -->  not compiled; the reason is required (keep these rare)

A comment may go on over more lines before its -->: those lines are C++ given to the block
ahead of it and not shown to the reader (the declarations a fragment refers to: `float x;`),
at namespace scope. Options after the mode, separated by ';':
  in namespace rnnx            the block is placed inside namespace rnnx (library excerpts)
  header FILE: ARGS            runs codegen/rnnx-codegen ARGS -o FILE first (paths in ARGS are
                               relative to the source directory), so the block can #include it
"""

import argparse
import dataclasses
import pathlib
import re
import shlex
import subprocess
import sys
import time

FENCE = re.compile(r"^```(cpp|c\+\+|cxx)\s*$")
MARKER = re.compile(r"^<!--\s*doc-test:\s*(.*)$")
INCLUDE = re.compile(r"^\s*#\s*include\s")


@dataclasses.dataclass
class Block:
    doc: pathlib.Path
    line: int  # 1-based line of the first code line in the document
    code: list
    mode: str = "file"
    reason: str = ""
    prelude: list = dataclasses.field(default_factory=list)
    in_rnnx: bool = False
    headers: list = dataclasses.field(default_factory=list)  # (file name, rnnx-codegen args)

    @property
    def where(self):
        return f"{self.doc}:{self.line}"


class DocError(Exception):
    pass


def parse_marker(lines, end, doc):
    """The doc-test comment whose last line is lines[end], as (first line, prelude) or None."""
    if not lines[end].rstrip().endswith("-->"):
        return None
    start = end
    while start >= 0 and not lines[start].lstrip().startswith("<!--"):
        start -= 1
    if start < 0:
        return None
    match = MARKER.match(lines[start].strip())
    if not match:
        return None
    body = [match.group(1)] + lines[start + 1 : end + 1]
    body[-1] = body[-1].rstrip()[: -len("-->")]
    head, prelude = body[0].strip(), body[1:]
    if start == end:
        head = head.rstrip()
    return head, [line for line in prelude if line.strip()], start + 1


def apply_marker(block, head, where):
    if head == "skip" or head.startswith("skip "):  # the reason is all the rest, ';' included
        if not head[len("skip"):].strip():
            raise DocError(f"{where}: 'doc-test: skip' needs a reason")
        block.mode, block.reason = "skip", head[len("skip"):].strip()
        return
    parts = [part.strip() for part in head.split(";") if part.strip()]
    if not parts:
        raise DocError(f"{where}: a doc-test comment needs a mode (fragment, run, skip REASON)")
    mode, _, rest = parts[0].partition(" ")
    if mode in ("fragment", "run", "file") and not rest:
        block.mode = mode
    else:
        raise DocError(f"{where}: unknown doc-test mode '{parts[0]}'")
    for option in parts[1:]:
        if option == "in namespace rnnx":
            block.in_rnnx = True
        elif option.startswith("header ") and ":" in option:
            name, args = option[len("header ") :].split(":", 1)
            block.headers.append((name.strip(), shlex.split(args)))
        else:
            raise DocError(f"{where}: unknown doc-test option '{option}'")


def extract(doc, display):
    """Every C++ block of one Markdown file, with what its comment says."""
    lines = doc.read_text(encoding="utf-8").split("\n")
    blocks, i = [], 0
    markers_used = set()
    while i < len(lines):
        if FENCE.match(lines[i]):
            block = Block(display, i + 2, [])
            marker = parse_marker(lines, i - 1, doc) if i > 0 else None
            if marker:
                head, block.prelude, marker_line = marker
                apply_marker(block, head, f"{display}:{marker_line}")
                markers_used.add(marker_line)
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.code.append(lines[i])
                i += 1
            if i == len(lines):
                raise DocError(f"{block.where}: the C++ block is never closed")
            blocks.append(block)
        elif lines[i].startswith("```"):  # another language: skip to its closing fence
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
        i += 1
    # A doc-test comment that no block follows was left behind by an edit: say so.
    for number, line in enumerate(lines, 1):
        if MARKER.match(line.strip()) and number not in markers_used:
            raise DocError(f"{display}:{number}: this doc-test comment is not right before "
                           "a ```cpp block")
    return blocks


def translation_unit(blocks, display, quoted_line):
    """One source for a document's compiled blocks; #line keeps errors pointing at the .md."""
    includes, bodies = [], []
    for block in blocks:
        name = f"doc_line_{block.line}"
        code = []
        for number, line in enumerate(block.code, block.line):
            if INCLUDE.match(line):
                if line.strip() not in includes:
                    includes.append(line.strip())
                code.append("")  # keeps the #line numbering of what follows
            else:
                code.append(line)
        text = []
        wrapped = block.mode != "run"  # a program's main() must stay global
        if block.in_rnnx:
            text.append("namespace rnnx {")
        if wrapped:
            text.append(f"namespace {name} {{")
        text += block.prelude
        if block.mode == "fragment":
            text.append("void run_block() {")
        text.append(f'#line {block.line} "{quoted_line(display)}"')
        text += code
        if block.mode == "fragment":
            text.append("}")
        if wrapped:
            text.append(f"}}  // namespace {name}")
        if block.in_rnnx:
            text.append("}  // namespace rnnx")
        bodies.append("\n".join(text))
    head = f"// Generated by tests/doc_test.py from {display}: its C++ blocks, one namespace each.\n"
    return head + "\n".join(includes) + "\n\n" + "\n\n".join(bodies) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source-dir", type=pathlib.Path, required=True)
    parser.add_argument("--work-dir", type=pathlib.Path, required=True)
    parser.add_argument("--compiler", default="g++")
    parser.add_argument("--list", action="store_true", help="list the blocks and what they are")
    parser.add_argument("docs", nargs="*", help="default: README.md and docs/*.md")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args, flags = parser.parse_args(argv[:split]), argv[split + 1 :]
    root = args.source_dir.resolve()
    docs = [pathlib.Path(d).resolve() for d in args.docs] or (
        [root / "README.md"] + sorted((root / "docs").glob("*.md")))
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    include_flags = [f"-I{root / 'include'}", f"-I{work}"]

    def quoted_line(path):
        return str(path).replace("\\", "\\\\").replace('"', '\\"')

    def compile_step(what, command, cwd=None, show_output=False):
        started = time.monotonic()
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if result.returncode != 0:
            print(f"FAIL {what} ({seconds:.1f} s): {shlex.join(command)}")
            print(result.stdout + result.stderr)
            return False
        print(f"ok   {what} ({seconds:.1f} s)")
        if show_output and result.stdout.strip():
            print("\n".join("     " + line for line in result.stdout.strip().split("\n")))
        return True

    failures, total_started = 0, time.monotonic()
    for doc in docs:
        display = doc.relative_to(root) if doc.is_relative_to(root) else doc
        try:
            blocks = extract(doc, display)
        except DocError as error:
            print(f"FAIL {error}")
            failures += 1
            continue
        if args.list:
            for block in blocks:
                print(f"{block.where}: {block.mode} {block.reason}".rstrip())
            continue
        for block in blocks:
            if block.mode == "skip":
                print(f"skip {block.where}: {block.reason}")
            for name, codegen_args in block.headers:
                command = [sys.executable, str(root / "codegen" / "rnnx-codegen"), *codegen_args,
                           "-o", str(work / name)]
                if not compile_step(f"{block.where}: rnnx-codegen -> {name}", command, cwd=root):
                    failures += 1
        stem = str(display).replace("/", "_").removesuffix(".md")
        checked = [b for b in blocks if b.mode in ("file", "fragment")]
        if checked:
            source = work / f"{stem}.cpp"
            source.write_text(translation_unit(checked, display, quoted_line), encoding="utf-8")
            # A snippet may end in `float y = model.step(x, state)[0];` to show what a call
            # returns; using every such name would add lines that say nothing to the reader.
            command = [args.compiler, *flags, "-Wno-unused-variable",
                       "-Wno-unused-but-set-variable", "-O0", "-fsyntax-only", *include_flags,
                       str(source)]
            if not compile_step(f"{display}: {len(checked)} blocks", command):
                failures += 1
        for block in (b for b in blocks if b.mode == "run"):
            source = work / f"{stem}_{block.line}.cpp"
            source.write_text(translation_unit([block], display, quoted_line), encoding="utf-8")
            program = work / f"{stem}_{block.line}"
            command = [args.compiler, *flags, "-O0", *include_flags, str(source), "-o", str(program)]
            if not compile_step(f"{block.where}: build", command):
                failures += 1
                continue
            # An empty directory: the program finds nothing it did not make itself.
            run_dir = work / f"{stem}_{block.line}.run"
            if run_dir.exists():
                for leftover in run_dir.iterdir():
                    leftover.unlink()
            run_dir.mkdir(exist_ok=True)
            if not compile_step(f"{block.where}: run", [str(program)], cwd=run_dir,
                                show_output=True):
                failures += 1
    print(f"{'FAILED' if failures else 'passed'}: {failures} failure(s), "
          f"{time.monotonic() - total_started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
