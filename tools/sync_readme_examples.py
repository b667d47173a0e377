#!/usr/bin/env python3
# Copies each example region (examples/**/*.cpp, between `// [NAME]` and `// [/NAME]`) into the README code
# block that follows its `<!-- example: FILE NAME -->` marker; `./grove.sh format` runs it after
# clang-format, and readme_examples_test fails when the two differ.
import re, os, sys, glob
root = sys.argv[1]
def regions(path):
    out = {}
    lines = open(path).read().split('\n')
    i = 0
    while i < len(lines):
        m = re.match(r'^\s*// \[([a-z_]+)\]\s*$', lines[i])
        if m:
            name = m.group(1); body = []; j = i + 1
            while '// [/' + name + ']' not in lines[j]:
                body.append(lines[j]); j += 1
            ind = min([len(l) - len(l.lstrip(' ')) for l in body if l.strip()] or [0])
            out[name] = [l[ind:] if len(l) >= ind else '' for l in body]
            i = j
        i += 1
    return out
regs = {}
for p in glob.glob(root + '/examples/**/*.cpp', recursive=True):
    regs[os.path.relpath(p, root)] = regions(p)
readme = open(root + '/README.md').read().split('\n')
out = []; i = 0
while i < len(readme):
    m = re.match(r'^<!-- example: (\S+) ([a-z_]+) -->$', readme[i])
    out.append(readme[i])
    if m:
        assert readme[i+1] == '```cpp'
        out.append('```cpp')
        j = i + 2
        while readme[j] != '```': j += 1
        out.extend(regs[m.group(1)][m.group(2)])
        out.append('```')
        i = j + 1
        continue
    i += 1
open(root + '/README.md', 'w').write('\n'.join(out))
