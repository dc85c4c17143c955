#!/usr/bin/env python3
"""check_file_graph.py - structure checks of the temporal/ library: no two of its files call each
other in a loop (directly or through others), and no file is longer than the limit.

Reads the library's object files with nm: file A depends on file B when A uses a symbol B
defines. A cycle in that graph fails the check, naming the files and a symbol per edge.
usage: check_file_graph.py SOURCE_DIR MAX_LINES OBJECT...   (objects may come ;-joined)"""
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVW":
            defined.add(parts[2])
    return defined, used


def main():
    src, max_lines = sys.argv[1], int(sys.argv[2])
    objs = [o for arg in sys.argv[3:] for o in arg.split(";") if o]
    files = {}
    for o in objs:
        name = os.path.basename(o).split(".")[0] + ".c"
        files[name] = symbols(o)
    owner = {}
    for name, (defined, _) in files.items():
        for s in defined:
            owner[s] = name
    edges = {name: {} for name in files}
    for name, (_, used) in files.items():
        for s in used:
            o = owner.get(s)
            if o and o != name:
                edges[name].setdefault(o, s)
    # Tarjan's strongly connected components: any with two or more files is a loop.
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    bad = False
    for comp in comps:
        if len(comp) > 1:
            bad = True
            print("files calling each other in a loop:", ", ".join(sorted(comp)))
            for a in sorted(comp):
                for b, s in sorted(edges[a].items()):
                    if b in comp:
                        print(f"  {a} -> {b} ({s})")
    for name in sorted(os.listdir(src)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(src, name), encoding="utf-8") as f:
                n = sum(1 for _ in f)
            if n > max_lines:
                bad = True
                print(f"{name}: {n} lines (limit {max_lines})")
    print(f"{len(files)} files, {sum(len(e) for e in edges.values())} file dependencies"
          + ("" if bad else ", no loops"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
