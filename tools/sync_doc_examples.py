#!/usr/bin/env python3
# Copies each example region (examples/**/*.cpp, between `// [NAME]` and `// [/NAME]`, common
# indentation removed) into the code block that follows its `<!-- example: FILE NAME -->` marker in
# README.md and in every docs/*.md. `./grove.sh format` runs it after clang-format;
# `./grove.sh format --check` runs it with --check, which changes nothing and exits 1 naming each
# page whose blocks differ from their regions. readme_examples_test checks the same (and that every
# region is shown exactly once).
#   usage: sync_doc_examples.py ROOT [--check]
import glob, os, re, sys

MARKER = re.compile(r'^<!-- example: (\S+) ([a-z_]+) -->$')
OPEN = re.compile(r'^\s*// \[([a-z_]+)\]\s*$')


def regions(path):
    out = {}
    lines = open(path).read().split('\n')
    i = 0
    while i < len(lines):
        m = OPEN.match(lines[i])
        if m:
            name = m.group(1); body = []; j = i + 1
            while '// [/' + name + ']' not in lines[j]:
                body.append(lines[j]); j += 1
            ind = min([len(l) - len(l.lstrip(' ')) for l in body if l.strip()] or [0])
            out[name] = [l[ind:] if len(l) >= ind else '' for l in body]
            i = j
        i += 1
    return out


def synced(page, text, regs):
    lines = text.split('\n')
    out = []; i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        out.append(lines[i])
        if m:
            file, name = m.group(1), m.group(2)
            if i + 1 == len(lines) or lines[i + 1] != '```cpp':
                sys.exit(f'{page}:{i + 2}: a ```cpp block must follow the example marker')
            if name not in regs.get(file, {}):
                sys.exit(f'{page}:{i + 1}: no region {name} in {file}')
            out.append('```cpp')
            j = i + 2
            while j < len(lines) and lines[j] != '```': j += 1
            if j == len(lines):
                sys.exit(f'{page}:{i + 2}: the code block of {file} {name} is not closed')
            out.extend(regs[file][name])
            out.append('```')
            i = j + 1
            continue
        i += 1
    return '\n'.join(out)


def main():
    root = sys.argv[1]
    check = '--check' in sys.argv[2:]
    regs = {os.path.relpath(p, root): regions(p) for p in glob.glob(root + '/examples/**/*.cpp', recursive=True)}
    pages = ['README.md'] + sorted(os.path.relpath(p, root) for p in glob.glob(root + '/docs/*.md'))
    drifted = []
    for page in pages:
        path = os.path.join(root, page)
        text = open(path).read()
        new = synced(page, text, regs)
        if new == text: continue
        drifted.append(page)
        if not check: open(path, 'w').write(new)
    if check and drifted:
        print('code blocks differ from their example regions in: ' + ', '.join(drifted)
              + ' (./grove.sh format copies the regions)', file=sys.stderr)
        sys.exit(1)


main()
