#!/usr/bin/env python3
"""No module cycles: two sibling modules (files) of src/ that use each other,
directly or through others, fail the build. A use is a `crate::a::b` or
`super::x` path outside comments and test modules; a module using its own
parent or child is not a cycle (that is how Rust nests modules).

    python3 .ci/module_cycles.py
"""
import collections
import os
import re
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
def modpath(f):
    p=f[len('src/'):-3].split('/')
    if p[-1] in ('mod','lib','main'): p=p[:-1]
    return tuple(p)
files={}
for root,_,fs in os.walk('src'):
    for fn in fs:
        if fn.endswith('.rs') and 'test' not in fn and root.find('/tests')<0:
            f=os.path.join(root,fn); files[modpath(f)]=f
edges=collections.defaultdict(set)
for mp,f in files.items():
    src=open(f).read()
    src=re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*','',src,flags=re.S)
    src='\n'.join(l for l in src.splitlines() if not l.strip().startswith('//'))
    refs=[]
    for m in re.finditer(r'crate::((?:[a-z_0-9]+::)*[a-z_0-9]+)',src):
        refs.append(tuple(m.group(1).split('::')))
    for m in re.finditer(r'\b((?:super::)+)((?:[a-z_0-9]+::)*[a-z_0-9]+)',src):
        ups=m.group(1).count('super::')
        base=mp[:len(mp)-ups]
        refs.append(base+tuple(m.group(2).split('::')))
    # also 'use super::{a, b}' groups
    for m in re.finditer(r'use ((?:super::)+)\{([^}]*)\}',src):
        ups=m.group(1).count('super::'); base=mp[:len(mp)-ups]
        for part in m.group(2).split(','):
            part=part.strip().split('::')[0].strip()
            if part and part[0].islower() and part!='self': refs.append(base+(part,))
    for r in refs:
        # longest known module prefix
        tgt=None
        for k in range(len(r),0,-1):
            if r[:k] in files: tgt=r[:k]; break
        if not tgt or tgt==mp: continue
        # the pair of siblings under the common parent
        i=0
        while i<min(len(mp),len(tgt)) and mp[i]==tgt[i]: i+=1
        if i==len(mp) or i==len(tgt): continue  # ancestor/descendant
        edges[mp[:i+1]].add(tgt[:i+1])
res=set()
for s in edges:
    stack=[(s,[s])]
    while stack:
        n,path=stack.pop()
        for t in edges.get(n,()):
            if t==s: res.add(tuple(sorted(path)))
            elif t not in path and len(path)<8: stack.append((t,path+[t]))
for c in sorted(res):
    print('module cycle: ' + ' <-> '.join('::'.join(x) for x in c))
if res:
    sys.exit(1)
print('no module cycles among', len(files), 'modules')
